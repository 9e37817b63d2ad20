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
 *   budget   the bytes the pieces may hold: what the live direct bytes are
 *            below their recent peak (the highest over the current and the
 *            previous SLAB_DIRECT_WINDOW_S window), at least
 *            SLAB_DIRECT_CACHE_MIN. A free moves bytes from live to the
 *            cache, so a program whose use stays under its peak keeps every
 *            piece whole (cutting them to a smaller budget was 250,000
 *            munmap and as many refaults per million calls of `large`).
 *            Past the budget, once the peak has fallen, the oldest pieces
 *            are unmapped (the last one in part): a program that stops
 *            using large blocks gets its memory back at its next large call
 *            two windows later, or at trim.
 *   gather   no piece fits: the largest are moved side by side into one
 *            new range with the page source's remap (mremap: the page
 *            tables move, no byte is copied or faulted), only what they
 *            lack faulted fresh; realloc grows a block the same way, with
 *            pieces moved in behind it.
 *
 * Everything _locked runs under the heap's direct_lock. */
#include <errno.h>
#include <string.h>

#include "notfree/clock.h"
#include "slab.h"

/* The recent peak of live direct bytes: the windows rolled to now. */
static size_t peak_locked(slab_heap *h)
{
    double now = nf_now_s();
    if (now - h->dwin_at >= SLAB_DIRECT_WINDOW_S) {
        h->dmax_prev = now - h->dwin_at >= 2 * SLAB_DIRECT_WINDOW_S ? h->dlive_bytes : h->dmax_cur;
        h->dmax_cur = h->dlive_bytes;
        h->dwin_at = now;
    }
    return h->dmax_prev > h->dmax_cur ? h->dmax_prev : h->dmax_cur;
}

void slab_dlive_add_locked(slab_heap *h, int64_t delta)
{
    h->dlive_bytes = (size_t)((int64_t)h->dlive_bytes + delta);
    peak_locked(h);
    if (h->dlive_bytes > h->dmax_cur)
        h->dmax_cur = h->dlive_bytes;
}

static size_t budget_locked(slab_heap *h)
{
    size_t peak = peak_locked(h);
    size_t b = peak > h->dlive_bytes ? peak - h->dlive_bytes : 0;
    return b > SLAB_DIRECT_CACHE_MIN ? b : SLAB_DIRECT_CACHE_MIN;
}

static void unmap_range(slab_heap *h, uintptr_t base, size_t len)
{
    slab_unpoison((void *)base, len);
    nf_pages_unmap(h->ps, (void *)base, len);
    slab_mapped_add(h, -(int64_t)len);
}

static void piece_unmap_locked(slab_heap *h, int i)
{
    unmap_range(h, h->dcache[i].base, h->dcache[i].len);
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
 * whole pieces, and the tail of the last one. */
static void fit_budget_locked(slab_heap *h)
{
    size_t budget = budget_locked(h);
    int i;
    while (h->dcache_bytes > budget && (i = oldest_locked(h)) >= 0) {
        size_t excess = (h->dcache_bytes - budget + h->page - 1) & ~(h->page - 1);
        if (excess < h->dcache[i].len) {
            h->dcache[i].len -= excess;
            h->dcache_bytes -= excess;
            unmap_range(h, h->dcache[i].base + h->dcache[i].len, excess);
        } else {
            piece_unmap_locked(h, i);
        }
    }
}

/* need bytes off the front of piece i (the rest stays when it is at least
 * min, else the whole piece goes: less than need when it is smaller);
 * *len: what was taken. */
static uintptr_t cut_front_locked(slab_heap *h, int i, size_t need, size_t min, size_t *len)
{
    uintptr_t base = h->dcache[i].base;
    size_t l = h->dcache[i].len;
    if (l > need && l - need >= min) {
        h->dcache[i].base += need;
        h->dcache[i].len = l - need;
        l = need;
    } else {
        h->dcache[i].len = 0;
    }
    h->dcache_bytes -= l;
    *len = l;
    slab_unpoison((void *)base, l);
    return base;
}

static int smallest_fit_locked(slab_heap *h, size_t need)
{
    int best = -1;
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++) {
        size_t l = h->dcache[i].len;
        if (l >= need && (best < 0 || l < h->dcache[best].len))
            best = i;
    }
    return best;
}

bool slab_dcache_take_locked(slab_heap *h, size_t need, uintptr_t *base, size_t *len)
{
    fit_budget_locked(h); /* the peak falls with time, frees or not */
    int best = smallest_fit_locked(h, need);
    if (best < 0)
        return false;
    *base = cut_front_locked(h, best, need, SLAB_DIRECT_SPLIT_MIN, len);
    return true;
}

bool slab_dcache_fits_locked(slab_heap *h, size_t need) { return smallest_fit_locked(h, need) >= 0; }

bool slab_dcache_extend_locked(slab_heap *h, uintptr_t at, size_t need)
{
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++) {
        if (h->dcache[i].len >= need && h->dcache[i].base == at) {
            size_t l;
            cut_front_locked(h, i, need, 1, &l); /* exactly need: the block ends where it says */
            return true;
        }
    }
    return false;
}

void slab_dcache_put_locked(slab_heap *h, uintptr_t base, size_t len)
{
    if (len > SLAB_DIRECT_PIECE_MAX) { /* its pages may never have been touched */
        unmap_range(h, base, len);
        return;
    }
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
    slab_poison((void *)base, len);
    int slot = -1;
    for (int i = 0; i < SLAB_DIRECT_CACHE; i++) /* a free slot, else the smallest piece's */
        if (slot < 0 || !h->dcache[i].len || (h->dcache[slot].len && h->dcache[i].len < h->dcache[slot].len))
            slot = i;
    if (h->dcache[slot].len) {
        if (h->dcache[slot].len > len) { /* the new one is the smallest: it goes */
            unmap_range(h, base, len);
            return;
        }
        piece_unmap_locked(h, slot);
    }
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

/* Off the cache for need bytes: the smallest piece that holds them (its
 * front), else the largest pieces until they do (the front of the last).
 * Returns how many (in out), *sum their bytes (at most need). */
static int pick_locked(slab_heap *h, size_t need, slab_piece *out, size_t *sum)
{
    int n = 0, fit = smallest_fit_locked(h, need);
    for (*sum = 0; *sum < need; n++) {
        int b = fit;
        for (int j = 0; fit < 0 && j < SLAB_DIRECT_CACHE; j++)
            if (h->dcache[j].len && (b < 0 || h->dcache[j].len > h->dcache[b].len))
                b = j;
        if (b < 0)
            break;
        out[n].base = cut_front_locked(h, b, need - *sum, 1, &out[n].len);
        *sum += out[n].len;
    }
    return n;
}

/* nf_pages_move (pages.h); false: nothing moved. */
static bool move_pages(slab_heap *h, uintptr_t src, size_t len, uintptr_t dst)
{
    int r = nf_pages_move(h->ps, (void *)src, len, (void *)dst);
    if (r == -2)
        slab_die("realloc of", (void *)src, "pages moved for a large block could not be put back");
    return r == 0;
}

/* A range of len bytes at a new place: first (when not 0: a live block of
 * flen bytes, flen < len) moved to its start, then cached pieces moved in
 * behind, then fresh (zero) pages for what they lack. Returns its base,
 * *got = len and *moved the bytes before the fresh ones; or 0, nothing
 * changed (first where it was); or, when first moved but the rest could
 * not be opened, its base and *got = flen. */
uintptr_t slab_dcache_gather(slab_heap *h, uintptr_t first, size_t flen, size_t len, size_t *got, size_t *moved)
{
    if (!nf_pages_can_remap(h->ps))
        return 0;
    uintptr_t dst = (uintptr_t)nf_pages_map(h->ps, len, NF_MAP_NOACCESS);
    if (!dst)
        return 0;
    slab_unpoison((void *)dst, len);
    size_t at = 0;
    if (first) {
        if (!move_pages(h, first, flen, dst)) {
            nf_pages_unmap(h->ps, (void *)dst, len);
            return 0;
        }
        at = flen;
    }
    slab_piece pc[SLAB_DIRECT_CACHE];
    size_t sum;
    pthread_mutex_lock(&h->direct_lock);
    int n = pick_locked(h, len - at, pc, &sum);
    pthread_mutex_unlock(&h->direct_lock);
    int i = 0;
    for (; i < n && move_pages(h, pc[i].base, pc[i].len, dst + at); i++)
        at += pc[i].len;
    if (i < n) { /* a remap failed: the rest back to the cache */
        pthread_mutex_lock(&h->direct_lock);
        for (; i < n; i++)
            slab_dcache_put_locked(h, pc[i].base, pc[i].len);
        pthread_mutex_unlock(&h->direct_lock);
    }
    if (at < len && nf_pages_protect(h->ps, (void *)(dst + at), len - at, NF_PROT_READ | NF_PROT_WRITE) != 0) {
        size_t keep = first ? flen : 0; /* the pieces moved in go with the reservation */
        slab_mapped_add(h, -(int64_t)(at - keep));
        nf_pages_unmap(h->ps, (void *)(dst + keep), len - keep);
        *got = keep;
        return keep ? dst : 0;
    }
    slab_mapped_add(h, (int64_t)(len - at));
    *got = len;
    *moved = at;
    return dst;
}
