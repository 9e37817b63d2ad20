/* malloc.c: the malloc paths in glibc's order: tcache (in the interface's
 * fast path), fastbin, small bin, unsorted (sorting as it goes), large bin
 * best fit, the next larger bin (binmap), top, then sysmalloc (grow or
 * direct map). And aligned allocation. */
#include <errno.h>
#include <pthread.h>

#include "bins.h"

/* Take nb bytes off the front of free chunk v (already unlinked); the
 * remainder, if big enough to be a chunk, goes to the unsorted bin. */
static void split_locked(bins_arena *ar, bins_chunk *v, size_t nb, bool small)
{
    size_t sz = csize(v), rsz = sz - nb, arena_bit = ar->is_main ? 0 : NON_MAIN_ARENA;
    if (rsz < BINS_MINSIZE) {
        set_inuse_at(v, sz);
        return;
    }
    bins_chunk *r = chunk_at(v, nb);
    set_head(v, nb | PREV_INUSE | arena_bit);
    set_head(r, rsz | PREV_INUSE | arena_bit);
    set_foot(r, rsz);
    bins_to_unsorted_locked(ar, r);
    if (small)
        ar->last_remainder = r;
}

static void *from_fastbin_locked(bins_arena *ar, bins_tcache *tc, size_t nb)
{
    size_t i = fastbin_index(nb);
    bins_chunk *v = ar->fastbins[i];
    if (!v)
        return NULL;
    if ((uintptr_t)v % BINS_ALIGN)
        bins_die("malloc(): unaligned fastbin chunk detected at", v);
    ar->fastbins[i] = REVEAL_PTR(v->fd);
    if (fastbin_index(csize(v)) != i)
        bins_die("malloc(): memory corruption (fast) at", chunk2mem(v));
    if (tc) { /* stash the rest of this size in the tcache, as glibc does */
        size_t ti = tc_idx(nb);
        bins_chunk *c;
        while (tc->counts[ti] < BINS_TCACHE_COUNT && (c = ar->fastbins[i]) != NULL) {
            if ((uintptr_t)c % BINS_ALIGN)
                bins_die("malloc(): unaligned fastbin chunk detected at", c);
            ar->fastbins[i] = REVEAL_PTR(c->fd);
            bins_tcache_put(ar->heap, tc, c, ti);
        }
    }
    bins_arena_count(ar, BINS_PATH_FASTBIN);
    return chunk2mem(v);
}

static void *from_smallbin_locked(bins_arena *ar, bins_tcache *tc, size_t nb)
{
    bins_chunk *bin = &ar->bins[nb >> 4], *v = bin->bk;
    if (v == bin)
        return NULL;
    bins_unlink_locked(ar, v);
    set_inuse_at(v, nb);
    if (tc) {
        size_t ti = tc_idx(nb);
        bins_chunk *c;
        while (ti < BINS_TCACHE_BINS && tc->counts[ti] < BINS_TCACHE_COUNT && (c = bin->bk) != bin) {
            bins_unlink_locked(ar, c);
            set_inuse_at(c, nb);
            bins_tcache_put(ar->heap, tc, c, ti);
        }
    }
    bins_arena_count(ar, BINS_PATH_SMALLBIN);
    return chunk2mem(v);
}

/* Sort the unsorted bin into the small and large bins, returning an exact
 * fit (or a split of the last remainder for a small request) on the way. */
static void *sort_unsorted_locked(bins_arena *ar, size_t nb)
{
    bins_chunk *uns = &ar->bins[1], *v;
    size_t arena_bit = ar->is_main ? 0 : NON_MAIN_ARENA;
    for (int iters = 0; (v = uns->bk) != uns && iters < BINS_UNSORTED_MAX_ITERS; iters++) {
        size_t sz = csize(v);
        if (sz < BINS_MINSIZE || next_chunk(v)->prev_size != sz)
            bins_die("malloc(): invalid size (unsorted) at", chunk2mem(v));
        if (v->bk->fd != v)
            bins_die("malloc(): corrupted unsorted chunks at", chunk2mem(v));
        if (nb < BINS_MIN_LARGE_SIZE && v->bk == uns && v == ar->last_remainder && sz > nb + BINS_MINSIZE) {
            bins_chunk *r = chunk_at(v, nb);
            size_t rsz = sz - nb;
            uns->fd = uns->bk = r;
            r->fd = r->bk = uns;
            ar->last_remainder = r;
            set_head(v, nb | PREV_INUSE | arena_bit);
            set_head(r, rsz | PREV_INUSE | arena_bit);
            set_foot(r, rsz);
            bins_arena_count(ar, BINS_PATH_UNSORTED);
            return chunk2mem(v);
        }
        uns->bk = v->bk;
        v->bk->fd = uns;
        if (sz == nb) {
            set_inuse_at(v, sz);
            bins_arena_count(ar, BINS_PATH_UNSORTED);
            return chunk2mem(v);
        }
        bins_place_locked(ar, v);
    }
    return NULL;
}

/* Best fit inside the large request's own bin (sorted, smallest at bk).
 * Of several chunks of the best size glibc takes the second (the one
 * placed last, bins_place_locked), so that its skip list keeps its head. */
static void *from_largebin_locked(bins_arena *ar, size_t nb)
{
    bins_chunk *bin = &ar->bins[bins_index(nb)], *v = bin->bk;
    if (bin->fd == bin || csize(bin->fd) < nb)
        return NULL;
    while (csize(v) < nb)
        v = v->bk;
    size_t best = csize(v);
    while (v->bk != bin && csize(v->bk) == best)
        v = v->bk;
    if (v->fd != bin && csize(v->fd) == best)
        v = v->fd;
    bins_unlink_locked(ar, v);
    split_locked(ar, v, nb, false);
    bins_arena_count(ar, BINS_PATH_LARGEBIN);
    return chunk2mem(v);
}

/* The smallest chunk of the next non-empty bin above nb's, by binmap. */
static void *from_binmap_locked(bins_arena *ar, size_t nb)
{
    size_t i = bins_index(nb) + 1;
    while (i < BINS_NBINS) {
        uint32_t word = ar->binmap[i / 32] >> (i % 32);
        if (!word) {
            i = (i / 32 + 1) * 32;
            continue;
        }
        i += (size_t)__builtin_ctz(word);
        bins_chunk *bin = &ar->bins[i], *v = bin->bk;
        if (v == bin) {
            binmap_unmark(ar, i);
            i++;
            continue;
        }
        bins_unlink_locked(ar, v);
        split_locked(ar, v, nb, nb < BINS_MIN_LARGE_SIZE);
        bins_arena_count(ar, i < BINS_NSMALLBINS ? BINS_PATH_SMALLBIN : BINS_PATH_LARGEBIN);
        return chunk2mem(v);
    }
    return NULL;
}

static void *from_top_locked(bins_arena *ar, size_t nb)
{
    bins_chunk *v = ar->top;
    size_t sz = csize(v), arena_bit = ar->is_main ? 0 : NON_MAIN_ARENA;
    if (sz < nb + BINS_MINSIZE)
        return NULL;
    bins_chunk *r = chunk_at(v, nb);
    set_head(r, (sz - nb) | PREV_INUSE | arena_bit);
    set_head(v, nb | PREV_INUSE | arena_bit);
    ar->top = r;
    bins_arena_count(ar, BINS_PATH_TOP);
    return chunk2mem(v);
}

void *bins_int_malloc_locked(bins_arena *ar, bins_tcache *tc, size_t nb)
{
    void *p;
    if (nb <= BINS_MAX_FAST_CHUNK && (p = from_fastbin_locked(ar, tc, nb)))
        return p;
    if (nb < BINS_MIN_LARGE_SIZE) {
        if ((p = from_smallbin_locked(ar, tc, nb)))
            return p;
    } else if (ar->have_fastchunks) {
        bins_consolidate_locked(ar);
    }
    for (;;) {
        if ((p = sort_unsorted_locked(ar, nb)))
            return p;
        if (nb >= BINS_MIN_LARGE_SIZE && (p = from_largebin_locked(ar, nb)))
            return p;
        if ((p = from_binmap_locked(ar, nb)))
            return p;
        if ((p = from_top_locked(ar, nb)))
            return p;
        if (!ar->have_fastchunks)
            break;
        bins_consolidate_locked(ar);
    }
    /* sysmalloc: a direct map at or above the threshold, else grow top */
    bins_heap *h = ar->heap;
    if (nb >= __atomic_load_n(&h->mmap_threshold, __ATOMIC_RELAXED) && (p = bins_direct_map(h, nb)) != NULL) {
        bins_arena_count(ar, BINS_PATH_MMAP);
        return p;
    }
    if (bins_grow_top_locked(ar, nb))
        return from_top_locked(ar, nb);
    if ((p = bins_direct_map(h, nb)) != NULL) { /* glibc's fallback when the heap cannot grow */
        bins_arena_count(ar, BINS_PATH_MMAP);
        return p;
    }
    return NULL;
}

__attribute__((noinline)) void *bins_malloc_slow(bins_heap *h, bins_tcache *tc, size_t nb)
{
    bins_arena *ar = tc ? tc->ar : bins_thread_arena(h);
    void *p = NULL;
    bins_lock_take(&ar->lock);
    p = bins_int_malloc_locked(ar, tc, nb);
    bins_lock_give(&ar->lock);
    if (!p && ar != &h->main) { /* glibc's arena_get_retry: try the main arena */
        bins_lock_take(&h->main.lock);
        p = bins_int_malloc_locked(&h->main, NULL, nb);
        bins_lock_give(&h->main.lock);
    }
    return p;
}

void *bins_malloc_inner(bins_heap *h, bins_tcache *tc, size_t nb)
{
    void *e;
    if (tc && (e = bins_tcache_pop(tc, nb)) != NULL)
        return e;
    return bins_malloc_slow(h, tc, nb);
}

/* glibc's _int_memalign: over-allocate, free the misaligned front and the
 * unused tail. Direct maps keep their front as part of the mapping. */
void *bins_int_memalign(bins_heap *h, bins_tcache *tc, size_t align, size_t nb)
{
    if (nb > SIZE_MAX / 2 - align - BINS_MINSIZE)
        return NULL;
    char *m = bins_malloc_inner(h, tc, nb + align + BINS_MINSIZE);
    if (!m)
        return NULL;
    bins_chunk *c = mem2chunk(m);
    if (chunk_head(c) & IS_MMAPPED) {
        if ((uintptr_t)m % align == 0)
            return m;
        uintptr_t am = ((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1);
        bins_chunk *nc = mem2chunk((void *)am);
        size_t lead = (uintptr_t)nc - (uintptr_t)c;
        nc->prev_size = c->prev_size + lead;
        set_head(nc, (csize(c) - lead) | IS_MMAPPED);
        *(uint64_t *)((char *)nc - BINS_MMAP_PREFIX) = h->secret ^ (uintptr_t)nc;
        bins_direct_moved(h, c, nc);
        return (void *)am;
    }
    /* the headers touched below are shared with neighbours: under the lock */
    bins_arena *ar = bins_arena_of(h, c);
    size_t arena_bit = chunk_head(c) & NON_MAIN_ARENA;
    bins_lock_take(&ar->lock);
    if ((uintptr_t)m % align) {
        uintptr_t am = ((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1);
        if (am - (uintptr_t)m < BINS_MINSIZE)
            am += align;
        bins_chunk *nc = mem2chunk((void *)am);
        size_t lead = (uintptr_t)nc - (uintptr_t)c, nsz = csize(c) - lead;
        set_head(nc, nsz | PREV_INUSE | arena_bit);
        set_head(c, lead | (chunk_head(c) & PREV_INUSE) | arena_bit);
        bins_free_chunk_locked(ar, c);
        c = nc;
    }
    size_t sz = csize(c);
    if (sz >= nb + BINS_MINSIZE) {
        bins_chunk *r = chunk_at(c, nb);
        set_head(r, (sz - nb) | PREV_INUSE | arena_bit);
        set_head(c, nb | (chunk_head(c) & PREV_INUSE) | arena_bit);
        bins_free_chunk_locked(ar, r);
    }
    bins_lock_give(&ar->lock);
    return chunk2mem(c);
}
