/* lib/spawn.h: a child gets exactly the descriptors named, at the numbers
 * named, an empty environment, and in new namespaces is PID 1 there; an
 * exec failure comes back as its errno. */
#include "tests/unit/check.h"
#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs sh -c script in a child given fds; returns its stdout (a pipe at 1). */
static int run(const char *script, const struct spawn_fd *extra, unsigned int nextra,
	       unsigned long ns, char *out, size_t size)
{
	char *const argv[] = { "sh", "-c", (char *)script, NULL };
	struct spawn_fd fds[8];
	int p[2], st, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsigned int n = 0;
	ssize_t k, got = 0;
	pid_t pid;

	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	fds[n++] = (struct spawn_fd){ null, 0 };
	fds[n++] = (struct spawn_fd){ p[1], 1 };
	fds[n++] = (struct spawn_fd){ p[1], 2 };
	for (unsigned int i = 0; i < nextra; i++)
		fds[n++] = extra[i];
	pid = spawn(&(struct spawn_opts){ .path = "/bin/sh", .argv = argv, .fds = fds,
					  .nfds = n, .ns = ns });
	close(p[1]);
	close(null);
	if (pid < 0) {
		close(p[0]);
		return (int)pid;
	}
	while ((k = read(p[0], out + got, size - 1 - (size_t)got)) > 0)
		got += k;
	out[got] = '\0';
	close(p[0]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(only_named_fds_at_their_numbers)
{
	char out[512];
	int a = open("/dev/null", O_RDONLY), b = open("/dev/zero", O_RDONLY);
	int leak = open("/dev/null", O_RDONLY);	/* not close-on-exec, not named */
	struct spawn_fd extra[] = { { b, 3 }, { a, 7 } };

	CHECK(a >= 0 && b >= 0 && leak >= 0);
	/* The shell's own fds (not those of ls, which opens one to list;
	 * no pipeline either, whose pipes the shell would hold meanwhile). */
	CHECK_EQ(run("ls -1 /proc/$$/fd; readlink /proc/$$/fd/3 /proc/$$/fd/7", extra, 2, 0,
		     out, sizeof(out)), 0);
	CHECK_STR(out, "0\n1\n2\n3\n7\n/dev/zero\n/dev/null\n");
	close(a);
	close(b);
	close(leak);
}

TEST(moving_fds_onto_each_other)
{
	char out[256], script[128];
	int fd3 = open("/dev/null", O_RDONLY), fd4 = open("/dev/zero", O_RDONLY);
	struct spawn_fd swap[2];

	/* Each to the other's number: moving one must not clobber the other. */
	swap[0] = (struct spawn_fd){ fd3, fd4 };
	swap[1] = (struct spawn_fd){ fd4, fd3 };
	snprintf(script, sizeof(script), "readlink /proc/self/fd/%d /proc/self/fd/%d", fd4, fd3);
	CHECK_EQ(run(script, swap, 2, 0, out, sizeof(out)), 0);
	CHECK_STR(out, "/dev/null\n/dev/zero\n");
	close(fd3);
	close(fd4);
}

TEST(empty_environment)
{
	char out[256];

	setenv("AIRLOCK_SECRET_TEST", "leak", 1);
	CHECK_EQ(run("env | grep -v '^PWD=\\|^SHLVL=\\|^_=' | wc -l", NULL, 0, 0, out,
		     sizeof(out)), 0);
	CHECK_STR(out, "0\n");
}

TEST(exec_failure_is_its_errno)
{
	char *const argv[] = { "x", NULL };

	CHECK_EQ(spawn(&(struct spawn_opts){ .path = "/nonexistent/x", .argv = argv }), -ENOENT);
	CHECK_EQ(spawn(&(struct spawn_opts){ .path = "/etc", .argv = argv }), -EACCES);
	CHECK_EQ(spawn(&(struct spawn_opts){ .path = "/bin/sh", .argv = argv,
					     .fds = &(struct spawn_fd){ -1, 3 }, .nfds = 1 }),
		 -EBADF);
}

TEST(new_pid_and_user_namespaces)
{
	char out[256];

	/* As ourselves mapped to root of a user namespace of its own, and
	 * PID 1 of a PID namespace. */
	CHECK_EQ(run("echo $$; id -u", NULL, 0, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS,
		     out, sizeof(out)), 0);
	CHECK_STR(out, "1\n0\n");
}

/* Waiting on a pidfd: true with the status once the child has ended
 * (promptly, not a sleep later), false while it runs. */
TEST(reaped_within)
{
	char *const argv[] = { "sh", "-c", "sleep 0.05; exit 7", NULL };
	char *const forever[] = { "sleep", "1000", NULL };
	struct timespec a, b;
	pid_t pid;
	int st = 0;

	pid = spawn(&(struct spawn_opts){ .path = "/bin/sh", .argv = argv });
	CHECK(pid > 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(spawn_reaped_within(pid, 5000, &st));
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CHECK((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 2000);
	CHECK(waitpid(pid, NULL, WNOHANG) < 0);	/* reaped already */

	pid = spawn(&(struct spawn_opts){ .path = "/bin/sleep", .argv = forever });
	CHECK(pid > 0);
	CHECK(!spawn_reaped_within(pid, 0, NULL));
	CHECK(!spawn_reaped_within(pid, 30, NULL));
	kill(pid, SIGKILL);
	CHECK(spawn_reaped_within(pid, 5000, &st));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

CHECK_MAIN(TEST_ENTRY(only_named_fds_at_their_numbers), TEST_ENTRY(moving_fds_onto_each_other),
	   TEST_ENTRY(empty_environment), TEST_ENTRY(exec_failure_is_its_errno),
	   TEST_ENTRY(new_pid_and_user_namespaces), TEST_ENTRY(reaped_within))
