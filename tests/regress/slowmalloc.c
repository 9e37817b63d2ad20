/* slowmalloc.c: a wrapper allocator for the planted-regression test of
 * `notfree regress --a/--b`: every malloc calls glibc's own
 * (__libc_malloc), after SPIN turns of a busy loop (0: a plain
 * pass-through). Built twice, fast and slow, so the two sides are the same
 * library but for the spin. free, calloc and realloc stay glibc's. */
#include <stddef.h>
#include <stdlib.h>

#ifndef SPIN
#define SPIN 0
#endif

void *__libc_malloc(size_t n);

static volatile unsigned spin = SPIN; /* volatile: the loop is not folded away */

void *malloc(size_t n)
{
    for (volatile unsigned i = 0; i < spin; i++)
        ;
    return __libc_malloc(n);
}
