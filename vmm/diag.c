/* What airlock-vmm tells its user: see diag.h. */
#include "vmm/diag.h"
#include "vmm/serial.h"
#include "vmm/vm.h"
#include "lib/clock.h"
#include "lib/escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void vmm_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("airlock-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vmm_phase(bool verbose, uint64_t t0, const char *what)
{
	if (verbose)
		vmm_msg("+%.1f ms %s", (double)(clock_ns() - t0) / 1e6, what);
}

static double ms(const struct vm *vm, uint64_t t)
{
	return t ? (double)(t - atomic_load(&vm->t.start)) / 1e6 : -1.0;
}

void vmm_print_timing(struct vm *vm)
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
 * its start if line_start), escaped into out (lib/escape.h): it is guest
 * text on its way to the user's terminal. NULL if there is none. */
const char *vmm_console_line(const char *buf, size_t n, const char *prefix,
			     bool line_start, char *out, size_t size)
{
	size_t plen = strlen(prefix);
	const char *p = buf, *found = NULL, *end = buf + n;

	while ((p = memmem(p, (size_t)(end - p), prefix, plen))) {
		if (!line_start || p == buf || p[-1] == '\n')
			found = p + plen;
		p++;
	}
	if (!found)
		return NULL;
	for (p = found; p < end && *p != '\r' && *p != '\n'; p++)
		;
	escape_text(out, size, found, (size_t)(p - found));
	return out;
}

/* Which vCPU triple-faulted and where; with -v, what every vCPU was doing
 * (for any VM that did not end normally). */
void vmm_explain_vcpus(const struct vm *vm, bool verbose)
{
	char line[384];

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];

		if (!v->shutdown && !verbose)
			continue;
		if (v->shutdown && x86_vcpu_state_is_reset(&v->state)) {
			/* AMD: KVM re-initialises the vCPU after the shutdown
			 * intercept, since the VMCB is undefined then. */
			vmm_msg("vCPU %u triple-faulted; KVM reset its registers, so where is "
			    "unknown%s", i, verbose ? "" : " (-v shows the other vCPUs)");
			continue;
		}
		x86_vcpu_state_format(&v->state, line, sizeof(line));
		vmm_msg("vCPU %u%s: %s", i, v->shutdown ? " triple-faulted" : "", line);
	}
}

/* Why the VM ended without an exit status, for the user. */
void vmm_explain_failure(struct vm *vm, struct serial *con, bool verbose)
{
	static char tail[SERIAL_RING + 1], line[512];
	enum vm_end end = (enum vm_end)atomic_load(&vm->end);
	int init_err = atomic_load(&vm->init_errno);
	size_t n = serial_ring_read(con, tail, sizeof(tail));
	const char *p = vmm_console_line(tail, n, "Kernel panic - not syncing: ", false,
					 line, sizeof(line));
	const char *why;

	if (end == VM_END_ERROR) {
		vmm_msg("the VM failed: %s", vm->error);
	} else if (p) {
		vmm_msg("the guest kernel panicked: Kernel panic - not syncing: %s", p);
	} else if (init_err) {
		/* airlock-init's own last word says what failed and how to
		 * fix it; the errno alone ("Invalid argument") does not. */
		why = vmm_console_line(tail, n, "airlock-init: ", true, line, sizeof(line));
		if (why)
			vmm_msg("airlock-init could not run the command: %s", why);
		else
			vmm_msg("airlock-init could not run the command: %s (see --console=stderr)",
			    strerrordesc_np(init_err));
	} else {
		vmm_msg("the guest %s before the command finished (no exit status reported); "
		    "rerun with --console=stderr to see the kernel log",
		    end == VM_END_RESET ? "reset" : end == VM_END_CRASH ? "crashed" :
		    "shut down");
	}
	if (end == VM_END_SHUTDOWN || verbose)
		vmm_explain_vcpus(vm, verbose);
}
