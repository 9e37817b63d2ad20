/* hangfree.c: a preload whose free() never returns on a double free (the
 * same pointer twice in a row), over glibc's own malloc otherwise: what
 * an allocator that spins on a corrupt free list looks like to `notfree
 * check` (a `hang` cell, the probe killed at the timeout). */
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static void *last; /* the last pointer freed and not handed out since */

static void *out(void *p)
{
    if (p == last)
        last = NULL;
    return p;
}

__attribute__((visibility("default"))) void *malloc(size_t n) { return out(__libc_malloc(n)); }
__attribute__((visibility("default"))) void *calloc(size_t n, size_t m) { return out(__libc_calloc(n, m)); }
__attribute__((visibility("default"))) void *realloc(void *p, size_t n) { return out(__libc_realloc(p, n)); }

__attribute__((visibility("default"))) void free(void *p)
{
    if (p && p == last)
        for (;;)
            pause();
    last = p;
    __libc_free(p);
}
