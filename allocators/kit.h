/* allocators/kit.h: what every allocator of ours does the same way: heap
 * keys, peak tracking, the tail of the statistics and the identify line.
 * Internal to allocators/. Nothing here allocates or takes a lock. */
#ifndef NOTFREE_ALLOCATORS_KIT_H
#define NOTFREE_ALLOCATORS_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "notfree/alloc.h"

/* 64 random bits from getrandom(2), or, when it would block (early boot)
 * or fails, from the monotonic clock mixed with salt (any address that
 * differs between heaps). Raw: each caller applies the mask its use needs
 * and says why. */
uint64_t nf_kit_random64(const void *salt);

/* Raise *peak to now unless it is already higher; several threads may
 * race, the highest wins. Inline: it sits on the live-byte fold of every
 * allocator, which must cost what the open-coded loop cost. */
static inline void nf_kit_peak_u64(uint64_t *peak, uint64_t now)
{
    uint64_t old = __atomic_load_n(peak, __ATOMIC_RELAXED);
    while (now > old && !__atomic_compare_exchange_n(peak, &old, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static inline void nf_kit_peak_i64(int64_t *peak, int64_t now)
{
    int64_t old = __atomic_load_n(peak, __ATOMIC_RELAXED);
    while (now > old && !__atomic_compare_exchange_n(peak, &old, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* A relaxed load of a counter other threads bump: stats read it racily. */
static inline uint64_t nf_kit_rl(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

/* The opening of every stats call of ours: out cleared, every figure
 * available, and paths[0..n) loaded from the heap's own counters (those
 * of exited threads, or of no thread), to which the caller adds its
 * threads' and arenas'. */
static inline void nf_kit_stats_open(nf_alloc_stats *out, uint64_t *paths, const uint64_t *heap_paths, size_t n)
{
    memset(out, 0, sizeof *out);
    out->available = NF_STAT_LIVE | NF_STAT_HELD | NF_STAT_MAPPED | NF_STAT_PAGE_CALLS | NF_STAT_CALLS | NF_STAT_PATHS;
    out->unavailable_reason = "";
    for (size_t p = 0; p < n; p++)
        paths[p] = nf_kit_rl(&heap_paths[p]);
}

/* The counters every allocator of ours keeps in its heap, read for stats. */
typedef struct nf_kit_counts {
    int64_t live;             /* summed over the heap and its threads (may be < 0 transiently) */
    const int64_t *peak_live; /* the heap's peak_live */
    const uint64_t *mapped, *peak_mapped;
    nf_pages *ps;             /* the heap's page source */
    const char *const *names; /* path names, npaths of them */
    const uint64_t *paths;    /* path counts, summed */
    size_t npaths;
} nf_kit_counts;

/* Fills live, peak_live, mapped, peak_mapped, page_calls and the paths of
 * out from c. A peak below the live sum (threads not yet folded) is
 * reported as the live sum. held_bytes, the calls and `available` stay
 * the caller's. */
void nf_kit_stats_fill(nf_alloc_stats *out, const nf_kit_counts *c);

/* A heap's own struct of size bytes, rounded up to pages and mapped from
 * ps; with ps NULL from a real page source of its own (mode), which is
 * then kept inside the struct, own_off bytes in, so that it lives as long
 * as the heap. Sets *ps_out to the page source the heap uses from then on
 * and *self_size to the bytes mapped. NULL when the map fails. */
void *nf_kit_heap_map(nf_pages *ps, nf_brk_mode mode, size_t size, size_t own_off, nf_pages **ps_out,
                      size_t *self_size);
/* Gives back a struct from nf_kit_heap_map: ps is the heap's page source,
 * own where its own page source sits (released too when ps is it). */
void nf_kit_heap_unmap(void *h, nf_pages *ps, nf_pages *own, size_t self_size);

/* Copies s into buf (len > 0), cut to fit, and returns buf: identify. */
const char *nf_kit_identify(const char *s, char *buf, size_t len);

#endif
