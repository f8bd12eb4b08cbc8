/* airlock-sync's and airlock-gateway's seccomp filters, proven by trying
 * to break them: each filter is installed in a child process, which then
 * attempts one thing a hijacked process would want (a Unix socket, a
 * connect, passing an fd, a program, a signal to its parent, a setuid
 * file, executable memory, ...). The reporter the filter installs must
 * name exactly that call and end the child; and what the process
 * really does must still pass, so a filter that refused everything would
 * fail here too. (The VMM's filters: test_seccomp.c.) */
#include "tests/unit/attacks.h"
#include "tests/unit/check.h"
#include "tools/gateway/seccomp.h"
#include "tools/sync/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_SECCOMP 125

static struct {
	int guest[2], ctl[2], other[2];	/* socketpairs: ours, and one not given */
	int dir;			/* a scratch folder */
	char path[64];
	pid_t parent;
} fx;

enum filter { SYNC, GATEWAY };

/* Runs action under filter f in a child. Returns -1 if the action ran to
 * its end, else the number of the system call the reporter named. */
static long attempt(enum filter f, void (*action)(void))
{
	char err[256], buf[256];
	int pipefd[2], st;
	ssize_t n;
	pid_t pid;

	CHECK_EQ(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		if ((f == SYNC ? hsync_seccomp_install(fx.guest[0], fx.ctl[0], err, sizeof(err))
			       : gw_seccomp_install()) < 0)
			syscall(SYS_exit_group, 3);
		action();
		syscall(SYS_exit_group, 0);
	}
	close(pipefd[1]);
	CHECK(pid > 0);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return -1;
	/* The reporter's _exit ends it with 125; under the sanitizers their
	 * _exit makes a call of its own, and the kernel ends it with SIGSYS
	 * after the report. */
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SECCOMP) &&
	    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)) {
		fprintf(stderr, "  the child ended with status %#x: %s\n", st, buf);
		return -2;
	}
	{
		const char *p = strstr(buf, "forbidden system call ");

		CHECK(p != NULL);
		return p ? strtol(p + strlen("forbidden system call "), NULL, 10) : -3;
	}
}

#define EXPECT_TRAP(f, action, nr)						\
	do {									\
		long got_ = attempt((f), (action));				\
		if (got_ != (nr))						\
			fprintf(stderr, "  %s under the %s filter: trapped %ld, "	\
				"expected %ld\n", #action, (f) == SYNC ? "sync" :	\
				"gateway", got_, (long)(nr));			\
		CHECK_EQ(got_, (nr));						\
	} while (0)
#define EXPECT_ALLOWED(f, action) EXPECT_TRAP(f, action, -1)

/* --- what a hijacked process would try ---------------------------------- */

static void new_unix_socket(void) { socket(AF_UNIX, SOCK_STREAM, 0); }
static void connect_somewhere(void) { attack_connect_docker(fx.other[0]); }
static void pass_an_fd(void) { attack_pass_fd(fx.guest[0], fx.dir); }
static void send_on_another_socket(void) { send(fx.other[0], "x", 1, MSG_DONTWAIT); }
static void run_a_program(void)
{
	char *const argv[] = { "/bin/true", NULL };

	execve("/bin/true", argv, argv + 1);
}
static void start_a_process(void) { syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }
static void signal_the_parent(void) { kill(fx.parent, 0); }
static void trace_the_parent(void) { ptrace(PTRACE_ATTACH, fx.parent, 0, 0); }
static void any_ioctl(void) { ioctl(0, FIONREAD, &(int){ 0 }); }
static void exec_memory(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
static void make_memory_exec(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
}
static void open_a_path(void) { open("/etc/hostname", O_RDONLY); }
static void setuid_file(void)
{
	int fd = openat(fx.dir, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	fchmod(fd, 04755);
}
static void setgid_by_path(void) { fchmodat(fx.dir, "f", 02755, 0); }
static void chown_file(void) { fchownat(fx.dir, "f", 0, 0, 0); }

/* --- what each really does --------------------------------------------- */

static void sync_work(void)
{
	char b[4];
	int fd = openat(fx.dir, "w", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	void *m;

	if (fd < 0 || write(fd, "data", 4) != 4 || fchmod(fd, 0755) < 0 || fsync(fd) < 0)
		syscall(SYS_exit_group, 4);
	close(fd);
	if (renameat(fx.dir, "w", fx.dir, "w2") < 0 || fchmodat(fx.dir, "w2", 0644, 0) < 0 ||
	    unlinkat(fx.dir, "w2", 0) < 0)
		syscall(SYS_exit_group, 5);
	if (send(fx.guest[0], "ping", 4, MSG_DONTWAIT) != 4 ||
	    send(fx.ctl[0], "line\n", 5, MSG_DONTWAIT) != 5 ||
	    recv(fx.guest[0], b, sizeof(b), MSG_DONTWAIT) != -1)
		syscall(SYS_exit_group, 6);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		syscall(SYS_exit_group, 7);
	munmap(m, 1 << 20);
}

static void gateway_work(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	void *m;

	if (s < 0)
		syscall(SYS_exit_group, 4);
	close(s);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		syscall(SYS_exit_group, 7);
	munmap(m, 1 << 20);
}

TEST(sync_filter)
{
	EXPECT_ALLOWED(SYNC, sync_work);
	EXPECT_TRAP(SYNC, new_unix_socket, SYS_socket);
	EXPECT_TRAP(SYNC, connect_somewhere, SYS_connect);
	EXPECT_TRAP(SYNC, pass_an_fd, SYS_sendmsg);
	EXPECT_TRAP(SYNC, send_on_another_socket, SYS_sendto);
	EXPECT_TRAP(SYNC, run_a_program, SYS_execve);
	EXPECT_TRAP(SYNC, start_a_process, SYS_clone);
	EXPECT_TRAP(SYNC, signal_the_parent, SYS_kill);
	EXPECT_TRAP(SYNC, trace_the_parent, SYS_ptrace);
	EXPECT_TRAP(SYNC, any_ioctl, SYS_ioctl);
	EXPECT_TRAP(SYNC, exec_memory, SYS_mmap);
	EXPECT_TRAP(SYNC, make_memory_exec, SYS_mprotect);
	EXPECT_TRAP(SYNC, setuid_file, SYS_fchmod);
	EXPECT_TRAP(SYNC, setgid_by_path, SYS_fchmodat);
	EXPECT_TRAP(SYNC, chown_file, SYS_fchownat);
}

TEST(gateway_filter)
{
	EXPECT_ALLOWED(GATEWAY, gateway_work);
	EXPECT_TRAP(GATEWAY, new_unix_socket, SYS_socket);
	EXPECT_TRAP(GATEWAY, open_a_path, SYS_openat);
	EXPECT_TRAP(GATEWAY, run_a_program, SYS_execve);
	EXPECT_TRAP(GATEWAY, start_a_process, SYS_clone);
	EXPECT_TRAP(GATEWAY, signal_the_parent, SYS_kill);
	EXPECT_TRAP(GATEWAY, trace_the_parent, SYS_ptrace);
	EXPECT_TRAP(GATEWAY, any_ioctl, SYS_ioctl);
	EXPECT_TRAP(GATEWAY, exec_memory, SYS_mmap);
	EXPECT_TRAP(GATEWAY, make_memory_exec, SYS_mprotect);
	EXPECT_TRAP(GATEWAY, chown_file, SYS_fchownat);
}

/* The scratch folder and sockets, made before the children fork. */
static void setup(void)
{
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.guest), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.ctl), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.other), 0);
	snprintf(fx.path, sizeof(fx.path), "/tmp/airlock-test-filters.XXXXXX");
	CHECK(mkdtemp(fx.path) != NULL);
	fx.dir = open(fx.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fx.dir >= 0);
	fx.parent = getpid();
}

TEST(cleanup)
{
	unlinkat(fx.dir, "f", 0);
	unlinkat(fx.dir, "w", 0);
	unlinkat(fx.dir, "w2", 0);
	CHECK_EQ(rmdir(fx.path), 0);
}

int main(void)
{
	static const struct check_test tests[] = {
		TEST_ENTRY(sync_filter), TEST_ENTRY(gateway_filter), TEST_ENTRY(cleanup),
	};

	setup();
	return check_run(tests, sizeof(tests) / sizeof(tests[0]));
}
