/* segment.c: segments and the segment map; pages taken from and given back
 * to segments; purging; abandoning and reclaiming. Huge blocks: huge.c. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "shard.h"

uint8_t *shard_segmap;
static pthread_once_t segmap_once = PTHREAD_ONCE_INIT;

/* The segment map is one for the process, not one per heap: free() of any
 * pointer, from any heap, finds its segment through it, so it must outlive
 * every heap. That is why it comes from the real page source and not from
 * the first heap's: a heap on the kernel model's page source lives in
 * memory that goes away with the model (nf_model_destroy), and the default
 * heap's segments would then be looked up in freed memory. Its pages are
 * the allocator's bookkeeping of address space, not memory a workload
 * uses, so a model run misses only the few map bytes its segments touch. */
static void segmap_map(void)
{
    /* address space only: a byte is touched when a segment is mapped there */
    shard_segmap = nf_pages_map(nf_pages_real(), SHARD_SEGMAP_BYTES, NF_MAP_NORESERVE);
}

bool shard_segmap_init(void)
{
    pthread_once(&segmap_once, segmap_map);
    return shard_segmap != NULL;
}

void shard_segmap_set(shard_segment *s, size_t size, uint8_t first)
{
    uintptr_t i = (uintptr_t)s >> SHARD_SEGMENT_SHIFT;
    uintptr_t n = (size + SHARD_SEGMENT_SIZE - 1) >> SHARD_SEGMENT_SHIFT;
    for (uintptr_t k = 1; k < n; k++)
        __atomic_store_n(&shard_segmap[i + k], first ? SHARD_SEGMAP_MORE : SHARD_SEGMAP_NONE, __ATOMIC_RELAXED);
    __atomic_store_n(&shard_segmap[i], first, __ATOMIC_RELEASE);
}

uint64_t shard_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void shard_mapped_add(nf_heap *h, int64_t delta)
{
    uint64_t now = __atomic_add_fetch(&h->mapped, (uint64_t)delta, __ATOMIC_RELAXED);
    nf_kit_peak_u64(&h->peak_mapped, now);
}

void shard_count(nf_heap *h, uint64_t *paths, shard_path p)
{
    if (paths)
        SHARD_INC(paths[p]);
    else
        __atomic_fetch_add(&h->heap_paths[p], 1, __ATOMIC_RELAXED);
}

/* size bytes at raw with raw + phase aligned to align (both multiples of
 * SHARD_SEGMENT_SIZE, phase < align; a huge block aligned beyond a segment
 * starts one segment in), mapped with hints. Linux maps top-down, so an
 * exact mapping right below the last segment is usually aligned already;
 * otherwise map more and cut the ends off. */
uint8_t *shard_map_aligned(nf_pages *ps, size_t size, size_t align, size_t phase, unsigned hints)
{
    /* a size that is not a multiple of align seldom lands aligned (the
     * last mapping's bottom is): map the larger range at once */
    uint8_t *raw = size % align ? NULL : nf_pages_map(ps, size, hints);
    if (size % align == 0 && !raw)
        return NULL;
    if (!raw || ((uintptr_t)raw + phase) % align) {
        if (raw)
            nf_pages_unmap(ps, raw, size);
        if (size > SIZE_MAX / 2 - align || !(raw = nf_pages_map(ps, size + align, hints)))
            return NULL;
        uintptr_t a = (((uintptr_t)raw + phase + align - 1) & ~(uintptr_t)(align - 1)) - phase;
        size_t head = a - (uintptr_t)raw, tail = align - head;
        if (head)
            nf_pages_unmap(ps, raw, head);
        if (tail)
            nf_pages_unmap(ps, (uint8_t *)a + size, tail);
        raw = (uint8_t *)a;
    }
    return raw;
}

/* A segment of size bytes (see shard_map_aligned), counted as mapped. */
shard_segment *shard_segment_map(nf_heap *h, size_t size, size_t align, size_t phase, uint64_t *paths)
{
    shard_segment *s = (shard_segment *)shard_map_aligned(h->ps, size, align, phase, 0);
    if (!s)
        return NULL;
    s->heap = h;
    s->size = size;
    shard_mapped_add(h, (int64_t)size);
    shard_count(h, paths, SHARD_PATH_SEGMENT_MAP);
    return s;
}

void shard_segment_release(nf_heap *h, shard_segment *s, uint64_t *paths)
{
    size_t size = s->size;
    shard_segmap_set(s, size, SHARD_SEGMAP_NONE);
    shard_unpoison(s, size);
    nf_pages_unmap(h->ps, s, size);
    shard_mapped_add(h, -(int64_t)size);
    shard_count(h, paths, SHARD_PATH_SEGMENT_UNMAP);
}

/* ---- a segment's pages ---- */
static uint8_t *page_start(shard_segment *s, size_t idx)
{
    return idx == 0 ? (uint8_t *)s + SHARD_SEGMENT_HDR : (uint8_t *)s + (idx << s->page_shift);
}

/* The end of a page's blocks: its guard page starts there in secure mode. */
static uint8_t *page_end(shard_segment *s, size_t idx)
{
    uint8_t *e = (uint8_t *)s + ((idx + 1) << s->page_shift);
    return shard_secure ? e - SHARD_OS_PAGE : e;
}

static void segment_init_kind(shard_segment *s, shard_kind kind)
{
    s->kind = (uint8_t)kind;
    s->page_shift = kind == SHARD_SMALL    ? SHARD_SMALL_PAGE_SHIFT
                    : kind == SHARD_MEDIUM ? SHARD_MEDIUM_PAGE_SHIFT
                                           : SHARD_SEGMENT_SHIFT;
    s->npages = (uint16_t)(SHARD_SEGMENT_SIZE >> s->page_shift);
    s->free_mask = s->npages == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s->npages) - 1);
    s->used_pages = 0;
    memset(s->pages, 0, sizeof s->pages);
    for (size_t i = 0; i < s->npages; i++) {
        s->pages[i].area = page_start(s, i);
        if (shard_secure)
            nf_pages_protect(s->heap->ps, page_end(s, i), SHARD_OS_PAGE, NF_PROT_NONE);
    }
}

static void avail_push(shard_theap *th, shard_segment *s)
{
    if (s->in_avail)
        return;
    s->in_avail = true;
    s->avail_prev = NULL;
    s->avail_next = th->avail[s->kind];
    if (s->avail_next)
        s->avail_next->avail_prev = s;
    th->avail[s->kind] = s;
}

static void avail_remove(shard_theap *th, shard_segment *s)
{
    if (!s->in_avail)
        return;
    s->in_avail = false;
    if (s->avail_prev)
        s->avail_prev->avail_next = s->avail_next;
    else
        th->avail[s->kind] = s->avail_next;
    if (s->avail_next)
        s->avail_next->avail_prev = s->avail_prev;
}

static void segments_push(shard_theap *th, shard_segment *s)
{
    s->theap = th;
    s->prev = NULL;
    s->next = th->segments;
    if (s->next)
        s->next->prev = s;
    th->segments = s;
}

static void segments_remove(shard_theap *th, shard_segment *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        th->segments = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* Purge the unused dirty pages of s left at least SHARD_PURGE_DELAY_NS
 * before t (now: all of them); *due gets the earliest later stamp.
 * Neighbouring pages go in one madvise: each call costs a TLB shootdown on
 * every CPU the process runs on. Returns the pages purged. */
static size_t purge_segment(nf_heap *h, shard_segment *s, bool now, uint64_t t, uint64_t *due, uint64_t *paths)
{
    size_t n = 0;
    uint8_t *run = NULL, *run_end = NULL;
    for (size_t i = 0; i < s->npages; i++) {
        shard_page *pg = &s->pages[i];
        bool go = false;
        if (!pg->in_use && pg->dirty) {
            if (now || pg->stamp + SHARD_PURGE_DELAY_NS <= t)
                go = true;
            else if (pg->stamp + SHARD_PURGE_DELAY_NS < *due)
                *due = pg->stamp + SHARD_PURGE_DELAY_NS;
        }
        uint8_t *a = page_start(s, i), *e = page_end(s, i);
        if (go) {
            pg->dirty = false;
            n++;
            shard_count(h, paths, SHARD_PATH_PURGE);
            if (run && run_end == a) {
                run_end = e;
                continue;
            }
        }
        if (run)
            nf_pages_advise(h->ps, run, (size_t)(run_end - run), NF_ADVISE_DONTNEED);
        run = go ? a : NULL;
        run_end = go ? e : NULL;
    }
    if (run)
        nf_pages_advise(h->ps, run, (size_t)(run_end - run), NF_ADVISE_DONTNEED);
    return n;
}

void shard_purge(shard_theap *th, bool now)
{
    if (!th->dirty_pages)
        return;
    uint64_t t = shard_now_ns();
    if (!now && t < th->purge_due)
        return;
    uint64_t due = UINT64_MAX;
    for (shard_segment *s = th->segments; s && th->dirty_pages; s = s->next)
        th->dirty_pages -= purge_segment(th->heap, s, now, t, &due, th->paths);
    th->purge_due = due;
}

/* ---- the heap's cache of empty segments ---- */
static size_t dirty_count(const shard_segment *s, uint64_t *oldest)
{
    size_t n = 0;
    for (size_t i = 0; i < s->npages; i++)
        if (!s->pages[i].in_use && s->pages[i].dirty) {
            n++;
            if (s->pages[i].stamp < *oldest)
                *oldest = s->pages[i].stamp;
        }
    return n;
}

/* s (no page in use, off every theap list) into the cache, or unmapped. */
static void cache_put(nf_heap *h, shard_segment *s, uint64_t *paths)
{
    uint64_t oldest = UINT64_MAX;
    size_t dirty = dirty_count(s, &oldest);
    pthread_mutex_lock(&h->lock);
    if (h->cache_count < SHARD_HEAP_SEGMENT_CACHE) {
        s->theap = NULL;
        s->in_avail = false;
        s->next = h->cache;
        h->cache = s;
        __atomic_store_n(&h->cache_count, h->cache_count + 1, __ATOMIC_RELAXED);
        if (dirty) {
            uint64_t due = oldest + SHARD_PURGE_DELAY_NS;
            if (!__atomic_load_n(&h->cache_dirty, __ATOMIC_RELAXED) || due < h->cache_due)
                __atomic_store_n(&h->cache_due, due, __ATOMIC_RELAXED);
            __atomic_store_n(&h->cache_dirty, 1, __ATOMIC_RELAXED);
        }
        pthread_mutex_unlock(&h->lock);
        return;
    }
    pthread_mutex_unlock(&h->lock);
    shard_segment_release(h, s, paths);
}

static shard_segment *cache_take(nf_heap *h)
{
    if (!__atomic_load_n(&h->cache_count, __ATOMIC_RELAXED))
        return NULL;
    pthread_mutex_lock(&h->lock);
    shard_segment *s = h->cache;
    if (s) {
        h->cache = s->next;
        __atomic_store_n(&h->cache_count, h->cache_count - 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&h->lock);
    return s;
}

void shard_cache_purge(nf_heap *h, bool now)
{
    uint64_t t = shard_now_ns();
    if (!now && t < __atomic_load_n(&h->cache_due, __ATOMIC_RELAXED))
        return;
    if (now)
        pthread_mutex_lock(&h->lock);
    else if (pthread_mutex_trylock(&h->lock) != 0)
        return;
    uint64_t due = UINT64_MAX;
    for (shard_segment *s = h->cache; s; s = s->next)
        purge_segment(h, s, now, t, &due, NULL);
    shard_segment *expired = shard_huge_expire_locked(h, now, t, &due);
    __atomic_store_n(&h->cache_due, due, __ATOMIC_RELAXED);
    __atomic_store_n(&h->cache_dirty, due != UINT64_MAX, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&h->lock);
    shard_huge_release_list(h, expired);
}

int shard_cache_release(nf_heap *h)
{
    pthread_mutex_lock(&h->lock);
    shard_segment *expired = shard_huge_expire_locked(h, true, 0, NULL);
    __atomic_store_n(&h->huge_cache_count, h->huge_cache_count, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&h->lock);
    int n = 0;
    for (shard_segment *e = expired; e; e = e->next)
        n++;
    shard_huge_release_list(h, expired);
    pthread_mutex_lock(&h->lock);
    shard_segment *s = h->cache;
    h->cache = NULL;
    __atomic_store_n(&h->cache_count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->cache_dirty, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&h->lock);
    while (s) {
        shard_segment *next = s->next;
        shard_segment_release(h, s, NULL);
        s = next;
        n++;
    }
    return n;
}

/* th takes over the unused dirty pages of s (reclaimed or from the cache). */
static void adopt_dirty(shard_theap *th, shard_segment *s)
{
    uint64_t oldest = UINT64_MAX;
    size_t n = dirty_count(s, &oldest);
    if (!n)
        return;
    if (!th->dirty_pages || oldest + SHARD_PURGE_DELAY_NS < th->purge_due)
        th->purge_due = oldest + SHARD_PURGE_DELAY_NS;
    th->dirty_pages += n;
}

/* An empty segment of th cut into pages of another kind. Which bytes are
 * resident is not known page by page any more: if any were, every new page
 * counts as dirty (a purge of an untouched range is only a wasted call). */
static void segment_rekind(shard_theap *th, shard_segment *s, shard_kind kind)
{
    uint64_t stamp = 0;
    size_t dirty = 0;
    for (size_t i = 0; i < s->npages; i++)
        if (s->pages[i].dirty) {
            dirty++;
            if (s->pages[i].stamp > stamp)
                stamp = s->pages[i].stamp;
        }
    th->dirty_pages -= dirty;
    segment_init_kind(s, kind);
    if (dirty) {
        for (size_t i = 0; i < s->npages; i++) {
            s->pages[i].dirty = true;
            s->pages[i].stamp = stamp;
        }
        if (!th->dirty_pages || stamp + SHARD_PURGE_DELAY_NS < th->purge_due)
            th->purge_due = stamp + SHARD_PURGE_DELAY_NS;
        th->dirty_pages += s->npages;
    }
}

/* A segment of this kind with a free page: an empty one of ours made
 * over, one from the heap's cache, or a new one. */
static shard_segment *segment_for_kind(shard_theap *th, shard_kind kind)
{
    nf_heap *h = th->heap;
    if (th->empty_segments && !shard_secure) {
        for (shard_segment *s = th->segments; s; s = s->next) {
            if (s->used_pages || s->kind == kind)
                continue;
            avail_remove(th, s);
            segment_rekind(th, s, kind);
            avail_push(th, s);
            return s;
        }
    }
    shard_segment *s = shard_secure ? NULL : cache_take(h);
    if (s) {
        segments_push(th, s);
        s->in_avail = false;
        adopt_dirty(th, s);
        if (s->kind != kind)
            segment_rekind(th, s, kind);
        avail_push(th, s);
        th->empty_segments++;
        return s;
    }
    s = shard_segment_map(h, SHARD_SEGMENT_SIZE, SHARD_SEGMENT_SIZE, 0, th->paths);
    if (!s)
        return NULL;
    s->in_avail = false;
    segment_init_kind(s, kind);
    segments_push(th, s);
    avail_push(th, s);
    th->empty_segments++;
    shard_segmap_set(s, SHARD_SEGMENT_SIZE, SHARD_SEGMAP_START);
    return s;
}

shard_page *shard_segment_page_alloc(shard_theap *th, shard_kind kind)
{
    shard_segment *s = th->avail[kind];
    if (!s && !(s = segment_for_kind(th, kind)))
        return NULL;
    /* a dirty page first: it is still resident, a clean one faults again */
    size_t idx = (size_t)__builtin_ctzll(s->free_mask);
    if (th->dirty_pages) {
        for (uint64_t m = s->free_mask; m; m &= m - 1) {
            size_t i = (size_t)__builtin_ctzll(m);
            if (s->pages[i].dirty) {
                idx = i;
                break;
            }
        }
    }
    s->free_mask &= ~((uint64_t)1 << idx);
    if (s->used_pages++ == 0)
        th->empty_segments--;
    if (!s->free_mask)
        avail_remove(th, s);
    shard_page *pg = &s->pages[idx];
    if (pg->dirty) {
        pg->dirty = false;
        th->dirty_pages--;
    }
    pg->area = page_start(s, idx);
    pg->reserved = 0;
    pg->bsize = (size_t)(page_end(s, idx) - pg->area); /* the caller sets the block size */
    return pg;
}

static void segment_unuse(shard_theap *th, shard_segment *s);

void shard_segment_page_free(shard_theap *th, shard_page *pg)
{
    shard_segment *s = shard_segment_of(pg);
    size_t idx = (size_t)(pg - s->pages);
    __atomic_store_n(&pg->theap, NULL, __ATOMIC_RELAXED);
    pg->in_use = false;
    __atomic_store_n(&pg->flags, 0, __ATOMIC_RELAXED);
    pg->free = pg->local_free = NULL;
    if (pg->capacity) {
        uint8_t *a = page_start(s, idx);
        shard_poison(a, (size_t)(page_end(s, idx) - a));
        uint64_t t = shard_now_ns();
        pg->dirty = true;
        pg->stamp = t;
        if (!th->dirty_pages || t + SHARD_PURGE_DELAY_NS < th->purge_due)
            th->purge_due = t + SHARD_PURGE_DELAY_NS;
        th->dirty_pages++;
    }
    pg->capacity = 0;
    __atomic_fetch_sub(&th->heap->held, (uint64_t)pg->reserved * pg->bsize, __ATOMIC_RELAXED);
    pg->reserved = pg->span = 0;
    s->free_mask |= (uint64_t)1 << idx;
    avail_push(th, s);
    segment_unuse(th, s);
}

/* s leaves th: its dirty pages stop counting for th. */
static void segment_detach(shard_theap *th, shard_segment *s)
{
    uint64_t oldest = UINT64_MAX;
    th->dirty_pages -= dirty_count(s, &oldest);
    avail_remove(th, s);
    segments_remove(th, s);
}

/* One page fewer in use; an empty segment beyond th's own cache goes to
 * the heap's. */
static void segment_unuse(shard_theap *th, shard_segment *s)
{
    if (--s->used_pages == 0 && ++th->empty_segments > SHARD_SEGMENT_CACHE) {
        segment_detach(th, s);
        th->empty_segments--;
        if (shard_secure)
            shard_segment_release(th->heap, s, th->paths);
        else
            cache_put(th->heap, s, th->paths);
    }
}

/* Every empty segment of th to the heap's cache (exit) or unmapped (trim). */
int shard_trim_segments(shard_theap *th, bool to_cache)
{
    int n = 0;
    shard_segment *next;
    for (shard_segment *s = th->segments; s; s = next) {
        next = s->next;
        if (s->used_pages)
            continue;
        segment_detach(th, s);
        th->empty_segments--;
        if (to_cache && !shard_secure)
            cache_put(th->heap, s, th->paths);
        else
            shard_segment_release(th->heap, s, th->paths);
        n++;
    }
    return n;
}

/* ---- abandoning and reclaiming ---- */
/* The calling thread is done with th: its empty pages and segments go
 * back, the rest goes to the heap's abandoned list. */
void shard_abandon_all(shard_theap *th)
{
    nf_heap *h = th->heap;
    shard_theap_collect(th, true);
    shard_trim_segments(th, true);
    shard_segment *s = th->segments;
    while (s) {
        shard_segment *next = s->next;
        for (size_t i = 0; i < s->npages; i++) {
            shard_page *pg = &s->pages[i];
            if (!pg->in_use)
                continue;
            shard_page_flags_clear(pg, SHARD_PAGE_IN_FULL);
            pg->next = pg->prev = NULL;
            shard_tf_set_state(pg, SHARD_TF_NORMAL);
            __atomic_store_n(&pg->theap, NULL, __ATOMIC_RELAXED);
        }
        s->theap = NULL;
        s->in_avail = false;
        pthread_mutex_lock(&h->lock);
        s->prev = NULL;
        s->next = h->abandoned;
        h->abandoned = s;
        __atomic_fetch_add(&h->abandoned_count, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&h->lock);
        SHARD_INC(th->paths[SHARD_PATH_ABANDON]);
        s = next;
    }
    th->segments = NULL;
    for (int k = 0; k < SHARD_KINDS; k++)
        th->avail[k] = NULL;
    th->empty_segments = 0;
    th->dirty_pages = 0;
    for (size_t b = 0; b <= SHARD_NBINS; b++)
        th->queues[b].first = th->queues[b].last = NULL;
    for (size_t i = 0; i < SHARD_DIRECT_COUNT; i++)
        th->pages_direct[i] = &shard_empty_page;
    th->retired_bins = 0;
}

bool shard_reclaim(shard_theap *th)
{
    nf_heap *h = th->heap;
    if (!__atomic_load_n(&h->abandoned_count, __ATOMIC_RELAXED))
        return false;
    shard_segment *got = NULL;
    pthread_mutex_lock(&h->lock);
    for (int n = 0; n < SHARD_RECLAIM_MAX && h->abandoned; n++) {
        shard_segment *s = h->abandoned;
        h->abandoned = s->next;
        s->next = got;
        got = s;
        __atomic_fetch_sub(&h->abandoned_count, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&h->lock);
    if (!got)
        return false;
    while (got) {
        shard_segment *s = got;
        got = s->next;
        segments_push(th, s);
        s->in_avail = false;
        if (s->free_mask)
            avail_push(th, s);
        adopt_dirty(th, s);
        SHARD_INC(th->paths[SHARD_PATH_RECLAIM]);
        s->used_pages++; /* pinned: freeing its pages must not unmap it under us */
        for (size_t i = 0; i < s->npages; i++) {
            shard_page *pg = &s->pages[i];
            if (!pg->in_use)
                continue;
            __atomic_store_n(&pg->theap, th, __ATOMIC_RELEASE);
            shard_page_requeue(th, pg);
        }
        segment_unuse(th, s);
    }
    return true;
}
