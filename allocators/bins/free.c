/* free.c: the free path (tcache, fastbin, coalescing into bins or top,
 * direct unmap), the checks that catch misuse, and the abort that names
 * the allocator. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "bins.h"
#include "../misuse.h"

/* Misuse: the report every allocator of ours gives (misuse.h). */
_Noreturn void bins_die(const char *what, const void *p) { nf_alloc_die("bins", what, p, NULL); }

_Noreturn void bins_die_why(const char *what, const void *p, const char *why) { nf_alloc_die("bins", what, p, why); }

bins_arena *bins_arena_of(bins_heap *h, bins_chunk *c)
{
    if (chunk_head(c) & NON_MAIN_ARENA)
        return ((bins_region *)((uintptr_t)c & ~(uintptr_t)(BINS_REGION_MAX - 1)))->ar;
    return &h->main;
}

/* The direct-map part of bins_chunk_problem (bins.h): c is in no arena. */
const char *bins_direct_problem(bins_heap *h, bins_chunk *c)
{
    if (!bins_direct_owned(h, c)) /* a freed direct map leaves the table: it reads as foreign */
        return "a foreign pointer (or a freed large block)";
    const uint64_t *check = (const uint64_t *)((const char *)c - BINS_MMAP_PREFIX);
    if (*check != (h->secret ^ (uintptr_t)c) || !(chunk_head(c) & IS_MMAPPED))
        return "a corrupted direct map";
    return NULL;
}

/* A chunk whose key word holds the heap's tcache key sits in some thread's
 * tcache (the key is written when a chunk goes in and cleared whenever one
 * comes out; a live block's bytes match a random 64-bit key by chance
 * with odds of 2^-64). glibc looks only in the calling thread's tcache and
 * so misses the chunk another thread cached; its key was not random
 * before 2.34. Only tcache-sized chunks can carry the key. */
__attribute__((noinline)) void bins_check_not_cached(bins_heap *h, bins_chunk *c, const char *what)
{
    if (tc_idx(csize(c)) < BINS_TCACHE_BINS && ((bins_tentry *)chunk2mem(c))->key == h->tcache_key)
        bins_die_why(what, chunk2mem(c), "a freed block (in a thread's tcache)");
}

/* Coalesce c (in use, not mmapped) with its free neighbours and put it in
 * the unsorted bin, or into the top. Returns the chunk it became part of
 * (the top, when it joined it). */
bins_chunk *bins_free_chunk_locked(bins_arena *ar, bins_chunk *c)
{
    size_t sz = csize(c), arena_bit = chunk_head(c) & NON_MAIN_ARENA;
    bins_chunk *next = chunk_at(c, sz);
    if (!(chunk_head(c) & PREV_INUSE)) {
        size_t ps = c->prev_size;
        c = prev_chunk(c);
        if (csize(c) != ps)
            bins_die("corrupted size vs. prev_size while consolidating at", chunk2mem(c));
        sz += ps;
        bins_unlink_locked(ar, c);
    }
    if (next == ar->top) {
        sz += csize(next);
        set_head(c, sz | PREV_INUSE | arena_bit);
        ar->top = c;
        return c;
    }
    size_t nsz = csize(next);
    if (!inuse_at(next, nsz)) {
        bins_unlink_locked(ar, next);
        sz += nsz;
    } else {
        clear_inuse_at(next, 0);
    }
    set_head(c, sz | PREV_INUSE | arena_bit);
    set_foot(c, sz);
    bins_to_unsorted_locked(ar, c);
    return c;
}

/* c (checked, not mmapped) is not free in ar's bins, in its top or at the
 * head of its fastbin: what a freed chunk's neighbours tell under the lock (glibc's
 * "double free or corruption" checks, top included). Chunks deeper in a
 * fastbin and in a tcache count as in use and pass. */
bool bins_chunk_live_locked(bins_arena *ar, bins_chunk *c)
{
    size_t sz = csize(c);
    if ((uintptr_t)c - (uintptr_t)ar->top < csize(ar->top)) /* the top or inside it */
        return false;
    if (!inuse_at(c, sz))
        return false;
    return sz > BINS_MAX_FAST_CHUNK || ar->fastbins[fastbin_index(sz)] != c;
}

static bool tcache_holds(bins_tcache *tc, size_t idx, bins_tentry *e)
{
    for (bins_tentry *t = tc->entries[idx]; t; t = REVEAL_PTR(t->next)) {
        if ((uintptr_t)t % BINS_ALIGN)
            bins_die("free(): unaligned chunk detected in tcache at", t);
        if (t == e)
            return true;
    }
    return false;
}

static void free_fast_locked(bins_arena *ar, bins_chunk *c, size_t sz)
{
    bins_chunk **fb = &ar->fastbins[fastbin_index(sz)];
    c->fd = protect_ptr(&c->fd, *fb);
    *fb = c;
    ar->have_fastchunks = true;
}

/* The whole free path for a checked chunk whose user bytes are poisoned. */
void bins_free_chunk(bins_heap *h, bins_tcache *tc, bins_chunk *c)
{
    size_t sz = csize(c);
    if (chunk_head(c) & IS_MMAPPED) {
        bins_direct_unmap(h, c, true);
        bins_count(h, tc, BINS_PATH_FREE_MMAP);
        return;
    }
    size_t idx = tc_idx(sz);
    if (tc && idx < BINS_TCACHE_BINS) {
        bins_tentry *e = chunk2mem(c);
        if (__builtin_expect(e->key == h->tcache_key, 0)) {
            if (tcache_holds(tc, idx, e))
                bins_die("double free of", e);
            bins_die_why("double free of", e, "it sits in another thread's tcache");
        }
        /* A chunk that went past the tcache into its arena's bins (the
         * tcache was full, or its thread exited) has the next chunk's
         * PREV_INUSE clear: read without the lock (a relaxed load; while c
         * is in use nobody clears it). glibc misses this one. Fastbin
         * chunks count as in use: those are caught only at a fastbin's
         * head, on the locked path. */
        if (sz > BINS_MAX_FAST_CHUNK && __builtin_expect(!inuse_at(c, sz), 0))
            bins_die_why("double free of", e, "it is free in its arena");
        if (tc->counts[idx] < BINS_TCACHE_COUNT) {
            bins_tcache_put(h, tc, c, idx);
            bins_count(h, tc, BINS_PATH_FREE_TCACHE);
            return;
        }
    }
    if (!tc) /* a thread without a cache: its free has not looked at the key yet */
        bins_check_not_cached(h, c, "double free of");
    bins_arena *ar = bins_arena_of(h, c);
    bins_lock_take(&ar->lock);
    if (!bins_chunk_live_locked(ar, c))
        bins_die("double free of", chunk2mem(c));
    if (sz <= BINS_MAX_FAST_CHUNK) {
        free_fast_locked(ar, c, sz);
        bins_arena_count(ar, BINS_PATH_FREE_FASTBIN);
        bins_lock_give(&ar->lock);
        return;
    }
    bins_chunk *merged = bins_free_chunk_locked(ar, c);
    bins_arena_count(ar, merged == ar->top ? BINS_PATH_FREE_TOP : BINS_PATH_FREE_BINS);
    /* glibc looks at the size after coalescing (with the top, too): small
     * frees that add up to a large free area consolidate the fastbins */
    if (csize(merged) >= BINS_FASTBIN_CONSOLIDATION) {
        if (ar->have_fastchunks)
            bins_consolidate_locked(ar);
        if (!ar->is_main)
            bins_drop_regions_locked(ar, __atomic_load_n(&h->top_pad, __ATOMIC_RELAXED));
        if (csize(ar->top) >= __atomic_load_n(&h->trim_threshold, __ATOMIC_RELAXED))
            bins_trim_top_locked(ar, __atomic_load_n(&h->top_pad, __ATOMIC_RELAXED));
    }
    bins_lock_give(&ar->lock);
}
