/* airlock-vmm: boot a Linux guest under KVM, run one command in it and exit
 * with that command's status. Reads the kernel and initrd, builds the VM,
 * drops to a seccomp allowlist, then only waits for the guest to finish. */
#include "vmm/arch/x86/boot.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/arch/x86/loader.h"
#include "vmm/arch/x86/regs.h"
#include "vmm/bootargs.h"
#include "vmm/devices.h"
#include "vmm/kvm.h"
#include "vmm/seccomp.h"
#include "vmm/serial.h"
#include "vmm/vm.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"
#include "vmm/vm_snapshot.h"
#include "lib/clock.h"
#include "lib/size.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit statuses of our own (the guest command's status passes through). */
#define EXIT_USAGE 2		/* bad option, bad kernel/initrd, KVM unusable */
#define EXIT_SNAPSHOT 3		/* --restore: the snapshot cannot be used */
#define EXIT_VM_FAILED 125	/* the VM died before the command finished */

#define MAX_IMAGE (512ull << 20)	/* a kernel or initrd larger than this is a mistake */
#define MAX_MEM_MIB (1ull << 20)	/* 1 TiB */
#define DEFAULT_MEM_MIB 256
#define DEFAULT_CONSOLE_MAX (16ull << 20)	/* for a console file */
#define CONSOLE_IRQ 4		/* COM1: kernel console */
#define CONSOLE_PORT 0x3f8
#define STDIO_IRQ 3		/* COM2: the command's stdout and stderr */
#define STDIO_PORT 0x2f8

#define MAX_DISKS 8
/* virtio-mmio windows in the MMIO gap, below the IOAPIC; ISA IRQs 5.. are
 * free (0 PIT, 1 keyboard, 2 cascade, 3 and 4 our UARTs). */
#define VIRTIO_MMIO_BASE 0xd0000000ull
#define VIRTIO_IRQ_BASE 5

struct disk_opt {
	const char *path;
	bool ro;
};

struct opts {
	const char *kernel;
	struct disk_opt disks[MAX_DISKS];
	unsigned int ndisks;
	const char *vsock;	/* the VM's Unix socket for vsock streams */
	uint64_t vsock_cid;
	const char *initrd;
	const char *extra_cmdline;
	const char *console;	/* NULL: none, kept in memory for diagnostics */
	uint64_t console_max;	/* bytes into a console file at most; 0: no limit */
	unsigned int cpus;
	uint64_t mem_mib;
	enum x86_boot_mode boot;
	bool boot_timing;
	bool seccomp;
	bool allow_pvm;
	bool verbose;
	const char *snapshot_out;	/* state file to write at the snapshot point */
	const char *restore;		/* state file to start from */
	const char *snapshot_mem;	/* the memory file of either */
	struct snap_key key;		/* identities from --snapshot-key */
	int argc;		/* the guest command */
	char **argv;
};

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("airlock-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --verbose: how long setup took so far, per step. */
static void phase(const struct opts *o, uint64_t t0, const char *what)
{
	if (o->verbose)
		msg("+%.1f ms %s", (double)(clock_ns() - t0) / 1e6, what);
}

static void usage(FILE *f)
{
	fputs("usage: airlock-vmm --kernel PATH [options] [-- CMD [ARGS...]]\n"
	      "\n"
	      "Boot PATH (an ELF vmlinux or a bzImage) in a KVM microVM, run CMD in\n"
	      "it through airlock-init, and exit with CMD's exit status.\n"
	      "\n"
	      "  --kernel PATH        guest kernel (required)\n"
	      "  --initrd PATH        initramfs (cpio, optionally gzip-compressed)\n"
	      "  --cmdline STR        extra kernel command-line parameters\n"
	      "  --disk PATH[,ro]     attach a raw disk image (virtio-blk), read-only with\n"
	      "                       ,ro; the first is /dev/vda in the guest (up to 8)\n"
	      "  --vsock PATH         virtio-vsock: host programs reach guest port P by\n"
	      "                       connecting to PATH and sending \"CONNECT P\\n\"; guest\n"
	      "                       streams to host port P go to PATH_P\n"
	      "  --vsock-cid N        the guest's vsock CID (default 3)\n"
	      "  --cpus N             vCPUs, 1..64 (default 1)\n"
	      "  -m, --memory SIZE    guest RAM: MiB, or with a K/M/G suffix (default 256)\n"
	      "  --console WHERE      kernel console to none (default: kept in memory\n"
	      "                       to quote a panic), stdout, stderr or a file path\n"
	      "  --console-max SIZE   at most SIZE bytes (K/M/G suffix) of guest output\n"
	      "                       into a console file, then a note (default 16M;\n"
	      "                       0: no limit)\n"
	      "  --boot MODE          auto (default), pvh or linux64 (64-bit boot protocol)\n"
	      "  --snapshot-out FILE  at the guest's snapshot point (airlock.snapshot=1)\n"
	      "                       write the VM's state to FILE and end\n"
	      "  --restore FILE       start from the snapshot state FILE instead of booting\n"
	      "  --snapshot-mem FILE  the snapshot's memory file (with either)\n"
	      "  --snapshot-key HEX   identities of kernel, initramfs and template\n"
	      "                       (3 x 32 bytes in hex) a snapshot is made for\n"
	      "                       FILE may be fd:N, an inherited descriptor\n"
	      "  --boot-timing        print boot milestones to stderr at the end\n"
	      "  --no-seccomp         do not install seccomp filters (debugging only)\n"
	      "  --allow-pvm          try even on a PVM /dev/kvm (very slow)\n"
	      "  -v, --verbose        say what is being booted, and how\n"
	      "  -h, --help           this text\n"
	      "\n"
	      "Exit status: CMD's status (128+N if killed by signal N); 2 for bad\n"
	      "options, images or an unusable KVM; 3 if the snapshot to --restore\n"
	      "cannot be used; 125 if the VM failed (kernel panic, init failure, KVM\n"
	      "error) before CMD finished.\n",
	      f);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out,
		      const char **end)
{
	char *e;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || e == s || v > max)
		return -ERANGE;
	*out = v;
	*end = e;
	return 0;
}

static int parse_key(const char *hex, struct snap_key *k)
{
	uint8_t *out = &k->ident[0][0];
	size_t n = sizeof(k->ident);

	if (strlen(hex) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A snapshot file: "fd:N" (inherited) or a path opened with flags. */
static int open_snapshot_file(const char *spec, int flags)
{
	unsigned long long n;
	const char *end;

	if (strncmp(spec, "fd:", 3) == 0) {
		if (parse_uint(spec + 3, INT_MAX, &n, &end) || *end || n < 3 ||
		    fcntl((int)n, F_GETFD) < 0) {
			errno = EBADF;
			return -1;
		}
		return (int)n;
	}
	return open(spec, flags | O_CLOEXEC, 0600);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_CPUS, O_CONSOLE, O_BOOT,
	       O_TIMING, O_NOSECCOMP, O_PVM, O_DISK, O_VSOCK, O_VSOCK_CID,
	       O_CONSOLE_MAX, O_SNAP_OUT, O_RESTORE, O_SNAP_MEM, O_SNAP_KEY };
	static const struct option lo[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "disk", required_argument, NULL, O_DISK },
		{ "vsock", required_argument, NULL, O_VSOCK },
		{ "vsock-cid", required_argument, NULL, O_VSOCK_CID },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, 'm' },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "console-max", required_argument, NULL, O_CONSOLE_MAX },
		{ "boot", required_argument, NULL, O_BOOT },
		{ "boot-timing", no_argument, NULL, O_TIMING },
		{ "no-seccomp", no_argument, NULL, O_NOSECCOMP },
		{ "allow-pvm", no_argument, NULL, O_PVM },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "snapshot-out", required_argument, NULL, O_SNAP_OUT },
		{ "restore", required_argument, NULL, O_RESTORE },
		{ "snapshot-mem", required_argument, NULL, O_SNAP_MEM },
		{ "snapshot-key", required_argument, NULL, O_SNAP_KEY },
		{ 0 },
	};
	unsigned long long v;
	const char *end;
	int c;

	*o = (struct opts){ .cpus = 1, .mem_mib = DEFAULT_MEM_MIB, .vsock_cid = 3,
			    .boot = X86_BOOT_AUTO, .seccomp = true,
			    .console_max = DEFAULT_CONSOLE_MAX };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+m:vh", lo, NULL)) != -1) {
		switch (c) {
		case O_KERNEL:
			o->kernel = optarg;
			break;
		case O_INITRD:
			o->initrd = optarg;
			break;
		case O_CMDLINE:
			o->extra_cmdline = optarg;
			break;
		case O_VSOCK:
			if (!*optarg || strlen(optarg) + 12 > sizeof(((struct sockaddr_un *)0)->sun_path)) {
				msg("--vsock '%s': a socket path of 1 to %zu bytes is needed",
				    optarg, sizeof(((struct sockaddr_un *)0)->sun_path) - 12);
				return -EINVAL;
			}
			o->vsock = optarg;
			break;
		case O_VSOCK_CID:
			if (parse_uint(optarg, UINT32_MAX - 1, &v, &end) || *end || v < 3) {
				msg("--vsock-cid '%s': expected a number from 3 to %u", optarg,
				    UINT32_MAX - 1);
				return -EINVAL;
			}
			o->vsock_cid = v;
			break;
		case O_DISK: {
			size_t len = strlen(optarg);
			struct disk_opt *d = &o->disks[o->ndisks];

			if (o->ndisks >= MAX_DISKS) {
				msg("--disk: at most %d disks", MAX_DISKS);
				return -EINVAL;
			}
			d->path = optarg;
			if (len > 3 && strcmp(optarg + len - 3, ",ro") == 0) {
				d->ro = true;
				optarg[len - 3] = '\0';
			}
			if (!*d->path) {
				msg("--disk: no path given");
				return -EINVAL;
			}
			o->ndisks++;
			break;
		}
		case O_CPUS:
			if (parse_uint(optarg, X86_MAX_VCPUS, &v, &end) || *end || v < 1) {
				msg("--cpus '%s': expected a number from 1 to %d", optarg,
				    X86_MAX_VCPUS);
				return -EINVAL;
			}
			o->cpus = (unsigned int)v;
			break;
		case 'm':
			if (size_parse_mib(optarg, MAX_MEM_MIB, &o->mem_mib)) {
				msg("--memory '%s': expected a size in MiB, or with a K, M "
				    "or G suffix, from 1 MiB to 1 TiB", optarg);
				return -EINVAL;
			}
			break;
		case O_CONSOLE:
			o->console = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case O_CONSOLE_MAX:
			if (size_parse(optarg, 1, 1ull << 40, &o->console_max)) {
				msg("--console-max '%s': expected a size in bytes, or with a "
				    "K, M or G suffix, up to 1 TiB", optarg);
				return -EINVAL;
			}
			break;
		case O_BOOT:
			if (!strcmp(optarg, "auto"))
				o->boot = X86_BOOT_AUTO;
			else if (!strcmp(optarg, "pvh"))
				o->boot = X86_BOOT_PVH;
			else if (!strcmp(optarg, "linux64"))
				o->boot = X86_BOOT_LINUX64;
			else {
				msg("--boot '%s': expected auto, pvh or linux64", optarg);
				return -EINVAL;
			}
			break;
		case O_TIMING:
			o->boot_timing = true;
			break;
		case O_NOSECCOMP:
			o->seccomp = false;
			break;
		case O_PVM:
			o->allow_pvm = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case O_SNAP_OUT:
			o->snapshot_out = optarg;
			break;
		case O_RESTORE:
			o->restore = optarg;
			break;
		case O_SNAP_MEM:
			o->snapshot_mem = optarg;
			break;
		case O_SNAP_KEY:
			if (parse_key(optarg, &o->key)) {
				msg("--snapshot-key: expected %d hex digits", 2 * SNAP_NR_IDENTS *
				    SNAP_IDENT_LEN);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			msg("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt)
				msg("unknown option '-%c' (see --help)", optopt);
			else
				msg("unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		msg("unexpected argument '%s': put the guest command after '--'",
		    argv[optind]);
		return -EINVAL;
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->restore && o->snapshot_out) {
		msg("--restore and --snapshot-out: one or the other");
		return -EINVAL;
	}
	if ((o->restore || o->snapshot_out) && !o->snapshot_mem) {
		msg("%s needs --snapshot-mem FILE", o->restore ? "--restore" : "--snapshot-out");
		return -EINVAL;
	}
	/* The snapshot holds the kernel, the command line and the command. */
	if (o->restore && (o->kernel || o->initrd || o->extra_cmdline || o->argc)) {
		msg("--restore starts the snapshot's own kernel: no --kernel, --initrd, "
		    "--cmdline or command with it");
		return -EINVAL;
	}
	if (!o->kernel && !o->restore) {
		msg("no kernel given: --kernel PATH is required (see --help)");
		return -EINVAL;
	}
	o->key.nr_vcpus = o->cpus;
	o->key.mem_size = o->mem_mib << 20;
	return 0;
}

/* Open an image the user named: a non-empty regular file of sane size.
 * Returns the fd (size in *len) or -errno with *why set. */
static int open_image(const char *path, size_t *len, const char **why)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		*why = strerror(errno);
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		*why = "not a regular file";
	} else if (st.st_size == 0) {
		r = -EINVAL;
		*why = "the file is empty";
	} else if ((uint64_t)st.st_size > MAX_IMAGE) {
		r = -EFBIG;
		*why = "larger than 512 MiB: surely not a kernel or initrd";
	}
	if (r) {
		close(fd);
		return r;
	}
	*len = (size_t)st.st_size;
	return fd;
}

/* Parse the kernel from a read-only mapping: only the headers (and notes)
 * are touched, and the segments are later read straight into guest RAM,
 * so the image never sits in a buffer of ours. */
static int parse_kernel(int fd, size_t len, struct x86_kernel *k,
			const char **why)
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

/* Open a disk image for a guest: a regular file or block device of at
 * least one sector, locked so no other VM writes it meanwhile (shared for
 * read-only use, exclusive for read-write). Returns the fd or -1. */
static int open_disk(const struct disk_opt *d, uint64_t *size)
{
	struct stat st;
	int fd = open(d->path, (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		if (!d->ro && (errno == EACCES || errno == EROFS || errno == EPERM))
			msg("cannot open disk '%s' read-write: %s (add ,ro to attach it "
			    "read-only)", d->path, strerror(errno));
		else
			msg("cannot open disk '%s': %s", d->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		msg("disk '%s' is not a regular file or block device", d->path);
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			msg("disk '%s': cannot read its size: %s", d->path, strerror(errno));
			goto fail;
		}
	} else {
		*size = (uint64_t)st.st_size;
	}
	if (*size < 512) {
		msg("disk '%s' is smaller than one 512-byte sector", d->path);
		goto fail;
	}
	if (flock(fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		msg("disk '%s' is in use by another VM (%s)", d->path, strerror(errno));
		goto fail;
	}
	if (*size % 512)
		msg("note: disk '%s' is %llu bytes, not a multiple of 512: the guest "
		    "sees only the whole sectors", d->path, (unsigned long long)*size);
	return fd;
fail:
	close(fd);
	return -1;
}

static int open_console(const char *where)
{
	if (!where)
		return -1;
	if (!strcmp(where, "stdout"))
		return STDOUT_FILENO;
	if (!strcmp(where, "stderr"))
		return STDERR_FILENO;
	return open(where, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
}

static int irq_line(void *vm, uint32_t irq, int level)
{
	return vm_irq_line(vm, irq, level);
}

static int setup_devices(struct vm *vm, struct serial *con, struct serial *out,
			 int con_fd, uint64_t con_max, char *ring)
{
	int r;

	serial_init(con, CONSOLE_IRQ, irq_line, vm, con_fd, ring);
	serial_limit(con, con_max);
	serial_init(out, STDIO_IRQ, irq_line, vm, STDOUT_FILENO,
		    NULL);
	if ((r = io_bus_add(&vm->pio, CONSOLE_PORT, SERIAL_PORTS, serial_io, con)) ||
	    (r = io_bus_add(&vm->pio, STDIO_PORT, SERIAL_PORTS, serial_io, out)) ||
	    (r = i8042_init(vm)) || (r = pvport_init(vm)))
		return r;
	return 0;
}

static double ms(const struct vm *vm, uint64_t t)
{
	return t ? (double)(t - atomic_load(&vm->t.start)) / 1e6 : -1.0;
}

static void print_timing(struct vm *vm)
{
	struct rusage ru;
	char line[320];
	int n;

	getrusage(RUSAGE_SELF, &ru);
	/* One line, key=value, for people and for tests/bench. -1: never reached. */
	n = snprintf(line, sizeof(line),
		     "airlock-vmm: boot-timing first_instruction_ms=%.1f init_ms=%.1f "
		     "command_ms=%.1f exit_ms=%.1f end_ms=%.1f peak_rss_kib=%ld\n",
		     ms(vm, vm->t.first_run), ms(vm, vm->t.init), ms(vm, vm->t.cmd),
		     ms(vm, vm->t.exit), ms(vm, vm->t.end), ru.ru_maxrss);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* stderr is gone; nothing to report to */
	}
}

/* The rest of the last console line in [buf, buf + n) holding prefix (at
 * its start if line_start), made printable: it is guest text on its way to
 * the user's terminal, so no escape sequences. NULL if there is none. */
static const char *console_line(char *buf, size_t n, const char *prefix,
				bool line_start, int *len)
{
	size_t plen = strlen(prefix);
	char *p = buf, *found = NULL, *end = buf + n;

	while ((p = memmem(p, (size_t)(end - p), prefix, plen))) {
		if (!line_start || p == buf || p[-1] == '\n')
			found = p + plen;
		p++;
	}
	if (!found)
		return NULL;
	for (p = found; p < end && *p != '\r' && *p != '\n'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	*len = (int)(p - found);
	return found;
}

/* Which vCPU triple-faulted and where; with -v, what every vCPU was doing
 * (for any VM that did not end normally). */
static void explain_vcpus(const struct vm *vm, bool verbose)
{
	char line[384];

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];

		if (!v->shutdown && !verbose)
			continue;
		if (v->shutdown && x86_vcpu_state_is_reset(&v->state)) {
			/* AMD: KVM re-initialises the vCPU after the shutdown
			 * intercept, since the VMCB is undefined then. */
			msg("vCPU %u triple-faulted; KVM reset its registers, so where is "
			    "unknown%s", i, verbose ? "" : " (-v shows the other vCPUs)");
			continue;
		}
		x86_vcpu_state_format(&v->state, line, sizeof(line));
		msg("vCPU %u%s: %s", i, v->shutdown ? " triple-faulted" : "", line);
	}
}

/* Why the VM ended without an exit status, for the user. */
static void explain_failure(struct vm *vm, struct serial *con, bool verbose)
{
	static char tail[SERIAL_RING + 1];
	enum vm_end end = (enum vm_end)atomic_load(&vm->end);
	int init_err = atomic_load(&vm->init_errno), len = 0;
	size_t n = serial_ring_read(con, tail, sizeof(tail));
	const char *p = console_line(tail, n, "Kernel panic - not syncing: ", false, &len);
	const char *why;

	if (end == VM_END_ERROR) {
		msg("the VM failed: %s", vm->error);
	} else if (p) {
		msg("the guest kernel panicked: Kernel panic - not syncing: %.*s", len, p);
	} else if (init_err) {
		/* airlock-init's own last word says what failed and how to
		 * fix it; the errno alone ("Invalid argument") does not. */
		why = console_line(tail, n, "airlock-init: ", true, &len);
		if (why)
			msg("airlock-init could not run the command: %.*s", len, why);
		else
			msg("airlock-init could not run the command: %s (see --console=stderr)",
			    strerrordesc_np(init_err));
	} else {
		msg("the guest %s before the command finished (no exit status reported); "
		    "rerun with --console=stderr to see the kernel log",
		    end == VM_END_RESET ? "reset" : end == VM_END_CRASH ? "crashed" :
		    "shut down");
	}
	if (end == VM_END_SHUTDOWN || verbose)
		explain_vcpus(vm, verbose);
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
	static char extra[X86_CMDLINE_MAX];
	static struct virtio_blk blk[MAX_DISKS];
	static struct virtio_vsock vsock;
	static struct virtio_rng rng;
	unsigned int ndev, rng_slot, vsock_slot;
	int disk_fd[MAX_DISKS];
	uint64_t disk_size[MAX_DISKS];
	struct opts o;
	struct vm vm;
	struct serial con, out;
	struct x86_kernel k;
	struct x86_boot_entry entry;
	size_t klen = 0, ilen = 0;
	const char *why = NULL;
	sigset_t sigs;
	struct vm_restore rs = { 0 };
	struct vm_snap_board board = { .uart = { &con, &out }, .nuarts = 2 };
	int snap_fd = -1, mem_fd = -1;
	int kvm_fd = -1, con_fd = -1, sfd = -1, kfd = -1, ifd = -1;
	int sig, status, rc = EXIT_USAGE, r;
	uint64_t t0 = clock_ns();

	/* Nothing inherited leaks into a process that runs guest code, and
	 * a crash leaves no core file of guest data behind (guest RAM is
	 * MADV_DONTDUMP too, but device buffers are not). */
	close_range(3, ~0u, 0);
	signal(SIGPIPE, SIG_IGN);
	/* One malloc arena: the vCPU threads allocate only while they set up
	 * (their seccomp filters), not worth an arena each (tests/bench/boot).
	 * And a heap that never shrinks: under seccomp a free() that trimmed
	 * it would call brk(), which no filter allows. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });

	if (parse_opts(argc, argv, &o))
		return EXIT_USAGE;
	for (unsigned int i = 0; i < MAX_DISKS; i++)
		disk_fd[i] = -1;

	/* MMIO slots, in the order the guest probes them: the disks first
	 * (vda, vdb… in --disk order), then virtio-rng, always there, then
	 * vsock if asked for. */
	rng_slot = o.ndisks;
	vsock_slot = rng_slot + 1;
	ndev = vsock_slot + (o.vsock ? 1 : 0);
	if (o.restore || o.snapshot_out) {
		int flags = o.restore ? O_RDONLY : O_RDWR | O_CREAT;

		snap_fd = open_snapshot_file(o.restore ? o.restore : o.snapshot_out, flags);
		mem_fd = snap_fd < 0 ? -1 : open_snapshot_file(o.snapshot_mem, flags);
		if (mem_fd < 0) {
			msg("cannot open the snapshot's %s file '%s': %s",
			    snap_fd < 0 ? "state" : "memory",
			    snap_fd < 0 ? (o.restore ? o.restore : o.snapshot_out) : o.snapshot_mem,
			    strerror(errno));
			rc = o.restore ? EXIT_SNAPSHOT : EXIT_USAGE;
			goto out;
		}
	}
	/* Checked whole before anything is built on it. */
	if (o.restore && vm_restore_open(&rs, snap_fd, mem_fd, &o.key, AIRLOCK_VERSION, &why)) {
		msg("cannot restore the snapshot '%s': %s", o.restore, why);
		rc = EXIT_SNAPSHOT;
		goto out;
	}
	if (o.restore)
		goto open_files;	/* the snapshot has kernel, initrd and command line */

	if ((kfd = open_image(o.kernel, &klen, &why)) < 0) {
		msg("cannot read kernel '%s': %s", o.kernel, why);
		goto out;
	}
	if (parse_kernel(kfd, klen, &k, &why)) {
		msg("kernel '%s': %s", o.kernel, why);
		goto out;
	}
	phase(&o, t0, "kernel parsed");
	if (o.initrd && (ifd = open_image(o.initrd, &ilen, &why)) < 0) {
		msg("cannot read initrd '%s': %s", o.initrd, why);
		goto out;
	}
	if (o.mem_mib << 20 < x86_min_mem(&k, ilen)) {
		msg("--memory %llu MiB is too small for this kernel and initrd: give "
		    "at least %llu MiB",
		    (unsigned long long)o.mem_mib,
		    (unsigned long long)((x86_min_mem(&k, ilen) + (1 << 20) - 1) >> 20));
		goto out;
	}
	for (unsigned int i = 0, n = 0; i < ndev; i++) {
		/* Devices are announced on the command line (no ACPI, no DT). */
		n += (unsigned int)snprintf(extra + n, sizeof(extra) - n,
					    "%svirtio_mmio.device=4K@0x%llx:%u", n ? " " : "",
					    VIRTIO_MMIO_BASE + i * 0x1000ull,
					    VIRTIO_IRQ_BASE + i);
		if (i + 1 == ndev && o.extra_cmdline)
			snprintf(extra + n, sizeof(extra) - n, " %s", o.extra_cmdline);
	}
	if (bootargs_build(cmdline, sizeof(cmdline), o.console == NULL, o.argc,
			   o.argv, extra) < 0 ||
	    strlen(cmdline) > k.cmdline_max) {
		msg("the kernel command line would be longer than the %u bytes this "
		    "kernel accepts: shorten the command or --cmdline", k.cmdline_max);
		goto out;
	}
open_files:
	for (unsigned int i = 0; i < o.ndisks; i++)
		if ((disk_fd[i] = open_disk(&o.disks[i], &disk_size[i])) < 0)
			goto out;
	if (o.console && (con_fd = open_console(o.console)) < 0) {
		msg("cannot open console file '%s': %s", o.console, strerror(errno));
		goto out;
	}

	kvm_fd = kvm_open_checked("/sys/module", o.allow_pvm, err, sizeof(err));
	if (kvm_fd < 0) {
		msg("%s", err);
		goto out;
	}
	phase(&o, t0, "/dev/kvm opened");
	if (vm_create(&vm, kvm_fd, o.mem_mib << 20, o.cpus, err, sizeof(err))) {
		msg("%s", err);
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	atomic_store(&vm.t.start, t0);
	phase(&o, t0, "VM, memory and vCPUs created");
	vm.seccomp = o.seccomp;
	vm.verbose = o.verbose;
	if (o.restore) {
		if (vm_restore_map(&rs, &vm, mem_fd, &why)) {
			msg("cannot restore the snapshot '%s': %s", o.restore, why);
			rc = EXIT_SNAPSHOT;
			goto out_vm;
		}
		goto devices;
	}
	if (o.snapshot_out && (r = vm_snapshot_arm(&vm, &o.key, AIRLOCK_VERSION, mem_fd, &why))) {
		msg("cannot prepare the snapshot: %s: %s", why, strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}

	struct x86_boot_cfg cfg = {
		.mem_size = o.mem_mib << 20,
		.nr_vcpus = o.cpus,
		.cmdline = cmdline,
		.initrd = NULL,		/* read in place below */
		.initrd_size = ilen,
		.mode = o.boot,
	};
	if (x86_boot_setup(&vm.mem, &k, NULL, klen, &cfg, &entry, &why)) {
		msg("cannot boot '%s': %s", o.kernel, why);
		goto out_vm;
	}
	phase(&o, t0, "boot state written");
	if ((r = x86_kernel_load_fd(&vm.mem, kfd, &k)) ||
	    (ifd >= 0 && (r = x86_pread_guest(&vm.mem, ifd, entry.initrd_addr, 0, ilen)))) {
		msg("cannot load '%s': %s", r == -EFAULT ? o.kernel : "the images",
		    r == -EFAULT ? "does not fit in guest memory" : strerror(-r));
		goto out_vm;
	}
	phase(&o, t0, "kernel and initrd loaded");
	close(kfd);
	kfd = -1;
	if (ifd >= 0)
		close(ifd);
	ifd = -1;
	if (o.verbose)
		msg("booting %s (%s entry at 0x%llx) with %u vCPU(s), %llu MiB: %s",
		    o.kernel, entry.mode == X86_BOOT_PVH ? "PVH" : "64-bit",
		    (unsigned long long)entry.rip, o.cpus,
		    (unsigned long long)o.mem_mib, cmdline);

devices:;
	/* A file fills the host's disk; our own stdout or stderr is the
	 * caller's to bound. */
	bool con_file = o.console && strcmp(o.console, "stdout") && strcmp(o.console, "stderr");

	if ((r = setup_devices(&vm, &con, &out, con_fd, con_file ? o.console_max : 0,
			       con_ring))) {
		msg("cannot set up devices: %s", strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	for (unsigned int i = 0; i < o.ndisks; i++) {
		/* The serial the guest sees (/sys/block/vdX/serial); a
		 * longer one than virtio's 20 bytes would be cut there. */
		char id[32];

		snprintf(id, sizeof(id), "airlock-disk%u", i);
		r = virtio_blk_init(&blk[i], &vm, VIRTIO_MMIO_BASE + i * 0x1000ull,
				    VIRTIO_IRQ_BASE + i, disk_fd[i], disk_size[i],
				    o.disks[i].ro, id);
		if (r) {
			msg("cannot set up disk '%s': %s", o.disks[i].path, strerror(-r));
			rc = EXIT_VM_FAILED;
			goto out_vm;
		}
	}
	/* Entropy from the first boot on: without it the guest's crng needs
	 * seconds to initialise, and node, npm or anything calling
	 * getrandom() early waits for it. */
	r = virtio_rng_init(&rng, &vm, VIRTIO_MMIO_BASE + rng_slot * 0x1000ull,
			    VIRTIO_IRQ_BASE + rng_slot);
	if (r) {
		msg("cannot set up virtio-rng: %s", strerror(-r));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	if (o.vsock) {
		r = virtio_vsock_init(&vsock, &vm, VIRTIO_MMIO_BASE + vsock_slot * 0x1000ull,
				      VIRTIO_IRQ_BASE + vsock_slot, o.vsock_cid, o.vsock);
		if (r) {
			msg("cannot set up vsock at '%s': %s", o.vsock,
			    r == -EEXIST ? "the path exists and is not a socket" :
			    r == -EADDRINUSE ? "another VM is listening on it" : strerror(-r));
			rc = r == -EEXIST || r == -EADDRINUSE || r == -EACCES || r == -ENOENT
				     ? EXIT_USAGE : EXIT_VM_FAILED;
			goto out_vm;
		}
	}
	for (unsigned int i = 0; i < o.cpus; i++) {
		const char *what;

		r = x86_vcpu_init(vm.vcpus[i].fd, i, o.cpus, vm.cpuid, vm.tsc_deadline,
				  i == 0 && !o.restore ? &entry : NULL, &what);
		if (r) {
			msg("cannot set up vCPU %u: %s failed: %s", i, what, strerror(-r));
			rc = EXIT_VM_FAILED;
			goto out_vm;
		}
	}

	for (unsigned int i = 0; i < o.ndisks; i++)
		board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_BLK, i, &blk[i] };
	board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_RNG, rng_slot, &rng };
	if (o.vsock)
		board.dev[board.ndevs++] = (typeof(board.dev[0])){ VM_SNAP_VSOCK, vsock_slot, &vsock };
	if (o.restore && vm_restore_apply(&rs, &vm, &board, &why)) {
		msg("cannot restore the snapshot '%s': %s", o.restore, why);
		rc = EXIT_SNAPSHOT;
		goto out_vm;
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
		msg("cannot set up signal handling: %s", strerror(errno));
		rc = EXIT_VM_FAILED;
		goto out_vm;
	}
	phase(&o, t0, "vCPUs configured");
	fflush(NULL);
	if (vm_start_vcpus(&vm, err, sizeof(err))) {
		msg("%s", err);
		rc = EXIT_VM_FAILED;
		goto out_stop;
	}
	struct seccomp_snapshot sc = { vm.vm_fd, snap_fd, mem_fd };

	if (o.seccomp && seccomp_install_main(o.snapshot_out ? &sc : NULL, err, sizeof(err))) {
		msg("%s", err);
		rc = EXIT_VM_FAILED;
		goto out_stop;
	}

	phase(&o, t0, "vCPU threads started, main filter installed");
	sig = wait_for_end(&vm, sfd);
	vm_stop_vcpus(&vm);
	status = atomic_load(&vm.exit_status);
	if (o.boot_timing)
		print_timing(&vm);
	if (atomic_load(&vm.end) == VM_END_SNAPSHOT) {
		rc = 0;
		if (vm_snapshot_save(&vm, &board, snap_fd, &why)) {
			msg("cannot take the snapshot: %s", why);
			rc = EXIT_VM_FAILED;
		}
	} else if (status >= 0) {
		rc = status;
	} else if (sig) {
		msg("stopped by signal %d (%s)", sig, sigdescr_np(sig));
		if (o.verbose)
			explain_vcpus(&vm, true);	/* where a hung guest was */
		rc = 128 + sig;
	} else {
		explain_failure(&vm, &con, o.verbose);
		rc = EXIT_VM_FAILED;
	}
	goto out_vm;

out_stop:
	vm_stop_vcpus(&vm);
out_vm:
	vm_destroy(&vm);
out:
	vm_restore_close(&rs);
	if (snap_fd >= 0)
		close(snap_fd);
	if (mem_fd >= 0)
		close(mem_fd);
	if (kvm_fd >= 0)
		close(kvm_fd);
	if (kfd >= 0)
		close(kfd);
	if (ifd >= 0)
		close(ifd);
	for (unsigned int i = 0; i < MAX_DISKS; i++)
		if (disk_fd[i] >= 0)
			close(disk_fd[i]);
	return rc;
}
