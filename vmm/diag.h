/* What airlock-vmm tells its user: one-line messages, the verbose trace of
 * setup, the boot-timing line, and why a VM ended without an exit status
 * (a panic quoted from the console, airlock-init's last word, a triple
 * fault and where). Guest text quoted here is made harmless first. */
#ifndef AIRLOCK_VMM_DIAG_H
#define AIRLOCK_VMM_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct serial;

/* "airlock-vmm: ..." on stderr, one line. */
void vmm_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -v: milliseconds since t0 (clock_ns) and what was just done. */
void vmm_phase(bool verbose, uint64_t t0, const char *what);

/* --boot-timing: the milestones line. */
void vmm_print_timing(struct vm *vm);

/* Which vCPU triple-faulted and where; with verbose, every vCPU's state. */
void vmm_explain_vcpus(const struct vm *vm, bool verbose);

/* Why the VM ended without an exit status, for the user. */
void vmm_explain_failure(struct vm *vm, struct serial *con, bool verbose);

/* The rest of the last line in [buf, buf + n) holding prefix (at a line's
 * start if line_start), escaped into out (lib/escape.h): it is guest text on
 * its way to the user's terminal. NULL if there is none. */
const char *vmm_console_line(const char *buf, size_t n, const char *prefix,
			     bool line_start, char *out, size_t size);

#endif
