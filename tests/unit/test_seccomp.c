/* The VMM's seccomp filters, proven by trying to break them: each thread's
 * filter is installed in a child process, which then attempts one thing a
 * hijacked VMM would want (a socket, a connect, passing an fd, signalling
 * another process, KVM_RUN on another vCPU's fd, writing where it does not
 * write, opening a file, starting a process...). Each must trap on exactly
 * that system call; and what the thread really does must still pass, so a
 * filter that refused everything would fail here too. */
#include "tests/unit/attacks.h"
#include "tests/unit/check.h"
#include "vmm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRAPPED 99

/* The fds the filters are built for, all real (so allowed calls work). */
static struct {
	int vm, vcpu, other_vcpu, wfd, not_wfd;		/* vCPU side */
	int epfd, other_ep, disk, not_disk, listener, other_sock, timer, tap;
	int out_pipe[2];
	pid_t parent;
} fx;
static volatile int *trapped_nr;	/* shared with the child */

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	*trapped_nr = si->si_syscall;
	syscall(SYS_exit_group, TRAPPED);
}

enum filter { VCPU, MAIN };

static struct vmm_seccomp_cfg cfg(void)
{
	static int disks[1], wfds[2];

	disks[0] = fx.disk;
	wfds[0] = fx.wfd;
	wfds[1] = 2;
	return (struct vmm_seccomp_cfg){
		.vm_fd = fx.vm, .epfd = fx.epfd, .disk_fds = disks, .ndisks = 1,
		.vsock_listen_fd = fx.listener, .vsock_broker_fd = -1,
		.vsock_timer_fd = fx.timer, .tap_fd = fx.tap, .vcpu_wfd = wfds,
		.n_vcpu_wfd = 2,
	};
}

/* Runs action under filter f in a child. Returns -1 if the action ran to
 * its end, else the number of the system call that trapped. */
static long attempt(enum filter f, void (*action)(void))
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	struct vmm_seccomp_cfg c = cfg();
	char err[256];
	int st;
	pid_t pid;

	*trapped_nr = -1;
	pid = fork();
	if (pid == 0) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSYS, &sa, NULL);
		signal(SIGUSR1, SIG_IGN);
		if ((f == VCPU ? seccomp_install_vcpu(&c, fx.vcpu, err, sizeof(err))
			       : seccomp_install_main(&c, err, sizeof(err))) < 0) {
			fprintf(stderr, "%s\n", err);
			syscall(SYS_exit_group, 3);
		}
		action();
		syscall(SYS_exit_group, 0);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return -1;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == TRAPPED);
	return *trapped_nr;
}

#define EXPECT_TRAP(f, action, nr)						\
	do {									\
		long got_ = attempt((f), (action));				\
		if (got_ != (nr))						\
			fprintf(stderr, "  %s under the %s filter: trapped %ld, "	\
				"expected %ld\n", #action, (f) == VCPU ? "vCPU" : \
				"main", got_, (long)(nr));			\
		CHECK_EQ(got_, (nr));						\
	} while (0)
#define EXPECT_ALLOWED(f, action) EXPECT_TRAP(f, action, -1)

/* --- what a hijacked thread would try ---------------------------------- */

static void new_unix_socket(void) { socket(AF_UNIX, SOCK_STREAM, 0); }
static void new_inet_socket(void) { socket(AF_INET, SOCK_STREAM, 0); }
static void connect_somewhere(void) { attack_connect_docker(fx.other_sock); }
static void pass_an_fd(void) { attack_pass_fd(fx.other_sock, fx.disk); }
static void receive_fds(void)
{
	char b[8];
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	recvmsg(fx.other_sock, &m, MSG_DONTWAIT);
}
static void sendto_an_address(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };

	sendto(fx.other_sock, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
}
static void kill_parent(void) { kill(fx.parent, 0); }
static void tgkill_other(void) { syscall(SYS_tgkill, fx.parent, fx.parent, SIGUSR1); }
static void tgkill_self_other_signal(void)
{
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGTERM);
}
static void open_a_file(void) { open("/etc/passwd", O_RDONLY); }
static void start_a_process(void) { syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }
static void exec_a_program(void)
{
	char *const argv[] = { "/bin/true", NULL };

	execve(argv[0], argv, argv + 1);
}
static void trace_a_process(void) { ptrace(PTRACE_ATTACH, fx.parent, 0, 0); }
static void mount_something(void) { mount("none", "/tmp", "tmpfs", 0, NULL); }
static void leave_namespaces(void) { unshare(CLONE_NEWUSER); }
static void map_memory(void) { mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
static void run_other_vcpu(void) { ioctl(fx.other_vcpu, KVM_RUN, 0); }
static void run_on_vm_fd(void) { ioctl(fx.vm, KVM_RUN, 0); }
static void set_own_regs(void)
{
	struct kvm_regs r = { 0 };

	ioctl(fx.vcpu, KVM_SET_REGS, &r);
}
static void create_vcpu(void) { ioctl(fx.vm, KVM_CREATE_VCPU, 7); }
static void write_elsewhere(void) { (void)!write(fx.not_wfd, "x", 1); }
static void read_other_disk(void)
{
	char b[4];
	struct iovec iov = { b, sizeof(b) };

	preadv(fx.not_disk, &iov, 1, 0);
}
static void tap_offload_elsewhere(void) { ioctl(fx.not_disk, TUNSETOFFLOAD, 0ul); }
static void tap_other_ioctl(void) { ioctl(fx.tap, TUNSETIFF, NULL); }
static void accept_elsewhere(void) { accept4(fx.other_sock, NULL, NULL, SOCK_NONBLOCK); }
static void other_epoll(void) { epoll_ctl(fx.other_ep, EPOLL_CTL_ADD, fx.wfd, &(struct epoll_event){ .events = EPOLLIN }); }

/* --- what the thread really does -------------------------------------- */

static void vcpu_work(void)
{
	struct kvm_irq_level l = { .irq = 4, .level = 1 };
	struct kvm_regs r;

	ioctl(fx.vcpu, KVM_RUN, 0);		/* ENOTTY on our stand-in: fine */
	ioctl(fx.vm, KVM_IRQ_LINE, &l);
	ioctl(fx.vcpu, KVM_GET_REGS, &r);
	(void)!write(fx.wfd, "x", 1);
	(void)!write(2, "", 0);
}

static void main_work(void)
{
	struct epoll_event ev;
	char b[4];
	struct iovec iov = { b, sizeof(b) };

	epoll_wait(fx.epfd, &ev, 1, 0);
	epoll_ctl(fx.epfd, EPOLL_CTL_ADD, fx.wfd, &(struct epoll_event){ .events = EPOLLOUT });
	preadv(fx.disk, &iov, 1, 0);
	pwritev(fx.disk, &iov, 1, 0);
	fdatasync(fx.disk);
	accept4(fx.listener, NULL, NULL, SOCK_NONBLOCK);	/* EAGAIN */
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);	/* ignored */
	getrandom(b, sizeof(b), 0);
	(void)!write(fx.wfd, "x", 1);
	(void)!read(fx.out_pipe[0], b, 0);
	send(fx.other_sock, "x", 1, MSG_DONTWAIT);
	ioctl(fx.tap, TUNSETOFFLOAD, 0ul);	/* ENOTTY on our stand-in */
	readv(fx.tap, &iov, 1);
	writev(fx.tap, &iov, 1);
	close(fx.not_disk);
}

/* --- tests ------------------------------------------------------------ */

static void setup(void)
{
	char disk[] = "/tmp/airlock-test-seccomp-XXXXXX";
	int sv[2];

	trapped_nr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(trapped_nr != MAP_FAILED);
	/* Stand-ins: any fd will do for the numbers the filters compare. */
	fx.vm = open("/dev/null", O_RDWR);
	fx.vcpu = open("/dev/null", O_RDWR);
	fx.other_vcpu = open("/dev/null", O_RDWR);
	CHECK_EQ(pipe(fx.out_pipe), 0);
	fx.wfd = fx.out_pipe[1];
	fx.not_wfd = open("/dev/null", O_WRONLY);
	fx.epfd = epoll_create1(0);
	fx.other_ep = epoll_create1(0);
	fx.disk = mkstemp(disk);
	unlink(disk);
	CHECK_EQ(ftruncate(fx.disk, 4096), 0);
	fx.not_disk = open("/dev/zero", O_RDONLY);
	fx.parent = getpid();
	fx.listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	/* An abstract address of the kernel's choosing (autobind). */
	CHECK_EQ(bind(fx.listener, (struct sockaddr *)&(struct sockaddr_un){ .sun_family = AF_UNIX },
		      sizeof(sa_family_t)), 0);
	CHECK_EQ(listen(fx.listener, 1), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fx.other_sock = sv[0];
	fx.timer = open("/dev/null", O_RDONLY);
	fx.tap = open("/dev/null", O_RDWR);
}

TEST(vcpu_filter_allows_its_work)
{
	EXPECT_ALLOWED(VCPU, vcpu_work);
}

TEST(vcpu_filter_refuses_the_rest)
{
	EXPECT_TRAP(VCPU, run_other_vcpu, SYS_ioctl);
	EXPECT_TRAP(VCPU, run_on_vm_fd, SYS_ioctl);
	EXPECT_TRAP(VCPU, set_own_regs, SYS_ioctl);
	EXPECT_TRAP(VCPU, create_vcpu, SYS_ioctl);
	EXPECT_TRAP(VCPU, write_elsewhere, SYS_write);
	EXPECT_TRAP(VCPU, new_unix_socket, SYS_socket);
	EXPECT_TRAP(VCPU, connect_somewhere, SYS_connect);
	EXPECT_TRAP(VCPU, pass_an_fd, SYS_sendmsg);
	EXPECT_TRAP(VCPU, kill_parent, SYS_kill);
	EXPECT_TRAP(VCPU, tgkill_other, SYS_tgkill);
	EXPECT_TRAP(VCPU, open_a_file, SYS_openat);
	EXPECT_TRAP(VCPU, start_a_process, SYS_clone);
	EXPECT_TRAP(VCPU, exec_a_program, SYS_execve);
	EXPECT_TRAP(VCPU, map_memory, SYS_mmap);
}

TEST(main_filter_allows_its_work)
{
	EXPECT_ALLOWED(MAIN, main_work);
}

TEST(main_filter_refuses_the_rest)
{
	EXPECT_TRAP(MAIN, new_unix_socket, SYS_socket);
	EXPECT_TRAP(MAIN, new_inet_socket, SYS_socket);
	EXPECT_TRAP(MAIN, connect_somewhere, SYS_connect);
	EXPECT_TRAP(MAIN, pass_an_fd, SYS_sendmsg);
	EXPECT_TRAP(MAIN, receive_fds, SYS_recvmsg);	/* no broker here */
	EXPECT_TRAP(MAIN, sendto_an_address, SYS_sendto);
	EXPECT_TRAP(MAIN, kill_parent, SYS_kill);
	EXPECT_TRAP(MAIN, tgkill_other, SYS_tgkill);
	EXPECT_TRAP(MAIN, tgkill_self_other_signal, SYS_tgkill);
	EXPECT_TRAP(MAIN, open_a_file, SYS_openat);
	EXPECT_TRAP(MAIN, start_a_process, SYS_clone);
	EXPECT_TRAP(MAIN, exec_a_program, SYS_execve);
	EXPECT_TRAP(MAIN, trace_a_process, SYS_ptrace);
	EXPECT_TRAP(MAIN, mount_something, SYS_mount);
	EXPECT_TRAP(MAIN, leave_namespaces, SYS_unshare);
	EXPECT_TRAP(MAIN, map_memory, SYS_mmap);
	EXPECT_TRAP(MAIN, run_other_vcpu, SYS_ioctl);
	EXPECT_TRAP(MAIN, tap_offload_elsewhere, SYS_ioctl);
	EXPECT_TRAP(MAIN, tap_other_ioctl, SYS_ioctl);
	EXPECT_TRAP(MAIN, read_other_disk, SYS_preadv);
	EXPECT_TRAP(MAIN, accept_elsewhere, SYS_accept4);
	EXPECT_TRAP(MAIN, other_epoll, SYS_epoll_ctl);
}

int main(void)
{
	static const struct check_test tests[] = {
		TEST_ENTRY(vcpu_filter_allows_its_work), TEST_ENTRY(vcpu_filter_refuses_the_rest),
		TEST_ENTRY(main_filter_allows_its_work), TEST_ENTRY(main_filter_refuses_the_rest),
	};

	setup();
	return check_run(tests, sizeof(tests) / sizeof(tests[0]));
}
