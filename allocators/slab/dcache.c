/* dcache.c: the cache of freed direct maps, so that a program that frees
 * and allocates large blocks over and over reuses pages it already faulted
 * in (a fault costs 10-40 us a page on a guest; writing a resident page
 * about 0.1 us) instead of unmapping them and faulting fresh ones. glibc
 * gets the same from raising its mmap threshold once a mapped block is
 * freed: later ones come from its heap and are reused.
 *
 * Glossary
 *   piece    a page-aligned range of freed direct maps, kept mapped with its
 *            pages resident. Pieces that touch are merged on the way in; a
 *            request takes the smallest piece it fits and leaves the rest
 *            there when the rest is at least SLAB_DIRECT_SPLIT_MIN.
 *   budget   the bytes the pieces may hold: a share (1/SLAB_DIRECT_CACHE_DIV)
 *            of the recent peak of live direct-map bytes, that peak halving
 *            every SLAB_DIRECT_DECAY_S seconds, never below
 *            SLAB_DIRECT_CACHE_MIN. Past it, the oldest pieces are unmapped
 *            (the last one in part).
 *            So a program that stops using large blocks gets its memory
 *            back at its next large call once the peak has decayed, or at
 *            trim; one that keeps a steady set keeps its budget.
 *
 * Everything here runs under the heap's direct_lock. */
#include <string.h>

#include "notfree/clock.h"
#include "slab.h"

/* The budget now: decay the peak by the time since the last call, raise it
 * to the live bytes. */
static size_t budget_locked(slab_heap *h)
{
    double now = nf_now_s();
    double peak = slab_decay(h->dpeak, now - h->dpeak_at, SLAB_DIRECT_DECAY_S);
    h->dpeak_at = now;
    if (peak < (double)h->dlive_bytes)
        peak = (double)h->dlive_bytes;
    h->dpeak = peak;
    size_t b = (size_t)(peak / SLAB_DIRECT_CACHE_DIV);
    return b > SLAB_DIRECT_CACHE_MIN ? b : SLAB_DIRECT_CACHE_MIN;
}

static void piece_unmap_locked(slab_heap *h, int i)
{
    slab_unpoison((void *)h->dcache[i].base, h->dcache[i].len);
    nf_pages_unmap(h->ps, (void *)h->dcache[i].base, h->dcache[i].len);
    slab_mapped_add(h, -(int64_t)h->dcache[i].len);
    h->dcache_bytes -= h->dcache[i].len;
    h->dcache[i].len = 0;
}

static int oldest_locked(slab_heap *h)
{
    int old = -1;
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++)
        if (h->dcache[i].len && (old < 0 || h->dcache[i].seq < h->dcache[old].seq))
            old = i;
    return old;
}

/* Unmap from the oldest pieces until the cache holds at most its budget:
 * whole pieces, and the tail of the last one (pieces that touch are
 * merged, so one piece may hold most of the cache). */
static bool fit_budget_locked(slab_heap *h)
{
    size_t budget = budget_locked(h);
    bool released = false;
    int i;
    while (h->dcache_bytes > budget && (i = oldest_locked(h)) >= 0) {
        size_t excess = (h->dcache_bytes - budget + h->page - 1) & ~(h->page - 1);
        if (excess < h->dcache[i].len) {
            uintptr_t cut = h->dcache[i].base + h->dcache[i].len - excess;
            slab_unpoison((void *)cut, excess);
            nf_pages_unmap(h->ps, (void *)cut, excess);
            slab_mapped_add(h, -(int64_t)excess);
            h->dcache[i].len -= excess;
            h->dcache_bytes -= excess;
        } else {
            piece_unmap_locked(h, i);
        }
        released = true;
    }
    return released;
}

bool slab_dcache_take_locked(slab_heap *h, size_t need, uintptr_t *base, size_t *len)
{
    int best = -1;
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++) {
        size_t l = h->dcache[i].len;
        if (l >= need && (best < 0 || l < h->dcache[best].len))
            best = i;
    }
    if (best < 0) {
        fit_budget_locked(h); /* the peak decays with time, calls or not */
        return false;
    }
    *base = h->dcache[best].base;
    size_t l = h->dcache[best].len;
    if (l - need >= SLAB_DIRECT_SPLIT_MIN) { /* the front goes out, the rest stays */
        h->dcache[best].base += need;
        h->dcache[best].len = l - need;
        l = need;
    } else {
        h->dcache[best].len = 0;
    }
    h->dcache_bytes -= l;
    *len = l;
    return true;
}

void slab_dcache_put_locked(slab_heap *h, uintptr_t base, size_t len)
{
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++) { /* merge with the pieces it touches */
        size_t l = h->dcache[i].len;
        if (!l)
            continue;
        if (h->dcache[i].base + l == base || base + len == h->dcache[i].base) {
            if (h->dcache[i].base < base)
                base = h->dcache[i].base;
            len += l;
            h->dcache_bytes -= l;
            h->dcache[i].len = 0;
        }
    }
    int slot = -1;
    for (int i = 0; i < SLAB_DIRECT_CACHE && slot < 0; i++)
        if (!h->dcache[i].len)
            slot = i;
    if (slot < 0) {
        slot = oldest_locked(h);
        piece_unmap_locked(h, slot);
    }
    slab_poison((void *)base, len);
    h->dcache[slot].base = base;
    h->dcache[slot].len = len;
    h->dcache[slot].seq = ++h->dcache_seq;
    h->dcache_bytes += len;
    fit_budget_locked(h);
}

int slab_dcache_release_locked(slab_heap *h)
{
    int released = 0;
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++) {
        if (h->dcache[i].len) {
            piece_unmap_locked(h, i);
            released = 1;
        }
    }
    return released;
}
