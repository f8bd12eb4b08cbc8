/* The host programs are position-independent, so the kernel loads each at
 * a random address (ASLR): a guest that finds a bug in one does not also
 * know where its code is. With --static they must be static-pie too: no
 * dynamic loader (PT_INTERP) at all.
 *
 *   check_pie [--static] PROGRAM...
 *
 * `meson test` runs it on its build's programs; tests/run-all on those of
 * the main build (the sanitizer build's cannot be static).
 */
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int check(const char *path, bool want_static)
{
	Elf64_Ehdr eh;
	bool interp = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC), bad = 0;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		fprintf(stderr, "%s: not a readable 64-bit ELF file\n", path);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			fprintf(stderr, "%s: program header %u unreadable\n", path, i);
			close(fd);
			return 1;
		}
		interp |= ph.p_type == PT_INTERP;
	}
	close(fd);
	if (eh.e_type != ET_DYN) {
		fprintf(stderr, "%s: not position-independent (ELF type %u, not ET_DYN): "
			"its code would sit at a fixed address\n", path, eh.e_type);
		bad = 1;
	}
	if (want_static && interp) {
		fprintf(stderr, "%s: has a dynamic loader (PT_INTERP): not static-pie\n", path);
		bad = 1;
	}
	printf("%s %s\n", bad ? "not ok -" : "ok -", path);
	return bad;
}

int main(int argc, char **argv)
{
	bool want_static = argc > 1 && strcmp(argv[1], "--static") == 0;
	int failed = 0, n = 0;

	for (int i = want_static ? 2 : 1; i < argc; i++, n++)
		failed += check(argv[i], want_static);
	printf("%d passed, %d failed\n", n - failed, failed);
	return failed || n == 0;
}
