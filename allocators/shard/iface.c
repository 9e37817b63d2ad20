/* iface.c: shard as an nf_allocator: the fast paths of malloc and free,
 * the other calls, statistics and identify. The heap lifecycle (heaps,
 * thread heaps, fork hooks, thread exit) is in heap.c. */
#include <errno.h>
#include <string.h>

#include "shard.h"

const char *const shard_path_names[SHARD_PATH_COUNT] = {
    "fast",       "generic", "collect", "extend", "fresh_page", "full",  "thread_free", "delayed",
    "free_local", "abandon", "reclaim", "huge",   "free_huge",  "purge", "segment_map", "segment_unmap",
};
_Static_assert(SHARD_PATH_COUNT <= NF_ALLOC_MAX_PATHS, "paths fit the interface");

/* ---- the fast paths ---- */
/* malloc: theap -> pages_direct[(size + 7) / 8] -> pop page->free (a block
 * inside the page, or the free list was written after free; its first
 * word cleared: no link leaks and a live block does not look free).
 * shard_malloc and shard_free are also the drop-in's direct entries
 * (allocators/dropin/meson.build): free never changes errno. */
SHARD_HIDDEN void *shard_malloc(nf_heap *h, size_t n)
{
    if (SHARD_LIKELY(shard_t_cur.uid == h->uid && n <= SHARD_DIRECT_MAX)) {
        shard_theap *th = shard_t_cur.th; /* a matching uid (>= 1) has its theap */
        shard_page *pg = th->pages_direct[(n + 7) >> 3];
        shard_block *b = pg->free;
        if (SHARD_LIKELY(b != NULL)) {
            if (shard_checks && SHARD_UNLIKELY(!shard_link_ok(pg, b)))
                shard_bad_link(pg, b);
            pg->free = shard_next(pg, b);
            if (shard_checks)
                b->next = 0;
            pg->used++;
            SHARD_INC(th->mallocs);
            SHARD_ADD(th->live_local, (int64_t)pg->bsize);
            shard_unpoison(b, pg->bsize);
            return b;
        }
    }
    return shard_malloc_generic(h, n);
}

/* free: segment = p & mask, page = segment->pages[idx]; our own page with
 * no flags, p a block start that does not look free already
 * (shard_free_fast_ok): push onto local_free. */
SHARD_HIDDEN void shard_free(nf_heap *h, void *p)
{
    if (!p)
        return;
    if (SHARD_LIKELY(shard_segmap_at(p) == SHARD_SEGMAP_START && ((uintptr_t)p % SHARD_ALIGN) == 0)) {
        shard_segment *s = shard_segment_of(p);
        shard_page *pg = shard_page_of(s, p);
        shard_theap *th = shard_t_cur.th; /* not NULL when the uid matches */
        if (SHARD_LIKELY(shard_t_cur.uid == h->uid && shard_page_owner(pg) == th && pg->flags == 0 &&
                         shard_free_fast_ok(pg, p))) {
            shard_block *b = p;
            shard_poison(b, pg->bsize);
            shard_set_next(pg, b, pg->local_free);
            pg->local_free = b;
            SHARD_INC(th->frees);
            SHARD_ADD(th->live_local, -(int64_t)pg->bsize);
            if (SHARD_UNLIKELY(--pg->used == 0)) {
                /* the only page of its bin (a loop that mallocs and frees
                 * a few blocks empties it on every turn): kept, as
                 * shard_page_retire would, without the call */
                if (SHARD_LIKELY(pg->next == NULL && th->queues[pg->bin].first == pg)) {
                    pg->stamp = th->generic_count + SHARD_RETIRE_GENERIC;
                    th->retired_bins |= (uint64_t)1 << pg->bin;
                } else {
                    shard_page_retire_keep_errno(th, pg);
                }
            }
            return;
        }
    }
    shard_free_generic(h, p); /* keeps errno; a tail call, so the fast path saves no register */
}

static void *shard_calloc(nf_heap *h, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = shard_malloc(h, total);
    if (p && (total <= SHARD_LARGE_MAX ||
              shard_segment_of(p)->pages[0].dirty)) /* huge blocks are fresh zero pages unless recycled */
        memset(p, 0, total);
    return p;
}

static void *shard_memalign(nf_heap *h, size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= SHARD_ALIGN)
        return shard_malloc(h, n);
    if (n > SIZE_MAX / 4) {
        errno = ENOMEM;
        return NULL;
    }
    /* blocks of a bin whose size is a multiple of align are aligned: page
     * areas are aligned to SHARD_OS_PAGE */
    if (n <= SHARD_LARGE_MAX && align <= SHARD_OS_PAGE && shard_bin_size(shard_bin(n)) % align == 0)
        return shard_malloc(h, n);
    if (n + align - 1 <= SHARD_LARGE_MAX) {
        uint8_t *b = shard_malloc(h, n + align - 1);
        if (!b)
            return NULL;
        uint8_t *q = (uint8_t *)(((uintptr_t)b + align - 1) & ~(uintptr_t)(align - 1));
        if (q != b) {
            shard_page *pg = shard_page_of(shard_segment_of(b), b);
            shard_page_flags_set(pg, SHARD_PAGE_ALIGNED);
        }
        return q;
    }
    shard_theap *th = shard_theap_get(h);
    if (!th) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = shard_huge_alloc(h, th, n, align);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    SHARD_INC(th->mallocs);
    SHARD_INC(th->paths[SHARD_PATH_GENERIC]);
    SHARD_ADD(th->live_local, (int64_t)shard_segment_of(p)->pages[0].bsize);
    shard_live_flush(h, th);
    return p;
}

static size_t usable_of(const shard_segment *s, const shard_page *pg, const void *p)
{
    const uint8_t *b = s->kind == SHARD_HUGE ? pg->area : shard_block_start(pg, p);
    return pg->bsize - (size_t)((const uint8_t *)p - b);
}

static size_t shard_usable_size(nf_heap *h, const void *p)
{
    if (!p)
        return 0;
    shard_segment *s;
    shard_page *pg = shard_check_ptr(h, p, &s);
    return usable_of(s, pg, p);
}

static void *shard_realloc(nf_heap *h, void *p, size_t n)
{
    if (!p)
        return shard_malloc(h, n);
    if (n == 0) {
        shard_free(h, p);
        return NULL;
    }
    shard_segment *s;
    shard_page *pg = shard_check_ptr(h, p, &s);
    size_t usable = usable_of(s, pg, p);
    shard_theap *th = shard_theap_get(h);
    if (th)
        SHARD_INC(th->reallocs);
    if (n <= usable && n >= usable / 2)
        return p;
    if (s->kind == SHARD_HUGE && n > SHARD_LARGE_MAX) {
        /* grown by moving its pages (no copy, no refault) or shrunk in place */
        size_t before = pg->bsize;
        p = shard_huge_realloc(h, s, p, n);
        s = shard_segment_of(p);
        pg = &s->pages[0];
        if (th) {
            SHARD_ADD(th->live_local, (int64_t)pg->bsize - (int64_t)before);
            shard_live_flush(h, th);
        } else {
            __atomic_fetch_add(&h->live, (int64_t)pg->bsize - (int64_t)before, __ATOMIC_RELAXED);
        }
        usable = usable_of(s, pg, p);
        if (n <= usable)
            return p;
    }
    void *q = shard_malloc(h, n);
    if (!q)
        return NULL;
    memcpy(q, p, usable < n ? usable : n);
    shard_free(h, p);
    if (th)
        SHARD_ADD(th->frees, (uint64_t)-1); /* the move is not a free call */
    return q;
}

static uint64_t given_back(nf_heap *h)
{
    uint64_t c[NF_PAGE_CALL_COUNT];
    nf_pages_calls(h->ps, c);
    return c[NF_PAGE_ADVISE] + c[NF_PAGE_UNMAP];
}

/* malloc_trim: this thread's pages collected, abandoned segments
 * reclaimed on the way. A full trim purges every empty page now, unmaps
 * the empty segments and empties the heap's caches; a trim within
 * SHARD_TRIM_INTERVAL_NS of the last full one only gives back what the
 * delayed purge would (pages and cached segments free for the purge
 * delay), so a program that trims in a loop does not refault its heap on
 * every cycle. */
static int shard_trim(nf_heap *h, size_t pad)
{
    (void)pad;
    shard_theap *th = shard_theap_get(h);
    if (!th)
        return 0;
    uint64_t before = given_back(h);
    uint64_t t = shard_now_ns(), last = __atomic_load_n(&h->trim_last, __ATOMIC_RELAXED);
    bool full = !last || t - last >= SHARD_TRIM_INTERVAL_NS;
    shard_warm_expire(h, full); /* exited threads' theaps: their blocks reclaimed below */
    while (shard_reclaim(th))
        ;
    shard_theap_collect(th, full);
    if (full) {
        __atomic_store_n(&h->trim_last, t, __ATOMIC_RELAXED);
        shard_purge(th, true);
        shard_trim_segments(th, false);
        shard_cache_release(h);
    } else {
        shard_purge(th, false);
        shard_cache_purge(h, false);
    }
    return given_back(h) > before;
}

static int shard_stats(nf_heap *h, nf_alloc_stats *out)
{
    uint64_t paths[SHARD_PATH_COUNT];
    nf_kit_stats_open(out, paths, h->heap_paths, SHARD_PATH_COUNT);
    int64_t live = __atomic_load_n(&h->live, __ATOMIC_RELAXED);
    pthread_mutex_lock(&h->lock);
    for (shard_theap *th = h->theaps; th; th = th->all_next) {
        for (size_t p = 0; p < SHARD_PATH_COUNT; p++)
            paths[p] += nf_kit_rl(&th->paths[p]);
        out->mallocs += nf_kit_rl(&th->mallocs);
        out->frees += nf_kit_rl(&th->frees);
        out->reallocs += nf_kit_rl(&th->reallocs);
        live += __atomic_load_n(&th->live_local, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&h->lock);
    paths[SHARD_PATH_FAST] = out->mallocs - paths[SHARD_PATH_GENERIC];
    paths[SHARD_PATH_FREE_LOCAL] = out->frees - paths[SHARD_PATH_THREAD_FREE] - paths[SHARD_PATH_FREE_HUGE];
    nf_kit_stats_fill(out, &(nf_kit_counts){.live = live,
                                            .peak_live = &h->peak_live,
                                            .mapped = &h->mapped,
                                            .peak_mapped = &h->peak_mapped,
                                            .ps = h->ps,
                                            .names = shard_path_names,
                                            .paths = paths,
                                            .npaths = SHARD_PATH_COUNT});
    out->held_bytes = nf_kit_rl(&h->held);
    return 0;
}

static const char *shard_identify(nf_heap *h, char *buf, size_t len)
{
    (void)h;
    const char *s = shard_secure ? "notfree shard (free-list sharding, secure)"
                                 : "notfree shard (free-list sharding, mimalloc-style)";
    return nf_kit_identify(s, buf, len);
}

const nf_allocator nf_allocator_shard = {
    .name = "shard",
    .description = "mimalloc-style free-list sharding: segments, pages with free/local/thread lists, thread heaps",
    .create = shard_create,
    .destroy = shard_destroy,
    .malloc = shard_malloc,
    .free = shard_free,
    .calloc = shard_calloc,
    .realloc = shard_realloc,
    .memalign = shard_memalign,
    .usable_size = shard_usable_size,
    .trim = shard_trim,
    .stats = shard_stats,
    .identify = shard_identify,
    .default_heap = shard_default_heap,
    .fork_prepare = shard_fork_prepare,
    .fork_parent = shard_fork_parent,
    .fork_child = shard_fork_child,
    .thread_exit = shard_thread_exit,
};
