/* mem.h: one face for the two ways the dropin tests reach an allocator.
 *
 *   linked  through the nf_allocator interface, on a heap of its own
 *           (mem_linked(name)), for every allocator in the registry;
 *   libc    through the plain C names (mem_libc()), which are ours when the
 *           program runs under LD_PRELOAD=libnotfree-<name>.so.
 *
 * Also: the pattern every stress and conformance block carries, so that a
 * corrupted byte is caught when the block is checked or freed.
 */
#ifndef NF_TEST_DROPIN_MEM_H
#define NF_TEST_DROPIN_MEM_H

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notfree/alloc.h"

typedef struct mem {
    const char *name;      /* allocator name, or "libc" */
    const nf_allocator *a; /* NULL for libc */
    nf_heap *h;
} mem;

static inline int mem_linked(mem *m, const char *name)
{
    m->name = name;
    m->a = nf_allocator_find(name);
    if (!m->a)
        return -1;
    m->h = m->a->create(NULL);
    return m->h ? 0 : -1;
}

static inline void mem_libc(mem *m)
{
    m->name = "libc";
    m->a = NULL;
    m->h = NULL;
}

static inline void mem_close(mem *m)
{
    if (m->a && m->h)
        m->a->destroy(m->h);
    m->h = NULL;
}

static inline void *mem_malloc(mem *m, size_t n) { return m->a ? m->a->malloc(m->h, n) : malloc(n); }
static inline void mem_free(mem *m, void *p)
{
    if (m->a)
        m->a->free(m->h, p);
    else
        free(p);
}
static inline void *mem_calloc(mem *m, size_t n, size_t s) { return m->a ? m->a->calloc(m->h, n, s) : calloc(n, s); }
static inline void *mem_realloc(mem *m, void *p, size_t n) { return m->a ? m->a->realloc(m->h, p, n) : realloc(p, n); }
static inline size_t mem_usable(mem *m, void *p) { return m->a ? m->a->usable_size(m->h, p) : malloc_usable_size(p); }
/* Alignment a power of two; NULL with errno otherwise. */
static inline void *mem_memalign(mem *m, size_t align, size_t n)
{
    if (m->a)
        return m->a->memalign(m->h, align, n);
    void *p = NULL;
    int rc = posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n);
    if (rc) {
        errno = rc;
        return NULL;
    }
    return p;
}

/* A value the compiler cannot see through (for impossible sizes). */
static inline size_t opaque(size_t x)
{
    __asm__("" : "+r"(x));
    return x;
}

/* ---- block patterns ---- */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Fill n bytes with a pattern derived from seed (every byte for n up to
 * full, else the first and last 64 bytes and one word per 4 KiB). */
static inline void pat_fill(void *p, size_t n, uint64_t seed, size_t full)
{
    unsigned char *b = p;
    if (n <= full) {
        for (size_t i = 0; i < n; i++)
            b[i] = (unsigned char)mix64(seed + i);
        return;
    }
    for (size_t i = 0; i < 64; i++) {
        b[i] = (unsigned char)mix64(seed + i);
        b[n - 1 - i] = (unsigned char)mix64(seed + n - 1 - i);
    }
    for (size_t i = 4096; i < n - 64; i += 4096)
        b[i] = (unsigned char)mix64(seed + i);
}

/* 0 when the pattern is intact, else the offset + 1 of the first bad byte. */
static inline size_t pat_check(const void *p, size_t n, uint64_t seed, size_t full)
{
    const unsigned char *b = p;
    if (n <= full) {
        for (size_t i = 0; i < n; i++)
            if (b[i] != (unsigned char)mix64(seed + i))
                return i + 1;
        return 0;
    }
    for (size_t i = 0; i < 64; i++) {
        if (b[i] != (unsigned char)mix64(seed + i))
            return i + 1;
        if (b[n - 1 - i] != (unsigned char)mix64(seed + n - 1 - i))
            return n - i;
    }
    for (size_t i = 4096; i < n - 64; i += 4096)
        if (b[i] != (unsigned char)mix64(seed + i))
            return i + 1;
    return 0;
}

#endif
