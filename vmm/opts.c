/* airlock-vmm's options: see opts.h. */
#include "vmm/opts.h"
#include "vmm/diag.h"
#include "vmm/virtio/net.h"
#include "lib/size.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#define DEFAULT_MEM_MIB 256
#define MAX_MEM_MIB (1ull << 20)		/* 1 TiB */
#define DEFAULT_CONSOLE_MAX (16ull << 20)	/* for a console file */
#define MAX_INHERITED_FD 1023
/* Room after a vsock path for "_4294967295", the guest-initiated streams'
 * sockets of developer mode. */
#define VSOCK_PATH_ROOM 12

static void usage(FILE *f)
{
	fputs("usage: airlock-vmm --kernel FILE [options] [-- CMD [ARGS...]]\n"
	      "\n"
	      "Boot FILE (an ELF vmlinux or a bzImage) in a KVM microVM, run CMD in\n"
	      "it through airlock-init, and exit with CMD's exit status. Each FILE is\n"
	      "a path or fd:N, a descriptor handed in by the caller.\n"
	      "\n"
	      "  --kernel FILE        guest kernel (required)\n"
	      "  --initrd FILE        initramfs (cpio, optionally gzip-compressed)\n"
	      "  --cmdline STR        extra kernel command-line parameters\n"
	      "  --disk FILE[,ro]     attach a raw disk image (virtio-blk), read-only with\n"
	      "                       ,ro; the first is /dev/vda in the guest (up to 8)\n"
	      "  --vsock FILE         virtio-vsock: a path to listen on, or a listening\n"
	      "                       Unix socket; host programs reach guest port P by\n"
	      "                       connecting and sending \"CONNECT P\\n\"\n"
	      "  --vsock-cid N        the guest's vsock CID (default 3)\n"
	      "  --vsock-port P       let the guest open streams to host port P (repeat\n"
	      "                       for more); with a --vsock path they reach the\n"
	      "                       Unix socket PATH_P; no other port is reachable\n"
	      "  --vsock-broker fd:N  open guest-initiated streams through this broker\n"
	      "                       (a supervisor's socket) instead of PATH_P\n"
	      "  --net fd:N[,mac=M]   virtio-net (eth0) on the TAP fd N, opened with\n"
	      "                       IFF_TAP, IFF_NO_PI and IFF_VNET_HDR; MAC address M\n"
	      "                       (default 02:00:0a:00:02:0f)\n"
	      "  --cpus N             vCPUs, 1..64 (default 1)\n"
	      "  -m, --memory SIZE    guest RAM: MiB, or with a K/M/G suffix (default 256)\n"
	      "  --console WHERE      kernel console to none (default: kept in memory\n"
	      "                       to quote a panic), stdout, stderr or a FILE\n"
	      "  --console-max SIZE   at most SIZE bytes (K/M/G suffix) of guest output\n"
	      "                       into a console file, then a note (default 16M;\n"
	      "                       0: no limit)\n"
	      "  --kvm fd:N           /dev/kvm, already open (default: opened here)\n"
	      "  --done fd:N          once the VM has ended (no vCPU runs, no device is\n"
	      "                       served any more) and before it is freed, write the\n"
	      "                       exit status to fd N as one byte and close it\n"
	      "  --jail[=UID:GID]     once everything is open, confine the VMM: new\n"
	      "                       mount, network and IPC namespaces, an empty root,\n"
	      "                       no capabilities, running as UID:GID (required as\n"
	      "                       root) or, for a user, inside a user namespace\n"
	      "  --boot MODE          auto (default), pvh or linux64 (64-bit boot protocol)\n"
	      "  --snapshot-out FILE  at the guest's snapshot point (airlock.snapshot=1)\n"
	      "                       write the VM's state to FILE and end\n"
	      "  --restore FILE       start from the snapshot state FILE instead of\n"
	      "                       booting (no --kernel, --initrd, --cmdline, CMD)\n"
	      "  --snapshot-mem FILE  the snapshot's memory file (with either)\n"
	      "  --snapshot-key HEX   identities of kernel, initramfs and template the\n"
	      "                       snapshot is made for (3 x 32 bytes in hex)\n"
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

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || e == s || v > max)
		return -ERANGE;
	*out = v;
	*end = e;
	return 0;
}

/* "fd:N" with N an inherited descriptor number (0-2 are ours). */
static int parse_fd(const char *s, int *fd)
{
	unsigned long long v;
	const char *end;

	if (strncmp(s, "fd:", 3) != 0 || parse_uint(s + 3, MAX_INHERITED_FD, &v, &end) ||
	    *end || v < 3)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

static int parse_file(const char *opt, const char *s, struct vmm_file *f)
{
	f->path = NULL;
	f->fd = -1;
	if (strncmp(s, "fd:", 3) == 0) {
		if (parse_fd(s, &f->fd)) {
			vmm_msg("%s '%s': fd:N needs a descriptor number from 3 to %d",
				opt, s, MAX_INHERITED_FD);
			return -EINVAL;
		}
		return 0;
	}
	if (!*s) {
		vmm_msg("%s: no path given", opt);
		return -EINVAL;
	}
	f->path = s;
	return 0;
}

/* --net fd:N[,mac=XX:XX:XX:XX:XX:XX] */
static int parse_net(const char *s, struct vmm_opts *o)
{
	const char *mac = strstr(s, ",mac=");
	size_t n = mac ? (size_t)(mac - s) : strlen(s);
	char fd[16] = "";

	if (n < sizeof(fd))
		memcpy(fd, s, n);
	if (n >= sizeof(fd) || parse_fd(fd, &o->net_fd)) {
		vmm_msg("--net '%s': expected fd:N (an inherited TAP, N from 3 to %d), "
			"then optionally ,mac=XX:XX:XX:XX:XX:XX", s, MAX_INHERITED_FD);
		return -EINVAL;
	}
	if (mac && virtio_net_parse_mac(mac + 5, o->mac)) {
		vmm_msg("--net '%s': mac=: expected six hex bytes XX:XX:XX:XX:XX:XX, "
			"not a multicast address", s);
		return -EINVAL;
	}
	return 0;
}

/* 192 hex digits: kernel, initramfs and template identities. */
static int parse_key(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int v = 0;

		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + (size_t)k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned int)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned int)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned int)(c - 'A' + 10);
			else
				return -EINVAL;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int parse_jail(const char *s, struct vmm_jail_opts *j)
{
	unsigned long long uid, gid;
	const char *end;

	j->enabled = true;
	j->uid = j->gid = 0;
	if (!s)
		return 0;
	if (parse_uint(s, UINT32_MAX - 1, &uid, &end) || *end != ':' ||
	    parse_uint(end + 1, UINT32_MAX - 1, &gid, &end) || *end || uid == 0 || gid == 0) {
		vmm_msg("--jail='%s': expected UID:GID, both non-zero", s);
		return -EINVAL;
	}
	j->uid = (uint32_t)uid;
	j->gid = (uint32_t)gid;
	return 0;
}

int vmm_opts_parse(int argc, char **argv, struct vmm_opts *o)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_CPUS, O_CONSOLE, O_BOOT,
	       O_TIMING, O_NOSECCOMP, O_PVM, O_DISK, O_VSOCK, O_VSOCK_CID,
	       O_CONSOLE_MAX, O_VSOCK_PORT, O_VSOCK_BROKER, O_KVM, O_JAIL, O_NET,
	       O_SNAP_OUT, O_RESTORE, O_SNAP_MEM, O_SNAP_KEY, O_DONE };
	static const struct option lo[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "disk", required_argument, NULL, O_DISK },
		{ "vsock", required_argument, NULL, O_VSOCK },
		{ "vsock-cid", required_argument, NULL, O_VSOCK_CID },
		{ "vsock-port", required_argument, NULL, O_VSOCK_PORT },
		{ "vsock-broker", required_argument, NULL, O_VSOCK_BROKER },
		{ "net", required_argument, NULL, O_NET },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, 'm' },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "console-max", required_argument, NULL, O_CONSOLE_MAX },
		{ "kvm", required_argument, NULL, O_KVM },
		{ "done", required_argument, NULL, O_DONE },
		{ "jail", optional_argument, NULL, O_JAIL },
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
	bool have_kernel = false, have_mem = false;
	int c;

	*o = (struct vmm_opts){ .cpus = 1, .mem_mib = DEFAULT_MEM_MIB, .vsock_cid = 3,
				.boot = X86_BOOT_AUTO, .seccomp = true, .kvm_fd = -1,
				.vsock_broker_fd = -1, .console_max = DEFAULT_CONSOLE_MAX,
				.console_kind = CONSOLE_NONE, .net_fd = -1, .done_fd = -1,
				.mac = VIRTIO_NET_DEFAULT_MAC };
	o->console.fd = -1;
	o->snapshot_out.fd = o->restore.fd = o->snapshot_mem.fd = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+m:vh", lo, NULL)) != -1) {
		switch (c) {
		case O_KERNEL:
			if (parse_file("--kernel", optarg, &o->kernel))
				return -EINVAL;
			have_kernel = true;
			break;
		case O_INITRD:
			if (parse_file("--initrd", optarg, &o->initrd))
				return -EINVAL;
			o->have_initrd = true;
			break;
		case O_CMDLINE:
			o->extra_cmdline = optarg;
			break;
		case O_VSOCK:
			if (parse_file("--vsock", optarg, &o->vsock))
				return -EINVAL;
			if (o->vsock.path &&
			    strlen(optarg) + VSOCK_PATH_ROOM > sizeof(((struct sockaddr_un *)0)->sun_path)) {
				vmm_msg("--vsock '%s': a socket path of 1 to %zu bytes is needed",
					optarg, sizeof(((struct sockaddr_un *)0)->sun_path) -
					VSOCK_PATH_ROOM);
				return -EINVAL;
			}
			o->have_vsock = true;
			break;
		case O_VSOCK_CID:
			if (parse_uint(optarg, UINT32_MAX - 1, &v, &end) || *end || v < 3) {
				vmm_msg("--vsock-cid '%s': expected a number from 3 to %u", optarg,
					UINT32_MAX - 1);
				return -EINVAL;
			}
			o->vsock_cid = v;
			break;
		case O_VSOCK_PORT:
			if (parse_uint(optarg, UINT32_MAX - 1, &v, &end) || *end) {
				vmm_msg("--vsock-port '%s': expected a port number", optarg);
				return -EINVAL;
			}
			if (o->nvsock_ports == VMM_MAX_VSOCK_PORTS) {
				vmm_msg("--vsock-port: at most %d ports", VMM_MAX_VSOCK_PORTS);
				return -EINVAL;
			}
			o->vsock_ports[o->nvsock_ports++] = (uint32_t)v;
			break;
		case O_VSOCK_BROKER:
			if (parse_fd(optarg, &o->vsock_broker_fd)) {
				vmm_msg("--vsock-broker '%s': expected fd:N", optarg);
				return -EINVAL;
			}
			break;
		case O_NET:
			if (parse_net(optarg, o))
				return -EINVAL;
			break;
		case O_DISK: {
			size_t len = strlen(optarg);
			struct vmm_disk *d = &o->disks[o->ndisks];

			if (o->ndisks >= VMM_MAX_DISKS) {
				vmm_msg("--disk: at most %d disks", VMM_MAX_DISKS);
				return -EINVAL;
			}
			d->ro = false;
			if (len > 3 && strcmp(optarg + len - 3, ",ro") == 0) {
				d->ro = true;
				optarg[len - 3] = '\0';
			}
			if (parse_file("--disk", optarg, &d->f))
				return -EINVAL;
			o->ndisks++;
			break;
		}
		case O_CPUS:
			if (parse_uint(optarg, X86_MAX_VCPUS, &v, &end) || *end || v < 1) {
				vmm_msg("--cpus '%s': expected a number from 1 to %d", optarg,
					X86_MAX_VCPUS);
				return -EINVAL;
			}
			o->cpus = (unsigned int)v;
			break;
		case 'm':
			if (size_parse_mib(optarg, MAX_MEM_MIB, &o->mem_mib)) {
				vmm_msg("--memory '%s': expected a size in MiB, or with a K, M "
					"or G suffix, from 1 MiB to 1 TiB", optarg);
				return -EINVAL;
			}
			break;
		case O_CONSOLE:
			if (!strcmp(optarg, "none")) {
				o->console_kind = CONSOLE_NONE;
			} else if (!strcmp(optarg, "stdout")) {
				o->console_kind = CONSOLE_STDOUT;
			} else if (!strcmp(optarg, "stderr")) {
				o->console_kind = CONSOLE_STDERR;
			} else {
				if (parse_file("--console", optarg, &o->console))
					return -EINVAL;
				o->console_kind = CONSOLE_FILE;
			}
			break;
		case O_CONSOLE_MAX:
			if (size_parse(optarg, 1, 1ull << 40, &o->console_max)) {
				vmm_msg("--console-max '%s': expected a size in bytes, or with a "
					"K, M or G suffix, up to 1 TiB", optarg);
				return -EINVAL;
			}
			break;
		case O_KVM:
			if (parse_fd(optarg, &o->kvm_fd)) {
				vmm_msg("--kvm '%s': expected fd:N", optarg);
				return -EINVAL;
			}
			break;
		case O_DONE:
			if (parse_fd(optarg, &o->done_fd)) {
				vmm_msg("--done '%s': expected fd:N", optarg);
				return -EINVAL;
			}
			break;
		case O_JAIL:
			if (parse_jail(optarg, &o->jail))
				return -EINVAL;
			break;
		case O_BOOT:
			if (!strcmp(optarg, "auto"))
				o->boot = X86_BOOT_AUTO;
			else if (!strcmp(optarg, "pvh"))
				o->boot = X86_BOOT_PVH;
			else if (!strcmp(optarg, "linux64"))
				o->boot = X86_BOOT_LINUX64;
			else {
				vmm_msg("--boot '%s': expected auto, pvh or linux64", optarg);
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
			if (parse_file("--snapshot-out", optarg, &o->snapshot_out))
				return -EINVAL;
			o->have_snapshot_out = true;
			break;
		case O_RESTORE:
			if (parse_file("--restore", optarg, &o->restore))
				return -EINVAL;
			o->have_restore = true;
			break;
		case O_SNAP_MEM:
			if (parse_file("--snapshot-mem", optarg, &o->snapshot_mem))
				return -EINVAL;
			have_mem = true;
			break;
		case O_SNAP_KEY:
			if (parse_key(optarg, o->snapshot_key, sizeof(o->snapshot_key))) {
				vmm_msg("--snapshot-key: expected %zu hex digits",
					2 * sizeof(o->snapshot_key));
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			vmm_msg("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt)
				vmm_msg("unknown option '-%c' (see --help)", optopt);
			else
				vmm_msg("unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		vmm_msg("unexpected argument '%s': put the guest command after '--'",
			argv[optind]);
		return -EINVAL;
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->have_restore && o->have_snapshot_out) {
		vmm_msg("--restore and --snapshot-out: one or the other");
		return -EINVAL;
	}
	if ((o->have_restore || o->have_snapshot_out) && !have_mem) {
		vmm_msg("%s needs --snapshot-mem FILE",
			o->have_restore ? "--restore" : "--snapshot-out");
		return -EINVAL;
	}
	/* The snapshot holds the kernel, the command line and the command. */
	if (o->have_restore &&
	    (have_kernel || o->have_initrd || o->extra_cmdline || o->argc)) {
		vmm_msg("--restore starts the snapshot's own kernel: no --kernel, --initrd, "
			"--cmdline or command with it");
		return -EINVAL;
	}
	if (!have_kernel && !o->have_restore) {
		vmm_msg("no kernel given: --kernel FILE is required (see --help)");
		return -EINVAL;
	}
	if ((o->nvsock_ports || o->vsock_broker_fd >= 0) && !o->have_vsock) {
		vmm_msg("--vsock-port and --vsock-broker need --vsock");
		return -EINVAL;
	}
	if (o->nvsock_ports && o->vsock_broker_fd < 0 && !o->vsock.path) {
		vmm_msg("--vsock-port with --vsock fd:N needs a --vsock-broker to open "
			"the streams");
		return -EINVAL;
	}
	return 0;
}

unsigned int vmm_opts_fds(const struct vmm_opts *o, int *fds, unsigned int max)
{
	unsigned int n = 0;

#define ADD(fd_) do { if ((fd_) >= 0 && n < max) fds[n++] = (fd_); } while (0)
	ADD(o->kernel.fd);
	if (o->have_initrd)
		ADD(o->initrd.fd);
	for (unsigned int i = 0; i < o->ndisks; i++)
		ADD(o->disks[i].f.fd);
	if (o->have_vsock)
		ADD(o->vsock.fd);
	ADD(o->vsock_broker_fd);
	if (o->console_kind == CONSOLE_FILE)
		ADD(o->console.fd);
	ADD(o->kvm_fd);
	ADD(o->net_fd);
	ADD(o->done_fd);
	if (o->have_snapshot_out)
		ADD(o->snapshot_out.fd);
	if (o->have_restore)
		ADD(o->restore.fd);
	if (o->have_snapshot_out || o->have_restore)
		ADD(o->snapshot_mem.fd);
#undef ADD
	return n;
}
