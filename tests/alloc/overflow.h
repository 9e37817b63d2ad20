/* overflow.h: requests near the overflow boundaries through an allocator's
 * interface (the linked twin of the conformance suite's preloaded fuzz):
 * sizes near 0, 2^32, 2^62, 2^63 and SIZE_MAX, SIZE_MAX minus the
 * alignment, and every alignment 2^0 .. 2^63 plus some that are not powers
 * of two. Each answer must be a usable, aligned block or NULL with ENOMEM
 * (EINVAL for an alignment that is not a power of two): never a crash, a
 * block smaller than asked or a misaligned one. Needs check.h first; run it
 * in a child (child.h) so that a crash is a failure, not the end of the
 * test. */
#ifndef NF_TESTS_ALLOC_OVERFLOW_H
#define NF_TESTS_ALLOC_OVERFLOW_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "notfree/alloc.h"

/* One answer: p for a request of n bytes (need: the bytes it must hold)
 * aligned to align. */
static void overflow_check(const nf_allocator *a, nf_heap *h, const char *call, void *p, size_t align, size_t n,
                           size_t need, int err)
{
    bool pow2 = align && !(align & (align - 1));
    if (!p) {
        int want = pow2 ? ENOMEM : EINVAL;
        REQUIREF(err == want, "%s(align %#zx, n %#zx): NULL with errno %d, wanted %d", call, align, n, err, want);
        REQUIREF(need >= ((size_t)1 << 31) || align >= ((size_t)1 << 31) || !pow2,
                 "%s(align %#zx, n %#zx): NULL for a request under 2 GiB", call, align, n);
        return;
    }
    REQUIREF(pow2, "%s(align %#zx): a block for an alignment that is no power of two", call, align);
    REQUIREF((uintptr_t)p % (align < 16 ? 16 : align) == 0, "%s(align %#zx, n %#zx): %p misaligned", call, align, n, p);
    REQUIREF(a->usable_size(h, p) >= need, "%s(align %#zx, n %#zx): usable %zu", call, align, n, a->usable_size(h, p));
    if (need) {
        ((volatile char *)p)[0] = 1;
        ((volatile char *)p)[need - 1] = 1;
    }
    a->free(h, p);
}

/* Legal but huge (2 GiB to 256 TiB): a real mapping, whose poisoning
 * under a sanitizer writes a shadow byte per 8 bytes (minutes); sanitized
 * builds keep the requests that must fail, near 2^62, 2^63 and SIZE_MAX. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static bool overflow_skip(size_t align, size_t n)
{
    size_t lo = (size_t)1 << 31, hi = (size_t)1 << 48;
    return (n >= lo && n < hi) || (align >= lo && align < hi);
}
#else
static bool overflow_skip(size_t align, size_t n)
{
    (void)align;
    (void)n;
    return false;
}
#endif

static void overflow_sweep(const nf_allocator *a, nf_heap *h)
{
    static const size_t bases[] = {0, (size_t)1 << 32, (size_t)1 << 62, (size_t)1 << 63, SIZE_MAX};
    size_t sizes[64];
    int ns = 0;
    for (int b = 0; b < 5; b++)
        for (int d = -3; d <= 3; d++)
            if (!(b == 0 && d < 0) && !(b == 4 && d > 0))
                sizes[ns++] = bases[b] + (size_t)(ptrdiff_t)d;
    for (int k = 0; k < 64; k += 9)
        sizes[ns++] = SIZE_MAX - ((size_t)1 << k) + 1;
    size_t aligns[80];
    int na = 0;
    for (int k = 0; k < 64; k++)
        aligns[na++] = (size_t)1 << k;
    static const size_t odd[] = {0, 3, 24, 48, 4097, ((size_t)1 << 62) + 5, ((size_t)1 << 63) + 1, SIZE_MAX};
    for (unsigned i = 0; i < sizeof odd / sizeof *odd; i++)
        aligns[na++] = odd[i];
    for (int i = 0; i < ns; i++) {
        size_t n = sizes[i];
        if (overflow_skip(16, n))
            continue;
        errno = 0;
        void *p = a->malloc(h, n);
        overflow_check(a, h, "malloc", p, 16, n, n, errno);
        errno = 0;
        p = a->calloc(h, 1, n);
        overflow_check(a, h, "calloc", p, 16, n, n, errno);
        size_t twice;
        errno = 0;
        p = a->calloc(h, n, 2);
        overflow_check(a, h, "calloc(n, 2)", p, 16, n, __builtin_mul_overflow(n, 2, &twice) ? SIZE_MAX : twice, errno);
        if (n) { /* realloc to 0 frees */
            void *q = a->malloc(h, 24);
            REQUIRE(q);
            errno = 0;
            p = a->realloc(h, q, n);
            overflow_check(a, h, "realloc", p, 16, n, n, errno);
            if (!p)
                a->free(h, q); /* a failed realloc leaves the block */
        }
    }
    for (int j = 0; j < na; j++) {
        size_t al = aligns[j];
        size_t near[8];
        for (int d = 0; d < 8; d++) /* SIZE_MAX - alignment + small */
            near[d] = SIZE_MAX - al + (size_t)d - 3;
        for (int i = 0; i < ns + 8; i++) {
            size_t n = i < ns ? sizes[i] : near[i - ns];
            if (overflow_skip(al, n))
                continue;
            errno = 0;
            void *p = a->memalign(h, al, n);
            overflow_check(a, h, "memalign", p, al, n, n, errno);
        }
    }
}

#endif
