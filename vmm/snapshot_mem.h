/* The snapshot's memory file: one header page (magic, format, page size,
 * guest memory size, the snapshot's id, the same as in its state file), then
 * guest RAM as one image, sparse where the guest never wrote. A restore maps
 * the image MAP_PRIVATE, so every sandbox started from one snapshot shares
 * the pages it has not written to through the host's page cache. The state
 * file's memory section says where each guest-physical region lies in the
 * image; both are checked against this VM before anything is mapped. */
#ifndef AIRLOCK_VMM_SNAPSHOT_MEM_H
#define AIRLOCK_VMM_SNAPSHOT_MEM_H

#include <stdint.h>

#include "vmm/mem.h"
#include "vmm/snapshot.h"

#define SNAP_MEM_MAGIC "ARLKMEM"	/* 8 bytes with its NUL */
#define SNAP_MEM_FORMAT 1
#define SNAP_MEM_DATA_OFF 4096ull	/* the image starts at the second page */

struct snap_mem_header {
	char magic[8];
	uint32_t format;
	uint32_t page_size;
	uint64_t mem_size;
	uint8_t id[SNAP_ID_LEN];
} __attribute__((packed));

/* Writes the header page of a memory file for mem_size bytes of RAM and
 * gives the file its full (sparse) size. 0 or -errno. */
int snap_mem_init(int fd, uint64_t mem_size, const uint8_t id[SNAP_ID_LEN]);

/* Copies guest RAM into the image of a memory file snap_mem_init() made,
 * skipping pages that are all zero (they stay holes). ram_fd: the file
 * guest RAM maps from offset 0 (the VM's memfd), whose holes are skipped
 * unread; -1 for anonymous RAM. 0 or -errno. */
int snap_mem_copy(int fd, const struct guest_mem *gm, int ram_fd);

/* Checks a memory file: its header (magic, format, page size, mem_size,
 * id) and that it is long enough for the image. 0, or -EBADMSG / -ESTALE
 * with *why, or -errno. */
int snap_mem_check(int fd, uint64_t mem_size, const uint8_t id[SNAP_ID_LEN],
		   const char **why);

/* The memory section: where each region of gm lies in the image. */
void snap_mem_section_write(const struct guest_mem *gm, struct snap_writer *w);
/* Checks the section against this VM's layout gm (the same regions, at
 * the same places in the image). 0, or -EBADMSG / -ESTALE with *why. */
int snap_mem_section_read(struct snap_file *f, const struct guest_mem *gm,
			  const char **why);

#endif
