/* compare/owner.h: inside a process, which library serves malloc: the
 * child side of "is this library really the malloc?", shared by the two
 * programs run under a preload (notfree-workload, notfree-probe), so that
 * `notfree compare` and `notfree check` ask the same question the same
 * way (the parent side: nf_cmp_is_malloc in compare.h).
 *
 * Which malloc: the one this program's calls bind to, dlsym(RTLD_DEFAULT,
 * "malloc") then dladdr. A library that is preloaded but defines no
 * malloc (libz) leaves it in libc.
 *
 * The --whoami answer, one line on stdout:
 *   malloc-in <the file that defines malloc>
 *   dlopen-error <dlerror's message>   PATH does not load (the dynamic
 *                                      linker's reason)
 * Small on purpose: libc and libdl only. */
#ifndef NOTFREE_COMPARE_OWNER_H
#define NOTFREE_COMPARE_OWNER_H

#include <stddef.h>

/* The file that defines the malloc this process calls, into obj; 0, or -1
 * with the reason in obj. */
int nf_malloc_owner(char *obj, size_t len);
/* 1 when malloc lives in path (same file after realpath), else 0 with
 * where it lives instead in why. */
int nf_malloc_in(const char *path, char *why, size_t len);
/* Are a and b the same file (after realpath; as given when one cannot be
 * resolved)? */
int nf_same_file(const char *a, const char *b);
/* `--whoami [PATH]`: prints the answer line; returns the exit status (0). */
int nf_whoami_main(const char *path);

#endif
