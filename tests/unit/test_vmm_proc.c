/* tools/airlock/vmm_proc: a VMM has ended once its --done byte came (its
 * status, the process still running) or its process ended (its wait
 * status, reaped); a --done pipe closed without a byte leaves it to the
 * process; a look from another thread takes nothing. Stand-ins for the VMM
 * are forked children. */
#include "tools/airlock/vmm_proc.h"
#include "tests/unit/check.h"
#include "lib/clock.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that writes byte (if >= 0) on a pipe, then lives for stay_ms,
 * then exits with code. *done gets the pipe's read end. */
static pid_t child(int byte, int stay_ms, int code, int *done)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		uint8_t b = (uint8_t)byte;

		close(p[0]);
		if (byte >= 0 && write(p[1], &b, 1) != 1)
			_exit(99);
		close(p[1]);
		usleep((useconds_t)stay_ms * 1000);
		_exit(code);
	}
	close(p[1]);
	*done = p[0];
	return pid;
}

static void finish(struct vmm_proc *v)
{
	if (!v->reaped) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
	}
	vmm_proc_forget(v);
}

TEST(done_byte_ends_it_before_the_process)
{
	struct vmm_proc v = VMM_PROC_NONE;
	int done;
	pid_t pid = child(7, 5000, 0, &done);
	int64_t t0 = clock_ms();

	vmm_proc_adopt(&v, pid, done);
	/* Another thread's look: true, and the byte is still there. */
	CHECK(vmm_proc_ended_within(&v, 3000));
	CHECK(!v.ended);
	CHECK(vmm_proc_gone_within(&v, 3000));
	CHECK(clock_ms() - t0 < 2500);
	CHECK(v.ended);
	CHECK(!v.reaped);
	CHECK(WIFEXITED(v.status));
	CHECK_EQ(WEXITSTATUS(v.status), 7);
	CHECK(!vmm_proc_alive(&v));
	CHECK_EQ(kill(pid, 0), 0);	/* still running: freeing its VM */
	finish(&v);
}

TEST(no_byte_leaves_it_to_the_process)
{
	struct vmm_proc v = VMM_PROC_NONE;
	int done;
	pid_t pid = child(-1, 200, 5, &done);

	vmm_proc_adopt(&v, pid, done);
	CHECK(vmm_proc_alive(&v));
	CHECK(vmm_proc_gone_within(&v, 5000));
	CHECK(v.ended);
	CHECK(v.reaped);
	CHECK_EQ(WEXITSTATUS(v.status), 5);
	vmm_proc_forget(&v);
}

TEST(nothing_yet)
{
	struct vmm_proc v = VMM_PROC_NONE;
	int done;
	pid_t pid = child(-1, 5000, 0, &done);

	vmm_proc_adopt(&v, pid, done);
	CHECK(!vmm_proc_ended_within(&v, 100));
	CHECK(!vmm_proc_gone_within(&v, 100));
	CHECK(vmm_proc_alive(&v));
	finish(&v);
}

CHECK_MAIN(TEST_ENTRY(done_byte_ends_it_before_the_process),
	   TEST_ENTRY(no_byte_leaves_it_to_the_process), TEST_ENTRY(nothing_yet))
