/* tests/compare/flipmid.c: a test-only "allocator" that corrupts the
 * middle of blocks, where the timed run's tag does not look (first and
 * last 8 bytes, one byte per 4 KiB) and only the verification run does.
 * Preloaded, it serves malloc and free from glibc (__libc_malloc,
 * __libc_free) but, on every 512th malloc of a thread, flips byte
 * (size / 2) | 1 of the block that thread got just before, if it is still
 * live and at least 24 bytes long: an odd offset at least 8 bytes from
 * either end, never a multiple of 4096. (flipbyte.c flips the first byte,
 * which the timed run's checksum catches.) */
#include <stddef.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

static __thread unsigned char *last;
static __thread size_t last_size;
static __thread unsigned calls;

__attribute__((visibility("default"))) void *malloc(size_t size)
{
    if (++calls % 512 == 0 && last && last_size >= 24)
        last[(last_size / 2) | 1] ^= 0x5a;
    unsigned char *p = __libc_malloc(size);
    last = p;
    last_size = size;
    return p;
}

__attribute__((visibility("default"))) void free(void *p)
{
    if (p && p == last)
        last = NULL;
    __libc_free(p);
}
