/* iface.c: bins as an nf_allocator: heaps, the public calls (counting and
 * ASan hand-over happen here, nowhere else), statistics, fork hooks. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "bins.h"
#include "../once.h"

const char *const bins_path_names[BINS_PATH_COUNT] = {
    "tcache",      "fastbin",      "unsorted",  "smallbin", "largebin",  "top",  "mmap",
    "free_tcache", "free_fastbin", "free_bins", "free_top", "free_mmap", "trim",
};

_Static_assert(BINS_PATH_COUNT <= NF_ALLOC_MAX_PATHS, "paths fit the interface");

static uint64_t next_uid = 1;

static size_t online_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
    return 1;
}

/* A heap's own struct is mapped from the page source; with ps == NULL it
 * carries a real page source of its own (emulated break). */
static nf_heap *heap_create_on(nf_pages *ps, nf_brk_mode own_mode)
{
    size_t sz;
    bins_heap *h = nf_kit_heap_map(ps, own_mode, sizeof(bins_heap), offsetof(bins_heap, own_ps), &ps, &sz);
    if (!h)
        return NULL;
    h->ps = ps;
    h->page = ps->page_size;
    h->self_size = sz;
    h->uid = __atomic_fetch_add(&next_uid, 1, __ATOMIC_RELAXED);
    /* Odd, so never 0: a zero secret would make every check word equal
     * the address it guards, and a zero key would match a zeroed chunk. */
    h->secret = nf_kit_random64(h) | 1;
    h->tcache_key = (uintptr_t)(nf_kit_random64(&h) | 1);
    bins_lock_init(&h->lock);
    bins_arena_init(&h->main, h, true);
    h->arenas = &h->main;
    h->free_arenas = &h->main;
    h->narenas = 1;
    h->max_arenas = BINS_ARENAS_PER_CORE * online_cores();
    h->brk_seg = -1;
    h->mmap_threshold = BINS_MMAP_THRESHOLD;
    h->trim_threshold = BINS_TRIM_THRESHOLD;
    h->top_pad = BINS_TOP_PAD;
    h->mmap_max = BINS_MMAP_MAX;
    h->have_key = pthread_key_create(&h->key, bins_tcache_destructor) == 0;
    bins_mapped_add(h, (int64_t)sz);
    return h;
}

static nf_heap *bins_create(nf_pages *ps) { return heap_create_on(ps, NF_BRK_EMULATED); }

static void bins_destroy(nf_heap *h)
{
    if (!h)
        return;
    if (h->have_key)
        pthread_key_delete(h->key);
    bins_slot_forget(h);
    nf_pages *ps = h->ps;
    /* non-main arenas: later regions first; the first region holds the
     * arena struct itself, so read the list link before releasing it */
    bins_arena *ar = h->arenas;
    while (ar) {
        bins_arena *next = ar->next;
        if (!ar->is_main) {
            bins_region *r = ar->region;
            while (r) {
                bins_region *prev = r->prev;
                bins_region_release(h, r);
                r = prev;
            }
        }
        ar = next;
    }
    /* main arena: mapped segments go back; the break shrinks if it is still ours */
    for (size_t i = 0; i < h->nsegs; i++) {
        bins_segment *s = &h->segs[i];
        bins_unpoison((void *)s->start, s->end - s->start);
        if (s->is_map)
            nf_pages_unmap(ps, (void *)s->start, s->end - s->start);
    }
    if (h->brk_seg >= 0 && ps != &h->own_ps) {
        bins_segment *s = &h->segs[h->brk_seg];
        if ((uintptr_t)nf_pages_grow(ps, 0) == s->end)
            nf_pages_grow(ps, -(intptr_t)(s->end - s->start));
    }
    nf_kit_heap_unmap(h, ps, &h->own_ps, h->self_size);
}

static nf_heap *bins_make_default(void) { return heap_create_on(nf_pages_real_sbrk(), NF_BRK_REAL); }

static nf_heap *bins_default_heap(void)
{
    static nf_heap_once once;
    return nf_heap_once_get(&once, bins_make_default);
}

/* Hand a block to the caller: unpoison it, count it. */
static void *handout(nf_heap *h, bins_tcache *tc, void *m)
{
    size_t usable = chunk_usable(mem2chunk(m));
    bins_unpoison(m, usable);
    if (tc)
        bins_live_add_fast(h, tc, (int64_t)usable);
    else
        bins_live_add(h, tc, (int64_t)usable);
    return m;
}

static inline void count_call(nf_heap *h, bins_tcache *tc, uint64_t *tc_field, uint64_t *retired)
{
    (void)h;
    if (tc)
        __atomic_store_n(tc_field, *tc_field + 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(retired, 1, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void *malloc_generic(nf_heap *h, size_t n)
{
    size_t nb;
    if (!request2size(n, &nb)) {
        errno = ENOMEM;
        return NULL;
    }
    bins_tcache *tc = bins_tcache_fast(h);
    void *m = tc ? bins_tcache_pop(tc, nb) : NULL;
    if (!m)
        m = bins_malloc_slow(h, tc, nb);
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    count_call(h, tc, tc ? &tc->mallocs : NULL, &h->retired_mallocs);
    return handout(h, tc, m);
}

static inline void relaxed_inc(uint64_t *p) { __atomic_store_n(p, *p + 1, __ATOMIC_RELAXED); }

/* bins_malloc and bins_free are also the drop-in's direct entries
 * (allocators/dropin/meson.build): malloc sets ENOMEM whenever it returns
 * NULL, free never changes errno. */
__attribute__((visibility("hidden"))) void *bins_malloc(nf_heap *h, size_t n);
__attribute__((visibility("hidden"))) void bins_free(nf_heap *h, void *p);

/* The fast path, glibc's tcache_get: a registered thread, a tcache-sized
 * request, a cached chunk of its size. The chunk has exactly nb bytes, so
 * the usable size needs no header read. Everything else (and ASan, whose
 * hand-over unpoisons) goes to malloc_generic. */
void *bins_malloc(nf_heap *h, size_t n)
{
    if (!BINS_ASAN && __builtin_expect(n <= BINS_TCACHE_MAX_REQUEST, 1) &&
        __builtin_expect(bins_tls[0].live_uid == h->uid, 1)) {
        size_t nb;
        request2size(n, &nb);
        bins_tcache *tc = bins_tls[0].tc;
        size_t i = tc_idx(nb);
        bins_tentry *e = tc->entries[i];
        if (__builtin_expect(e != NULL, 1)) {
            if (__builtin_expect((uintptr_t)e % BINS_ALIGN != 0, 0))
                bins_die("malloc(): unaligned tcache chunk detected at", e);
            tc->entries[i] = REVEAL_PTR(e->next);
            tc->counts[i]--;
            e->key = 0;
            relaxed_inc(&tc->fast_mallocs);
            bins_live_add_fast(h, tc, (int64_t)(nb - BINS_SIZE_SZ));
            return e;
        }
    }
    return malloc_generic(h, n);
}

static __attribute__((noinline)) void free_generic(nf_heap *h, void *p)
{
    if (!p)
        return;
    int saved = errno;
    bins_chunk *c = bins_check_chunk(h, p, "free of");
    size_t usable = chunk_usable(c);
    bins_tcache *tc = bins_tcache_fast(h);
    count_call(h, tc, tc ? &tc->frees : NULL, &h->retired_frees);
    if (tc)
        bins_live_add_fast(h, tc, -(int64_t)usable);
    else
        bins_live_add(h, tc, -(int64_t)usable);
    bins_poison(p, usable);
    bins_free_chunk(h, tc, c);
    errno = saved;
}

/* The fast path, glibc's tcache_put with bins' checks: a registered
 * thread, a checked arena chunk of a tcache size, room in its bin, not
 * cached already (the key) and, above the fastbin sizes, not free in its
 * arena (the next chunk's PREV_INUSE; bins_free_chunk says why). Anything
 * else goes to free_generic, which checks again and names the misuse. */
void bins_free(nf_heap *h, void *p)
{
    if (!BINS_ASAN && __builtin_expect(bins_tls[0].live_uid == h->uid, 1) && __builtin_expect(p != NULL, 1)) {
        bins_tcache *tc = bins_tls[0].tc;
        bins_chunk *c = bins_check_chunk(h, p, "free of");
        size_t head = chunk_head(c), sz = head & ~SIZE_BITS, i = tc_idx(sz);
        if (__builtin_expect(!(head & IS_MMAPPED) && i < BINS_TCACHE_BINS && tc->counts[i] < BINS_TCACHE_COUNT, 1) &&
            __builtin_expect(((bins_tentry *)p)->key != h->tcache_key, 1) &&
            __builtin_expect(sz <= BINS_MAX_FAST_CHUNK || inuse_at(c, sz), 1)) {
            bins_tcache_put(h, tc, c, i);
            relaxed_inc(&tc->fast_frees);
            bins_live_add_fast(h, tc, -(int64_t)(sz - BINS_SIZE_SZ));
            return;
        }
    }
    free_generic(h, p);
}

static void *bins_calloc(nf_heap *h, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = bins_malloc(h, total);
    if (p && !(chunk_head(mem2chunk(p)) & IS_MMAPPED)) /* direct maps are fresh zero pages */
        memset(p, 0, chunk_usable(mem2chunk(p)));
    return p;
}

static void *bins_memalign(nf_heap *h, size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= BINS_ALIGN)
        return bins_malloc(h, n);
    size_t nb;
    if (!request2size(n, &nb)) {
        errno = ENOMEM;
        return NULL;
    }
    bins_tcache *tc = bins_tcache_fast(h);
    void *m = bins_int_memalign(h, tc, align, nb);
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    count_call(h, tc, tc ? &tc->mallocs : NULL, &h->retired_mallocs);
    return handout(h, tc, m);
}

/* Resize inside c's arena, as glibc's _int_realloc: in place when the
 * chunk, its free neighbour or the top allow. When the top is next but
 * too small, the malloc for the move runs here, under the same lock:
 * what it carves from a top grown in place starts right after c, and the
 * block stays where it is (no copy); anything else it finds is returned
 * for the caller to move into (mapped, not handed out: the caller does
 * that, copies, then frees c). NULL: the caller must move the block. */
static void *realloc_arena(nf_heap *h, bins_tcache *tc, bins_chunk *c, size_t nb)
{
    bins_arena *ar = bins_arena_of(h, c);
    size_t arena_bit = chunk_head(c) & NON_MAIN_ARENA;
    bins_lock_take(&ar->lock);
    if (!bins_chunk_live_locked(ar, c))
        bins_die_why("realloc of", chunk2mem(c), "a freed block");
    size_t sz = csize(c);
    bins_chunk *next = chunk_at(c, sz);
    if (sz < nb) {
        if (next == ar->top && sz + csize(next) >= nb + BINS_MINSIZE) {
            size_t rest = sz + csize(next) - nb;
            set_head(c, nb | (chunk_head(c) & PREV_INUSE) | arena_bit);
            ar->top = chunk_at(c, nb);
            set_head(ar->top, rest | PREV_INUSE | arena_bit);
            bins_lock_give(&ar->lock);
            return chunk2mem(c);
        }
        if (next == ar->top) {
            void *q = bins_int_malloc_locked(ar, tc, nb);
            if (q != chunk2mem(next)) {
                bins_lock_give(&ar->lock);
                return q;
            }
        } else if (inuse_at(next, csize(next)) || sz + csize(next) < nb) {
            bins_lock_give(&ar->lock);
            return NULL;
        } else {
            bins_unlink_locked(ar, next);
        }
        sz += csize(next);
        set_head(c, sz | (chunk_head(c) & PREV_INUSE) | arena_bit);
        set_inuse_at(c, sz);
    }
    if (sz - nb >= BINS_MINSIZE) {
        /* the tail is freed as glibc's _int_free does it: into this
         * thread's tcache when it has room (it stays in use for the
         * arena), else into the bins */
        bins_chunk *r = chunk_at(c, nb);
        size_t ti = tc_idx(sz - nb);
        set_head(c, nb | (chunk_head(c) & PREV_INUSE) | arena_bit);
        set_head(r, (sz - nb) | PREV_INUSE | arena_bit);
        if (tc && ti < BINS_TCACHE_BINS && tc->counts[ti] < BINS_TCACHE_COUNT)
            bins_tcache_put(h, tc, r, ti);
        else
            bins_free_chunk_locked(ar, r);
    }
    bins_lock_give(&ar->lock);
    return chunk2mem(c);
}

static void bins_free_impl(nf_heap *h, void *p);

static void *bins_realloc(nf_heap *h, void *p, size_t n)
{
    if (!p)
        return bins_malloc(h, n);
    if (n == 0) {
        bins_free(h, p);
        return NULL;
    }
    bins_chunk *c = bins_check_chunk(h, p, "realloc of");
    if (!(chunk_head(c) & IS_MMAPPED))
        bins_check_not_cached(h, c, "realloc of"); /* glibc misses it: the freed block comes back live */
    size_t nb;
    if (!request2size(n, &nb)) {
        errno = ENOMEM;
        return NULL;
    }
    bins_tcache *tc = bins_tcache_fast(h);
    count_call(h, tc, tc ? &tc->reallocs : NULL, &h->retired_reallocs);
    size_t old_usable = chunk_usable(c);
    if (chunk_head(c) & IS_MMAPPED) {
        void *q = bins_direct_resize(h, c, nb);
        if (q) {
            size_t new_usable = chunk_usable(mem2chunk(q));
            bins_unpoison(q, new_usable);
            bins_live_add(h, tc, (int64_t)new_usable - (int64_t)old_usable);
            return q;
        }
        if (old_usable >= n && old_usable / 2 <= n + h->page)
            return p;
    } else {
        void *q = realloc_arena(h, tc, c, nb);
        if (q == p) {
            size_t new_usable = chunk_usable(c);
            bins_poison(p, old_usable);
            bins_unpoison(p, new_usable);
            bins_live_add(h, tc, (int64_t)new_usable - (int64_t)old_usable);
            return p;
        }
        if (q) {
            q = handout(h, tc, q);
            memcpy(q, p, old_usable < n ? old_usable : n);
            bins_free_impl(h, p);
            return q;
        }
    }
    void *q = bins_malloc(h, n);
    if (!q)
        return NULL;
    memcpy(q, p, old_usable < n ? old_usable : n);
    bins_free_impl(h, p);
    return q;
}

/* free without counting a free call (realloc's move); a direct map goes
 * without raising the mmap threshold, as glibc's munmap_chunk */
static void bins_free_impl(nf_heap *h, void *p)
{
    bins_chunk *c = bins_check_chunk(h, p, "free of");
    size_t usable = chunk_usable(c);
    bins_tcache *tc = bins_tcache_fast(h);
    bins_live_add(h, tc, -(int64_t)usable);
    bins_poison(p, usable);
    if (chunk_head(c) & IS_MMAPPED) {
        bins_direct_unmap(h, c, false);
        bins_count(h, tc, BINS_PATH_FREE_MMAP);
        return;
    }
    bins_free_chunk(h, tc, c);
}

static size_t bins_usable_size(nf_heap *h, const void *p)
{
    if (!p)
        return 0;
    bins_chunk *c = bins_check_chunk(h, p, "malloc_usable_size of");
    if (!(chunk_head(c) & IS_MMAPPED))
        bins_check_not_cached(h, c, "malloc_usable_size of");
    return chunk_usable(c);
}

static int bins_trim(nf_heap *h, size_t pad)
{
    int released = 0;
    bins_lock_take(&h->lock);
    bins_arena *list = h->arenas;
    bins_lock_give(&h->lock);
    for (bins_arena *ar = list; ar; ar = ar->next) {
        bins_lock_take(&ar->lock);
        released |= bins_trim_arena_locked(ar, pad);
        bins_lock_give(&ar->lock);
    }
    return released;
}

static int bins_stats(nf_heap *h, nf_alloc_stats *out)
{
    uint64_t paths[BINS_PATH_COUNT];
    nf_kit_stats_open(out, paths, h->retired_paths, BINS_PATH_COUNT);
    out->mallocs = nf_kit_rl(&h->retired_mallocs);
    out->frees = nf_kit_rl(&h->retired_frees);
    out->reallocs = nf_kit_rl(&h->retired_reallocs);
    int64_t live = __atomic_load_n(&h->live, __ATOMIC_RELAXED);
    uint64_t tops = 0;
    bins_lock_take(&h->lock);
    for (bins_tcache *tc = h->tcaches; tc; tc = tc->next) {
        for (size_t p = 0; p < BINS_PATH_COUNT; p++)
            paths[p] += nf_kit_rl(&tc->paths[p]);
        uint64_t fm = nf_kit_rl(&tc->fast_mallocs), ff = nf_kit_rl(&tc->fast_frees);
        paths[BINS_PATH_TCACHE] += fm;
        paths[BINS_PATH_FREE_TCACHE] += ff;
        out->mallocs += nf_kit_rl(&tc->mallocs) + fm;
        out->frees += nf_kit_rl(&tc->frees) + ff;
        out->reallocs += nf_kit_rl(&tc->reallocs);
        live += __atomic_load_n(&tc->live_local, __ATOMIC_RELAXED);
    }
    for (bins_arena *ar = h->arenas; ar; ar = ar->next) {
        bins_lock_take(&ar->lock);
        for (size_t p = 0; p < BINS_PATH_COUNT; p++)
            paths[p] += ar->paths[p];
        tops += csize(ar->top);
        bins_lock_give(&ar->lock);
    }
    bins_lock_give(&h->lock);
    nf_kit_stats_fill(out, &(nf_kit_counts){.live = live,
                                            .peak_live = &h->peak_live,
                                            .mapped = &h->mapped,
                                            .peak_mapped = &h->peak_mapped,
                                            .ps = h->ps,
                                            .names = bins_path_names,
                                            .paths = paths,
                                            .npaths = BINS_PATH_COUNT});
    uint64_t overhead = tops + h->self_size;
    out->held_bytes = out->mapped_bytes > overhead ? out->mapped_bytes - overhead : 0;
    return 0;
}

static const char *bins_identify(nf_heap *h, char *buf, size_t len)
{
    (void)h;
    return nf_kit_identify("notfree bins (ptmalloc2-style)", buf, len);
}

/* ---- fork: every lock, in a fixed order (heap, then arenas in list order) ---- */
static void bins_fork_prepare(nf_heap *h)
{
    bins_lock_take(&h->lock);
    for (bins_arena *ar = h->arenas; ar; ar = ar->next)
        bins_lock_take(&ar->lock);
    bins_direct_table_lock();
}

static void bins_fork_parent(nf_heap *h)
{
    bins_direct_table_unlock();
    for (bins_arena *ar = h->arenas; ar; ar = ar->next)
        bins_lock_give(&ar->lock);
    bins_lock_give(&h->lock);
}

static void bins_fork_child(nf_heap *h)
{
    bins_direct_table_unlock();
    for (bins_arena *ar = h->arenas; ar; ar = ar->next)
        bins_lock_init(&ar->lock);
    bins_lock_init(&h->lock);
    __atomic_store_n(&h->ps->brk_lock, 0, __ATOMIC_RELEASE);
}

const nf_allocator nf_allocator_bins = {
    .name = "bins",
    .description = "ptmalloc2-style: boundary tags, tcache, fastbins, unsorted/small/large bins, arenas",
    .create = bins_create,
    .destroy = bins_destroy,
    .malloc = bins_malloc,
    .free = bins_free,
    .calloc = bins_calloc,
    .realloc = bins_realloc,
    .memalign = bins_memalign,
    .usable_size = bins_usable_size,
    .trim = bins_trim,
    .stats = bins_stats,
    .identify = bins_identify,
    .default_heap = bins_default_heap,
    .fork_prepare = bins_fork_prepare,
    .fork_parent = bins_fork_parent,
    .fork_child = bins_fork_child,
    .thread_exit = bins_tcache_shutdown,
};
