/* page.c: pages in their queues, free lists grown and collected, and the
 * generic (slow) malloc path with its heartbeat. */
#include <errno.h>
#include <string.h>

#include "shard.h"

/* The page every pages_direct entry starts at: nothing free, so the fast
 * path falls through to the generic one. Never written. */
shard_page shard_empty_page;

/* ---- queues ---- */
static void direct_update(shard_theap *th, size_t bin)
{
    size_t lo_size = bin > 1 ? shard_bin_size(bin - 1) : 0;
    if (bin >= SHARD_BIN_FULL || lo_size >= SHARD_DIRECT_MAX)
        return;
    shard_page *pg = th->queues[bin].first;
    if (!pg)
        pg = &shard_empty_page;
    size_t lo = bin > 1 ? lo_size / 8 + 1 : 0, hi = shard_bin_size(bin) / 8;
    if (hi >= SHARD_DIRECT_COUNT)
        hi = SHARD_DIRECT_COUNT - 1;
    for (size_t i = lo; i <= hi; i++)
        th->pages_direct[i] = pg;
}

static void pq_remove(shard_theap *th, size_t q, shard_page *pg)
{
    shard_pageq *pq = &th->queues[q];
    bool was_first = pq->first == pg;
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        pq->first = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
    else
        pq->last = pg->prev;
    pg->next = pg->prev = NULL;
    if (was_first)
        direct_update(th, q);
}

static void pq_push_front(shard_theap *th, size_t q, shard_page *pg)
{
    shard_pageq *pq = &th->queues[q];
    pg->prev = NULL;
    pg->next = pq->first;
    if (pq->first)
        pq->first->prev = pg;
    else
        pq->last = pg;
    pq->first = pg;
    direct_update(th, q);
}

static void pq_push_back(shard_theap *th, size_t q, shard_page *pg)
{
    shard_pageq *pq = &th->queues[q];
    pg->next = NULL;
    pg->prev = pq->last;
    if (pq->last)
        pq->last->next = pg;
    else
        pq->first = pg;
    pq->last = pg;
    if (pq->first == pg)
        direct_update(th, q);
}

static size_t page_queue(const shard_page *pg) { return (pg->flags & SHARD_PAGE_IN_FULL) ? SHARD_BIN_FULL : pg->bin; }

/* ---- free lists ---- */
/* Carve about SHARD_EXTEND_BYTES more of the page into its free list
 * (which is empty). */
static void page_extend(shard_theap *th, shard_page *pg)
{
    size_t n = SHARD_EXTEND_BYTES / pg->bsize;
    if (n < SHARD_EXTEND_MIN)
        n = SHARD_EXTEND_MIN;
    if (n > pg->reserved - pg->capacity)
        n = pg->reserved - pg->capacity;
    uint8_t *start = pg->area + (size_t)pg->capacity * pg->bsize;
    shard_block *b = (shard_block *)start;
    for (size_t i = 0; i + 1 < n; i++) {
        shard_block *nb = (shard_block *)((uint8_t *)b + pg->bsize);
        shard_set_next(pg, b, nb);
        b = nb;
    }
    shard_set_next(pg, b, NULL);
    pg->free = (shard_block *)start;
    pg->capacity += (uint32_t)n;
    SHARD_INC(th->paths[SHARD_PATH_EXTEND]);
}

/* thread_free -> local_free, and local_free -> free when free is empty (or
 * force: appended). A thread_free list longer than the page is a cycle:
 * some block was freed twice. */
void shard_page_collect(shard_page *pg, bool force)
{
    uintptr_t tf = __atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED);
    if (tf & ~(uintptr_t)SHARD_TF_MASK) {
        while (!__atomic_compare_exchange_n(&pg->thread_free, &tf, tf & SHARD_TF_MASK, 1, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
            ;
        shard_block *head = (shard_block *)(tf & ~(uintptr_t)SHARD_TF_MASK), *tail = head;
        uint32_t n = 1;
        for (shard_block *nx; (nx = shard_next_checked(pg, tail)) != NULL; tail = nx)
            if (++n > pg->capacity)
                shard_die("double free (a cycle in a page's thread_free list) near", tail);
        shard_set_next(pg, tail, pg->local_free);
        pg->local_free = head;
        if (n > pg->used)
            shard_die("double free (more blocks returned than handed out) near", head);
        pg->used = (uint16_t)(pg->used - n); /* n <= used, checked above */
        shard_theap *th = shard_page_owner(pg);
        if (th)
            SHARD_INC(th->paths[SHARD_PATH_COLLECT]);
    }
    if (!pg->local_free)
        return;
    if (!pg->free) {
        pg->free = pg->local_free;
        pg->local_free = NULL;
    } else if (force) {
        shard_block *t = pg->free;
        uint32_t n = 0;
        for (shard_block *nx; (nx = shard_next_checked(pg, t)) != NULL; t = nx)
            if (++n > pg->capacity)
                shard_die("double free (a cycle in a page's free list) near", t);
        shard_set_next(pg, t, pg->local_free);
        pg->local_free = NULL;
    }
}

static bool tf_has_blocks(const shard_page *pg)
{
    return (__atomic_load_n(&pg->thread_free, __ATOMIC_ACQUIRE) & ~(uintptr_t)SHARD_TF_MASK) != 0;
}

static bool page_can_serve(const shard_page *pg) { return pg->free || pg->local_free || pg->capacity < pg->reserved; }

/* The page has nothing to give: into the full queue, where frees by other
 * threads are delayed (they notify us). */
static void page_to_full(shard_theap *th, shard_page *pg)
{
    pq_remove(th, pg->bin, pg);
    shard_page_flags_set(pg, SHARD_PAGE_IN_FULL);
    pq_push_back(th, SHARD_BIN_FULL, pg);
    shard_tf_set_state(pg, SHARD_TF_DELAYED);
    SHARD_INC(th->paths[SHARD_PATH_FULL]);
    if (tf_has_blocks(pg)) /* a free slipped in before DELAYED was seen */
        shard_page_unfull(th, pg);
}

void shard_page_unfull(shard_theap *th, shard_page *pg)
{
    shard_tf_set_state(pg, SHARD_TF_NORMAL);
    pq_remove(th, SHARD_BIN_FULL, pg);
    shard_page_flags_clear(pg, SHARD_PAGE_IN_FULL);
    pq_push_back(th, pg->bin, pg);
}

void shard_page_free(shard_theap *th, shard_page *pg)
{
    pq_remove(th, page_queue(pg), pg);
    shard_tf_set_state(pg, SHARD_TF_NORMAL);
    shard_segment_page_free(th, pg);
}

void shard_page_retire(shard_theap *th, shard_page *pg)
{
    if (pg->flags & SHARD_PAGE_IN_FULL)
        shard_page_unfull(th, pg);
    shard_pageq *pq = &th->queues[pg->bin];
    if (pq->first == pg && !pg->next) {
        /* the only page of its bin: keep it a while, the bin may come back */
        pg->stamp = th->generic_count + SHARD_RETIRE_GENERIC;
        th->retired_bins |= (uint64_t)1 << pg->bin;
        return;
    }
    shard_page_free(th, pg);
}

static void retired_collect(shard_theap *th)
{
    uint64_t m = th->retired_bins;
    while (m) {
        size_t b = (size_t)__builtin_ctzll(m);
        m &= m - 1;
        shard_page *pg = th->queues[b].first;
        if (!pg || pg->used != 0 || tf_has_blocks(pg)) {
            th->retired_bins &= ~((uint64_t)1 << b);
        } else if (pg->stamp <= th->generic_count) {
            th->retired_bins &= ~((uint64_t)1 << b);
            shard_page_free(th, pg);
        }
    }
}

/* After reclaim: collect the page and put it where it belongs. */
void shard_page_requeue(shard_theap *th, shard_page *pg)
{
    shard_page_flags_clear(pg, SHARD_PAGE_IN_FULL);
    pg->next = pg->prev = NULL;
    shard_page_collect(pg, false); /* no merge of free and local_free: used is exact without it */
    pq_push_back(th, pg->bin, pg);
    if (pg->used == 0)
        shard_page_free(th, pg);
    else if (!page_can_serve(pg))
        page_to_full(th, pg);
}

/* Full pages that other threads freed into go back to their bins. */
static void full_scan(shard_theap *th)
{
    shard_page *next;
    for (shard_page *pg = th->queues[SHARD_BIN_FULL].first; pg; pg = next) {
        next = pg->next;
        if (tf_has_blocks(pg)) {
            shard_page_unfull(th, pg);
            SHARD_INC(th->paths[SHARD_PATH_DELAYED]);
        }
    }
}

/* Collect every page; force: also free empty pages. */
void shard_theap_collect(shard_theap *th, bool force)
{
    full_scan(th);
    for (size_t b = 1; b < SHARD_BIN_FULL; b++) {
        shard_page *next;
        for (shard_page *pg = th->queues[b].first; pg; pg = next) {
            next = pg->next;
            /* used is exact without merging local_free into free (a walk
             * of the whole free list): force only frees empty pages */
            shard_page_collect(pg, false);
            if (force && pg->used == 0)
                shard_page_free(th, pg);
        }
    }
    if (force)
        th->retired_bins = 0;
}

void shard_live_flush(nf_heap *h, shard_theap *th)
{
    int64_t d = th->live_local;
    if (!d)
        return;
    __atomic_store_n(&th->live_local, 0, __ATOMIC_RELAXED);
    int64_t now = __atomic_add_fetch(&h->live, d, __ATOMIC_RELAXED);
    nf_kit_peak_i64(&h->peak_live, now);
}

/* splitmix64's finalizer: keys from the heap's secret, the page and when. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* New keys for each use of a page (shard_encode): the top two bits of
 * what 0 decodes to are 10, a non-canonical address, in both forms. */
static void page_keys(shard_theap *th, shard_page *pg)
{
    const uint64_t top = (uint64_t)3 << 62, ten = (uint64_t)2 << 62;
    uint64_t k0 = mix64(th->heap->secret ^ (uintptr_t)pg ^ (th->generic_count << 32));
    uint64_t k1 = mix64(k0 ^ th->heap->secret);
    if (!shard_secure) {
        k0 = (k0 & ~top) | ten;
    } else {
        uint64_t z = shard_rotr(0 - k0, k0); /* decode(0) = z ^ k1 */
        k1 = (((k1 ^ z) & ~top) | ten) ^ z;
    }
    pg->key = k0;
    pg->key2 = k1;
}

/* A fresh page for bin from a segment. */
static shard_page *page_fresh(shard_theap *th, size_t bin)
{
    size_t bsize = shard_bin_size(bin);
    shard_page *pg = shard_segment_page_alloc(th, shard_kind_of(bsize));
    if (!pg)
        return NULL;
    size_t room = pg->bsize; /* the page's byte span, set by the segment */
    pg->bsize = bsize;
    pg->bin = (uint8_t)bin;
    pg->reserved = (uint32_t)(room / bsize);
    pg->span = (uint32_t)(pg->reserved * bsize);
    pg->divmagic = UINT64_MAX / bsize + 1;
    pg->capacity = pg->used = 0;
    pg->free = pg->local_free = NULL;
    __atomic_store_n(&pg->flags, 0, __ATOMIC_RELAXED);
    page_keys(th, pg);
    pg->in_use = true;
    __atomic_store_n(&pg->thread_free, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pg->theap, th, __ATOMIC_RELEASE);
    __atomic_fetch_add(&th->heap->held, (uint64_t)pg->reserved * bsize, __ATOMIC_RELAXED);
    shard_poison(pg->area, (size_t)pg->reserved * bsize);
    SHARD_INC(th->paths[SHARD_PATH_FRESH_PAGE]);
    pq_push_front(th, bin, pg);
    return pg;
}

/* A page of bin with a free block, at the front of its queue. */
static SHARD_NOINLINE shard_page *find_page(shard_theap *th, size_t bin)
{
    if (__atomic_load_n(&th->delayed_notice, __ATOMIC_RELAXED) ||
        (th->generic_count & (SHARD_FULL_SCAN_INTERVAL - 1)) == 0) {
        __atomic_store_n(&th->delayed_notice, 0, __ATOMIC_RELAXED);
        full_scan(th);
    }
    if (__atomic_load_n(&th->heap->warm_count, __ATOMIC_RELAXED))
        shard_warm_expire(th->heap, false);
    if (th->retired_bins)
        retired_collect(th);
    if (th->dirty_pages)
        shard_purge(th, false);
    if (__atomic_load_n(&th->heap->cache_dirty, __ATOMIC_RELAXED))
        shard_cache_purge(th->heap, false);
    for (int attempt = 0; attempt < 2; attempt++) {
        shard_page *next;
        for (shard_page *pg = th->queues[bin].first; pg; pg = next) {
            next = pg->next;
            shard_page_collect(pg, false);
            if (!pg->free && pg->capacity < pg->reserved)
                page_extend(th, pg);
            if (pg->free) {
                if (th->queues[bin].first != pg) {
                    pq_remove(th, bin, pg);
                    pq_push_front(th, bin, pg);
                }
                return pg;
            }
            page_to_full(th, pg);
        }
        if (attempt == 0 && !shard_reclaim(th))
            break;
    }
    shard_page *pg = page_fresh(th, bin);
    if (pg)
        page_extend(th, pg);
    return pg;
}

/* Pop a block of size's bin from this thread's pages (size <= SHARD_LARGE_MAX). */
void *shard_page_pop_slow(shard_theap *th, size_t size)
{
    size_t bin = shard_bin(size);
    shard_page *pg = th->queues[bin].first;
    if (!pg || !pg->free) {
        pg = find_page(th, bin);
        if (!pg)
            return NULL;
    }
    shard_block *b = pg->free;
    if (shard_checks && !shard_link_ok(pg, b))
        shard_bad_link(pg, b);
    pg->free = shard_next(pg, b);
    if (shard_checks)
        b->next = 0;
    pg->used++;
    SHARD_ADD(th->live_local, (int64_t)pg->bsize);
    shard_unpoison(b, pg->bsize);
    return b;
}

SHARD_NOINLINE void *shard_malloc_generic(nf_heap *h, size_t size)
{
    shard_theap *th = shard_theap_get(h);
    if (!th) {
        errno = ENOMEM;
        return NULL;
    }
    SHARD_INC(th->generic_count);
    SHARD_INC(th->paths[SHARD_PATH_GENERIC]);
    SHARD_INC(th->mallocs);
    if (th->live_local > SHARD_LIVE_FLUSH || th->live_local < -SHARD_LIVE_FLUSH)
        shard_live_flush(h, th);
    void *p;
    if (size <= SHARD_LARGE_MAX) {
        p = shard_page_pop_slow(th, size);
    } else {
        p = shard_huge_alloc(h, th, size, SHARD_ALIGN);
        if (p) {
            shard_segment *s = shard_segment_of(p);
            SHARD_ADD(th->live_local, (int64_t)s->pages[0].bsize);
            shard_live_flush(h, th);
        }
    }
    if (!p)
        errno = ENOMEM;
    return p;
}
