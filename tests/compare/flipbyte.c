/* tests/compare/flipbyte.c: a test-only "allocator" that corrupts data,
 * for `notfree compare` to catch. Preloaded, it serves malloc and free
 * from glibc (__libc_malloc, __libc_free) but, on every 512th malloc of a
 * thread, flips the first byte of the block that thread got just before,
 * if it is still live: the block's tag no longer matches, and the
 * workload's checksum counts it as damaged. A comparison must report the
 * run as failed, not as fast. */
#include <stddef.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

static __thread unsigned char *last;
static __thread unsigned calls;

__attribute__((visibility("default"))) void *malloc(size_t size)
{
    if (++calls % 512 == 0 && last)
        last[0] ^= 0x5a;
    unsigned char *p = __libc_malloc(size);
    last = p;
    return p;
}

__attribute__((visibility("default"))) void free(void *p)
{
    if (p && p == last)
        last = NULL;
    __libc_free(p);
}
