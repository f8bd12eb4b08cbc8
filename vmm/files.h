/* Opening what airlock-vmm's options name (vmm/opts.h), before anything
 * else happens: images, disks, the console file. After this the VMM never
 * opens a path again. Each returns an fd, or a negative value after saying
 * (or, for images, returning in *why) what is wrong. */
#ifndef AIRLOCK_VMM_FILES_H
#define AIRLOCK_VMM_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/opts.h"

/* "PATH" or "fd:N", for messages (buf holds the latter). */
const char *vmm_file_name(const struct vmm_file *f, char *buf, size_t size);

/* A kernel or initrd: a non-empty regular file of sane size (*len). */
int vmm_open_image(const struct vmm_file *f, size_t *len, const char **why);

/* A disk: a regular file or block device of at least one sector, open for
 * writing unless ro, locked (shared for ro, else exclusive). -1 on error. */
int vmm_open_disk(const struct vmm_disk *d, uint64_t *size);

/* The console file, appended to. -1 with errno on error. */
int vmm_open_console(const struct vmm_file *f);

/* Is fd a listening Unix stream socket? 0 or -errno. */
int vmm_check_listener(int fd);

#endif
