/* airlock-vmm: boot a Linux guest under KVM, run one command in it and exit
 * with that command's status. The order is the point: parse the options,
 * open everything they name, jail ourselves, build the VM from what is open,
 * drop to the seccomp allowlists, then only wait for the guest to finish. */
#include "vmm/arch/x86/board.h"
#include "vmm/arch/x86/boot.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/arch/x86/loader.h"
#include "vmm/arch/x86/regs.h"
#include "vmm/bootargs.h"
#include "vmm/devices.h"
#include "vmm/diag.h"
#include "vmm/files.h"
#include "vmm/jail.h"
#include "vmm/kvm.h"
#include "vmm/opts.h"
#include "vmm/seccomp.h"
#include "vmm/serial.h"
#include "vmm/vm.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"
#include "vmm/snapshot_mem.h"
#include "vmm/vm_snapshot.h"
#include "lib/clock.h"
#include "lib/tap.h"
#include "lib/unixsock.h"
#include "lib/vsock_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit statuses of our own (the guest command's status passes through). */
#define EXIT_USAGE 2		/* bad option, bad kernel/initrd, KVM unusable */
#define EXIT_SNAPSHOT 3		/* --restore: the snapshot cannot be used */
#define EXIT_VM_FAILED 125	/* the VM died before the command finished */

/* Everything the options named, open: after open_all() nothing else is. */
struct inputs {
	int kvm, kernel, initrd, console, vsock_listen, vsock_broker;
	int snap_state, snap_mem;	/* --snapshot-out or --restore, --snapshot-mem */
	int disk[VMM_MAX_DISKS];
	uint64_t disk_size[VMM_MAX_DISKS];
	size_t kernel_len, initrd_len;
};

/* Closes every inherited descriptor but stdio and those named fd:N, so
 * nothing a caller leaks reaches the process that runs guest code. */
static void close_inherited(const struct vmm_opts *o)
{
	int keep[VMM_MAX_DISKS + 12];
	unsigned int n = vmm_opts_fds(o, keep, sizeof(keep) / sizeof(keep[0]));
	int next = 3;

	/* Ascending, so the gaps between kept fds can be closed in turn. */
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (unsigned int i = 0; i < n; i++) {
		if (keep[i] > next)
			close_range((unsigned int)next, (unsigned int)keep[i] - 1, 0);
		if (keep[i] + 1 > next)
			next = keep[i] + 1;
	}
	close_range((unsigned int)next, ~0u, 0);
}

/* --vsock PATH, by hand: the listener is made here, and guest streams to
 * named ports reach PATH_P through a broker process of their own. */
static int vsock_by_path(const struct vmm_opts *o, struct inputs *in)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct vsock_broker b = { .nports = o->nvsock_ports };
	int r;

	r = unix_listen(o->vsock.path, 64);
	if (r < 0) {
		vmm_msg("cannot set up vsock at '%s': %s", o->vsock.path,
			r == -EEXIST ? "the path exists and is not a socket" :
			r == -EADDRINUSE ? "another VM is listening on it" : strerror(-r));
		return r;
	}
	in->vsock_listen = r;
	if (!o->nvsock_ports)
		return 0;
	snprintf(dir, sizeof(dir), "%s", o->vsock.path);
	snprintf(base, sizeof(base), "%s", o->vsock.path);
	memcpy(b.ports, o->vsock_ports, o->nvsock_ports * sizeof(b.ports[0]));
	if (snprintf(b.prefix, sizeof(b.prefix), "%s_", basename(base)) >= (int)sizeof(b.prefix))
		return -ENAMETOOLONG;
	b.dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.dirfd < 0) {
		vmm_msg("cannot open the folder of '%s': %s", o->vsock.path, strerror(errno));
		return -errno;
	}
	r = vsock_broker_spawn(&b);
	close(b.dirfd);
	if (r < 0) {
		vmm_msg("cannot start the vsock broker: %s", strerror(-r));
		return r;
	}
	in->vsock_broker = r;
	return 0;
}

/* A snapshot file: the inherited fd, or the path opened with flags. */
static int open_snapshot_file(const struct vmm_file *f, int flags)
{
	return f->fd >= 0 ? f->fd : open(f->path, flags | O_CLOEXEC, 0600);
}

/* The snapshot's two files, written (--snapshot-out) or read (--restore).
 * Returns 0, or the exit status after saying what is wrong. */
static int open_snapshot(const struct vmm_opts *o, struct inputs *in)
{
	const struct vmm_file *state = o->have_restore ? &o->restore : &o->snapshot_out;
	int flags = o->have_restore ? O_RDONLY : O_RDWR | O_CREAT;
	char nb[16];

	in->snap_state = open_snapshot_file(state, flags);
	if (in->snap_state >= 0)
		in->snap_mem = open_snapshot_file(&o->snapshot_mem, flags);
	if (in->snap_state < 0 || in->snap_mem < 0) {
		vmm_msg("cannot open the snapshot's %s file '%s': %s",
			in->snap_state < 0 ? "state" : "memory",
			vmm_file_name(in->snap_state < 0 ? state : &o->snapshot_mem, nb, sizeof(nb)),
			strerror(errno));
		return o->have_restore ? EXIT_SNAPSHOT : EXIT_USAGE;
	}
	return 0;
}

/* Opens (or checks) everything the options name. Returns 0, or the exit
 * status after saying what is wrong. */
static int open_all(const struct vmm_opts *o, struct inputs *in)
{
	const char *why = NULL;
	char nb[16], err[512];
	int r;

	if ((o->have_restore || o->have_snapshot_out) && (r = open_snapshot(o, in)))
		return r;
	if (o->have_restore)
		goto devices;	/* the snapshot has kernel and initrd */
	in->kernel = vmm_open_image(&o->kernel, &in->kernel_len, &why);
	if (in->kernel < 0) {
		vmm_msg("cannot read kernel '%s': %s", vmm_file_name(&o->kernel, nb, sizeof(nb)),
			why);
		return EXIT_USAGE;
	}
	if (o->have_initrd) {
		in->initrd = vmm_open_image(&o->initrd, &in->initrd_len, &why);
		if (in->initrd < 0) {
			vmm_msg("cannot read initrd '%s': %s",
				vmm_file_name(&o->initrd, nb, sizeof(nb)), why);
			return EXIT_USAGE;
		}
	}
devices:
	for (unsigned int i = 0; i < o->ndisks; i++)
		if ((in->disk[i] = vmm_open_disk(&o->disks[i], &in->disk_size[i])) < 0)
			return EXIT_USAGE;
	if (o->console_kind == CONSOLE_FILE && (in->console = vmm_open_console(&o->console)) < 0) {
		vmm_msg("cannot open console file '%s': %s",
			vmm_file_name(&o->console, nb, sizeof(nb)), strerror(errno));
		return EXIT_USAGE;
	}
	if (o->console_kind == CONSOLE_STDOUT)
		in->console = STDOUT_FILENO;
	else if (o->console_kind == CONSOLE_STDERR)
		in->console = STDERR_FILENO;
	if (o->have_vsock && o->vsock.path) {
		if (vsock_by_path(o, in) < 0)
			return EXIT_USAGE;
	} else if (o->have_vsock) {
		if (vmm_check_listener(o->vsock.fd) < 0) {
			vmm_msg("--vsock fd:%d is not a listening Unix stream socket", o->vsock.fd);
			return EXIT_USAGE;
		}
		in->vsock_listen = o->vsock.fd;
		in->vsock_broker = o->vsock_broker_fd;
	}
	if (o->net_fd >= 0 && (r = tap_check(o->net_fd, NULL)) < 0) {
		vmm_msg("--net fd:%d: %s", o->net_fd, r == -EBADF ? "no such open file descriptor"
			: "not a TAP attached to an interface, opened with IFF_TAP, "
			  "IFF_NO_PI and IFF_VNET_HDR");
		return EXIT_USAGE;
	}
	if (o->kvm_fd >= 0) {
		in->kvm = kvm_check_fd(o->kvm_fd, "/sys/module", o->allow_pvm, err, sizeof(err));
	} else {
		in->kvm = kvm_open_checked("/sys/module", o->allow_pvm, err, sizeof(err));
	}
	if (in->kvm < 0) {
		vmm_msg("%s", err);
		return EXIT_USAGE;
	}
	return 0;
}

/* The largest size a file we write may reach: the disks (written in
 * place) and the console file (appended to, up to --console-max). */
static uint64_t max_file_size(const struct vmm_opts *o, const struct inputs *in)
{
	uint64_t max = 0;
	struct stat st;

	/* Our stdout and stderr are the caller's to bound: if either is a
	 * file, no limit may cut it short. */
	for (int fd = 1; fd <= 2; fd++)
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return 0;

	for (unsigned int i = 0; i < o->ndisks; i++)
		if (!o->disks[i].ro && in->disk_size[i] > max)
			max = in->disk_size[i];
	/* A snapshot's memory file holds all of RAM after a header page. */
	if (o->have_snapshot_out && (o->mem_mib << 20) + SNAP_MEM_DATA_OFF > max)
		max = (o->mem_mib << 20) + SNAP_MEM_DATA_OFF;
	if (o->console_kind == CONSOLE_FILE) {
		if (!o->console_max)
			return 0;	/* no limit asked for */
		if (fstat(in->console, &st) == 0 &&
		    (uint64_t)st.st_size + o->console_max + 4096 > max)
			max = (uint64_t)st.st_size + o->console_max + 4096;
	}
	return max;
}

/* Parses the kernel from a read-only mapping: only the headers (and notes)
 * are touched; the segments are later read straight into guest RAM. */
static int parse_kernel(int fd, size_t len, struct x86_kernel *k, const char **why)
{
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	int r;

	if (map == MAP_FAILED) {
		*why = strerror(errno);
		return -errno;
	}
	r = x86_kernel_parse(map, len, k, why);
	munmap(map, len);
	return r;
}

static int irq_line(void *vm, uint32_t irq, int level)
{
	return vm_irq_line(vm, irq, level);
}

static int setup_legacy(struct vm *vm, struct serial *con, struct serial *out,
			int con_fd, uint64_t con_max, char *ring)
{
	int r;

	serial_init(con, BOARD_CONSOLE_IRQ, irq_line, vm, con_fd, ring);
	serial_limit(con, con_max);
	serial_init(out, BOARD_STDIO_IRQ, irq_line, vm, STDOUT_FILENO, NULL);
	if ((r = io_bus_add(&vm->pio, BOARD_CONSOLE_PORT, SERIAL_PORTS, serial_io, con)) ||
	    (r = io_bus_add(&vm->pio, BOARD_STDIO_PORT, SERIAL_PORTS, serial_io, out)) ||
	    (r = i8042_init(vm)) || (r = pvport_init(vm)))
		return r;
	return 0;
}

static void on_signal(struct vm_event *ev, uint32_t events)
{
	struct signalfd_siginfo si;
	int *sig = ev->opaque;

	(void)events;
	if (read(ev->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		*sig = (int)si.ssi_signo;
}

/* The I/O loop until the VM ends; returns the host signal that ended it. */
static int wait_for_end(struct vm *vm, int sfd)
{
	int sig = 0;
	struct vm_event sev = { sfd, on_signal, &sig };

	if (vm_event_add(vm, &sev, EPOLLIN) == 0) {
		/* The signal handler only records; end the VM from here. */
		while (atomic_load(&vm->end) == VM_RUNNING) {
			vm_io_loop_once(vm);
			if (sig)
				vm_request_end(vm, VM_END_SIGNAL);
		}
		vm_event_del(vm, &sev);
	}
	return sig;
}

int main(int argc, char **argv)
{
	static char cmdline[X86_CMDLINE_MAX], con_ring[SERIAL_RING], err[512];
	static char devices[X86_CMDLINE_MAX];
	static struct virtio_blk blk[VMM_MAX_DISKS];
	static struct virtio_vsock vsock;
	static struct virtio_rng rng;
	static struct virtio_net net;
	static struct vmm_opts o;
	static struct vmm_seccomp_cfg fcfg;
	struct inputs in = { .kvm = -1, .kernel = -1, .initrd = -1, .console = -1,
			     .vsock_listen = -1, .vsock_broker = -1, .snap_state = -1,
			     .snap_mem = -1 };
	static struct vm_restore rs;
	struct serial con, out;
	struct vm_snap_board board = { .uart = { &con, &out }, .nuarts = 2 };
	struct snap_key key;
	unsigned int nslots, rng_slot, vsock_slot, net_slot;
	struct vm vm;
	struct x86_kernel k;
	struct x86_boot_entry entry;
	const char *why = NULL;
	char nb[16];
	sigset_t sigs;
	int sfd = -1, sig, status, rc = EXIT_USAGE, r;
	uint64_t t0 = clock_ns();

	/* A crash leaves no core file of guest data behind (guest RAM is
	 * MADV_DONTDUMP too, but device buffers are not); a file limit is an
	 * error to handle, not a signal that kills. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	/* One malloc arena: the vCPU threads allocate only while they set up
	 * (their seccomp filters), not worth an arena each (tests/bench/boot).
	 * And a heap that never shrinks: under seccomp a free() that trimmed
	 * it would call brk(), which no filter allows. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);

	r = vmm_opts_parse(argc, argv, &o);
	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	close_inherited(&o);
	for (unsigned int i = 0; i < VMM_MAX_DISKS; i++)
		in.disk[i] = -1;
	if ((rc = open_all(&o, &in)))
		goto out;
	rc = EXIT_USAGE;
	vmm_phase(o.verbose, t0, "inputs open");
	key = (struct snap_key){ .nr_vcpus = o.cpus, .mem_size = o.mem_mib << 20 };
	memcpy(key.ident, o.snapshot_key, sizeof(key.ident));
	/* Checked whole before anything is built on it. */
	if (o.have_restore &&
	    vm_restore_open(&rs, in.snap_state, in.snap_mem, &key, AIRLOCK_VERSION, &why)) {
		vmm_msg("cannot restore the snapshot '%s': %s",
			vmm_file_name(&o.restore, nb, sizeof(nb)), why);
		rc = EXIT_SNAPSHOT;
		goto out;
	}
	if (o.jail.enabled) {
		struct jail_limits lim = { o.mem_mib << 20, o.cpus, max_file_size(&o, &in) };

		if (jail_enter(&o.jail, &lim, err, sizeof(err)) < 0) {
			vmm_msg("%s", err);
			rc = EXIT_VM_FAILED;
			goto out;
		}
		vmm_phase(o.verbose, t0, "jailed");
	}

	/* MMIO slots, in the order the guest probes them: the disks first
	 * (vda, vdb… in --disk order), then virtio-rng, always there, then
	 * vsock and virtio-net (eth0) if asked for. */
	rng_slot = o.ndisks;
	vsock_slot = rng_slot + 1;
	net_slot = vsock_slot + (o.have_vsock ? 1 : 0);
	nslots = net_slot + (o.net_fd >= 0 ? 1 : 0);
	if (o.have_restore)
		goto make_vm;	/* the snapshot has kernel, initrd and command line */
	if (parse_kernel(in.kernel, in.kernel_len, &k, &why)) {
		vmm_msg("kernel '%s': %s", vmm_file_name(&o.kernel, nb, sizeof(nb)), why);
		goto out;
	}
	if (o.mem_mib << 20 < x86_min_mem(&k, in.initrd_len)) {
		vmm_msg("--memory %llu MiB is too small for this kernel and initrd: give "
			"at least %llu MiB", (unsigned long long)o.mem_mib,
			(unsigned long long)((x86_min_mem(&k, in.initrd_len) + (1 << 20) - 1) >> 20));
		goto out;
	}
	if (board_virtio_cmdline(devices, sizeof(devices), nslots, o.extra_cmdline) < 0 ||
	    bootargs_build(cmdline, sizeof(cmdline), o.console_kind == CONSOLE_NONE, o.argc,
			   o.argv, devices) < 0 ||
	    strlen(cmdline) > k.cmdline_max) {
		vmm_msg("the kernel command line would be longer than the %u bytes this "
			"kernel accepts: shorten the command or --cmdline", k.cmdline_max);
		goto out;
	}

make_vm:
	if (vm_create(&vm, in.kvm, o.mem_mib << 20, o.cpus, err, sizeof(err))) {
		vmm_msg("%s", err);
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	atomic_store(&vm.t.start, t0);
	vmm_phase(o.verbose, t0, "VM, memory and vCPUs created");
	vm.verbose = o.verbose;
	if (o.have_restore) {
		if (vm_restore_map(&rs, &vm, in.snap_mem, &why)) {
			vmm_msg("cannot restore the snapshot '%s': %s",
				vmm_file_name(&o.restore, nb, sizeof(nb)), why);
			rc = EXIT_SNAPSHOT;
			goto out_vm;
		}
		goto devices;
	}
	if (o.have_snapshot_out &&
	    (r = vm_snapshot_arm(&vm, &key, AIRLOCK_VERSION, in.snap_mem, &why))) {
		vmm_msg("cannot prepare the snapshot: %s: %s", why, strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}

	struct x86_boot_cfg cfg = {
		.mem_size = o.mem_mib << 20,
		.nr_vcpus = o.cpus,
		.cmdline = cmdline,
		.initrd = NULL,		/* read in place below */
		.initrd_size = in.initrd_len,
		.mode = o.boot,
	};
	if (x86_boot_setup(&vm.mem, &k, NULL, in.kernel_len, &cfg, &entry, &why)) {
		vmm_msg("cannot boot '%s': %s", vmm_file_name(&o.kernel, nb, sizeof(nb)), why);
		goto out_vm;
	}
	if ((r = x86_kernel_load_fd(&vm.mem, in.kernel, &k)) ||
	    (in.initrd >= 0 &&
	     (r = x86_pread_guest(&vm.mem, in.initrd, entry.initrd_addr, 0, in.initrd_len)))) {
		vmm_msg("cannot load '%s': %s",
			r == -EFAULT ? vmm_file_name(&o.kernel, nb, sizeof(nb)) : "the images",
			r == -EFAULT ? "does not fit in guest memory" : strerror(-r));
		goto out_vm;
	}
	vmm_phase(o.verbose, t0, "kernel and initrd loaded");
	close(in.kernel);
	in.kernel = -1;
	if (in.initrd >= 0)
		close(in.initrd);
	in.initrd = -1;
	if (o.verbose)
		vmm_msg("booting %s (%s entry at 0x%llx) with %u vCPU(s), %llu MiB: %s",
			vmm_file_name(&o.kernel, nb, sizeof(nb)),
			entry.mode == X86_BOOT_PVH ? "PVH" : "64-bit",
			(unsigned long long)entry.rip, o.cpus, (unsigned long long)o.mem_mib,
			cmdline);

devices:
	/* A file fills the host's disk; our own stdout or stderr is the
	 * caller's to bound. */
	if ((r = setup_legacy(&vm, &con, &out, in.console,
			      o.console_kind == CONSOLE_FILE ? o.console_max : 0, con_ring))) {
		vmm_msg("cannot set up devices: %s", strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	for (unsigned int i = 0; i < o.ndisks; i++) {
		/* The serial the guest sees (/sys/block/vdX/serial); a
		 * longer one than virtio's 20 bytes would be cut there. */
		char id[32];

		snprintf(id, sizeof(id), "airlock-disk%u", i);
		r = virtio_blk_init(&blk[i], &vm, board_virtio_base(i), board_virtio_irq(i),
				    in.disk[i], in.disk_size[i], o.disks[i].ro, id);
		if (r) {
			vmm_msg("cannot set up disk '%s': %s",
				vmm_file_name(&o.disks[i].f, nb, sizeof(nb)), strerror(-r));
			rc = EXIT_VM_FAILED;
			goto out_vm;
		}
	}
	/* Entropy from the first boot on: without it the guest's crng needs
	 * seconds to initialise, and node, npm or anything calling
	 * getrandom() early waits for it. */
	r = virtio_rng_init(&rng, &vm, board_virtio_base(rng_slot), board_virtio_irq(rng_slot));
	if (r) {
		vmm_msg("cannot set up virtio-rng: %s", strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	if (o.have_vsock) {
		struct vsock_host_ports hp = { in.vsock_broker, o.vsock_ports, o.nvsock_ports };

		r = virtio_vsock_init(&vsock, &vm, board_virtio_base(vsock_slot),
				      board_virtio_irq(vsock_slot), o.vsock_cid,
				      in.vsock_listen, &hp);
		in.vsock_listen = in.vsock_broker = -1;	/* the device's now */
		if (r) {
			vmm_msg("cannot set up vsock: %s", strerror(-r));
			rc = EXIT_VM_FAILED;
			goto out_vm;
		}
	}
	if (o.net_fd >= 0 &&
	    (r = virtio_net_init(&net, &vm, board_virtio_base(net_slot),
				 board_virtio_irq(net_slot), o.net_fd, o.mac))) {
		vmm_msg("cannot set up virtio-net on fd:%d: %s", o.net_fd, strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	for (unsigned int i = 0; i < o.cpus; i++) {
		const char *what;

		r = x86_vcpu_init(vm.vcpus[i].fd, i, o.cpus, vm.cpuid, vm.tsc_deadline,
				  i == 0 && !o.have_restore ? &entry : NULL, &what);
		if (r) {
			vmm_msg("cannot set up vCPU %u: %s failed: %s", i, what, strerror(-r));
			rc = EXIT_VM_FAILED;
			goto out_vm;
		}
	}

	for (unsigned int i = 0; i < o.ndisks; i++)
		board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_BLK, i, &blk[i] };
	board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_RNG, rng_slot, &rng };
	if (o.have_vsock)
		board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_VSOCK, vsock_slot, &vsock };
	if (o.net_fd >= 0)
		board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_NET, net_slot, &net };
	if (o.have_restore && vm_restore_apply(&rs, &vm, &board, &why)) {
		vmm_msg("cannot restore the snapshot '%s': %s",
			vmm_file_name(&o.restore, nb, sizeof(nb)), why);
		rc = EXIT_SNAPSHOT;
		goto out_vm;
	}
	/* Restored: the snapshot's files are not needed again (its memory
	 * stays mapped), so the guest never runs beside them. */
	if (o.have_restore) {
		vm_restore_close(&rs);
		close(in.snap_state);
		close(in.snap_mem);
		in.snap_state = in.snap_mem = -1;
	}

	/* What the filters name; the vCPUs take theirs as they start. */
	if (o.seccomp) {
		vm_vcpu_may_write(&vm, STDOUT_FILENO);	/* COM2: the command's output */
		vm_vcpu_may_write(&vm, STDERR_FILENO);	/* messages */
		if (in.console >= 0)
			vm_vcpu_may_write(&vm, in.console);	/* COM1 */
		fcfg = (struct vmm_seccomp_cfg){
			.vm_fd = vm.vm_fd, .epfd = vm.epfd,
			.disk_fds = in.disk, .ndisks = o.ndisks,
			.vsock_listen_fd = o.have_vsock ? vsock.listen_fd : -1,
			.vsock_broker_fd = o.have_vsock ? vsock.broker_fd : -1,
			.vsock_timer_fd = o.have_vsock ? vsock.timer_fd : -1,
			.tap_fd = o.net_fd,
			.vcpu_wfd = vm.vcpu_wfd, .n_vcpu_wfd = vm.n_vcpu_wfd,
			.snapshot = o.have_snapshot_out, .ram_fd = vm.mem_fd,
			.snap_state_fd = in.snap_state, .snap_mem_fd = in.snap_mem,
		};
		vm.seccomp = &fcfg;
	}

	/* SIGINT/SIGTERM/SIGHUP end the VM cleanly through the main loop; the
	 * vCPU threads inherit the mask and never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0 || (o.seccomp && seccomp_install_reporter())) {
		vmm_msg("cannot set up signal handling: %s", strerror(errno));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	vmm_phase(o.verbose, t0, "vCPUs configured");
	fflush(NULL);
	if (vm_start_vcpus(&vm, err, sizeof(err))) {
		vmm_msg("%s", err);
		rc = EXIT_VM_FAILED;
		goto out_stop;
	}
	if (o.seccomp && seccomp_install_main(&fcfg, err, sizeof(err))) {
		vmm_msg("%s", err);
		rc = EXIT_VM_FAILED;
		goto out_stop;
	}

	vmm_phase(o.verbose, t0, "vCPU threads started, main filter installed");
	sig = wait_for_end(&vm, sfd);
	vm_stop_vcpus(&vm);
	status = atomic_load(&vm.exit_status);
	if (o.boot_timing)
		vmm_print_timing(&vm);
	if (atomic_load(&vm.end) == VM_END_SNAPSHOT) {
		rc = 0;
		if (vm_snapshot_save(&vm, &board, in.snap_state, &why)) {
			vmm_msg("cannot take the snapshot: %s", why);
			rc = EXIT_VM_FAILED;
		}
	} else if (status >= 0) {
		rc = status;
	} else if (sig) {
		vmm_msg("stopped by signal %d (%s)", sig, sigdescr_np(sig));
		if (o.verbose)
			vmm_explain_vcpus(&vm, true);	/* where a hung guest was */
		rc = 128 + sig;
	} else {
		vmm_explain_failure(&vm, &con, o.verbose);
		rc = EXIT_VM_FAILED;
	}
	goto out_vm;

out_stop:
	vm_stop_vcpus(&vm);
out_vm:
	/* Nothing of the guest runs or is served any more: whoever waits for
	 * our end need not wait while the kernel frees the VM. Our listener
	 * goes first, so that the sandbox's next VM can have its path. */
	if (o.done_fd >= 0) {
		if (o.have_vsock)
			virtio_vsock_unlisten(&vsock);
		uint8_t b = (uint8_t)rc;

		if (write(o.done_fd, &b, 1) != 1) {
			/* they will see our exit instead */
		}
		close(o.done_fd);
		o.done_fd = -1;
	}
	vm_destroy(&vm);
out:
	vm_restore_close(&rs);
	if (in.snap_state >= 0)
		close(in.snap_state);
	if (in.snap_mem >= 0)
		close(in.snap_mem);
	if (in.kvm >= 0)
		close(in.kvm);
	if (in.kernel >= 0)
		close(in.kernel);
	if (in.initrd >= 0)
		close(in.initrd);
	for (unsigned int i = 0; i < VMM_MAX_DISKS; i++)
		if (in.disk[i] >= 0)
			close(in.disk[i]);
	return rc;
}
