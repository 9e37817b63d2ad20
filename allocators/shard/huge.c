/* huge.c: huge blocks (above SHARD_LARGE_MAX, or aligned beyond a page):
 * a segment each, and the heap's cache of freed ones.
 *
 * Why a cache with a budget: a fresh mapping faults every 4 KiB page again
 * (10-40 us each under a hypervisor) where reusing a resident block costs
 * a write (~0.1 us a page), so a program that frees and mallocs huge
 * blocks in turn should get its freed blocks back, resident. How much to
 * keep follows the program: the cache may hold what the live huge bytes
 * stayed below their recent peak (the highest live huge bytes over the
 * current and the previous SHARD_HUGE_WINDOW_NS window), so a program
 * that replaces blocks keeps reusing, and one whose huge use fell keeps
 * nothing once the windows have passed. Each cached block is also
 * unmapped SHARD_PURGE_DELAY_NS after it was freed: an idle program gives
 * it all back at its next call into the allocator.
 *
 * Reuse: the smallest cached block that fits; one more than an eighth too
 * big has its tail, from the next segment boundary, split off in place
 * into a cached block of its own (still resident, no system call). None fits: the largest cached blocks are
 * moved side by side into one new range with the page source's remap
 * (mremap: page tables move, no byte is copied or faulted), the last one
 * grown when they add up to less (only that tail faults). realloc grows a
 * huge block the same way, with cached blocks moved in behind it, and
 * shrinks one in place. */
#include <errno.h>
#include <string.h>

#include "../misuse.h"
#include "shard.h"

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The recent peak of live huge bytes (under lock): the windows rolled to t. */
static size_t peak_locked(nf_heap *h, uint64_t t)
{
    if (t - h->huge_window >= SHARD_HUGE_WINDOW_NS) {
        h->huge_max_prev = t - h->huge_window >= 2 * SHARD_HUGE_WINDOW_NS ? h->huge_live : h->huge_max_cur;
        h->huge_max_cur = h->huge_live;
        h->huge_window = t;
    }
    return max_size(h->huge_max_prev, h->huge_max_cur);
}

/* live huge bytes change by delta (under lock). */
static void live_add_locked(nf_heap *h, int64_t delta, uint64_t t)
{
    h->huge_live = (size_t)((int64_t)h->huge_live + delta);
    peak_locked(h, t);
    h->huge_max_cur = max_size(h->huge_max_cur, h->huge_live);
}

static void cache_unlink_locked(nf_heap *h, shard_segment **link)
{
    shard_segment *s = *link;
    *link = s->next;
    __atomic_store_n(&h->huge_cache_count, h->huge_cache_count - 1, __ATOMIC_RELAXED);
    h->huge_cache_bytes -= s->size;
}

/* Take the cached huge segments freed before t - delay (all: now), and the
 * oldest beyond the budget, off the cache; the caller unmaps them with
 * shard_huge_release_list after unlocking. due: lowered to when the next
 * one expires. */
shard_segment *shard_huge_expire_locked(nf_heap *h, bool now, uint64_t t, uint64_t *due)
{
    shard_segment *out = NULL, **link = &h->huge_cache;
    size_t peak = now ? 0 : peak_locked(h, t);
    size_t budget = peak > h->huge_live ? peak - h->huge_live : 0;
    size_t kept = 0;
    while (*link) {
        shard_segment *s = *link;
        /* newest first: what no longer fits the budget is the oldest */
        if (now || s->pages[0].stamp + SHARD_PURGE_DELAY_NS <= t || kept + s->size > budget) {
            cache_unlink_locked(h, link);
            s->next = out;
            out = s;
        } else {
            kept += s->size;
            if (due && s->pages[0].stamp + SHARD_PURGE_DELAY_NS < *due)
                *due = s->pages[0].stamp + SHARD_PURGE_DELAY_NS;
            link = &s->next;
        }
    }
    return out;
}

void shard_huge_release_list(nf_heap *h, shard_segment *s)
{
    while (s) {
        shard_segment *next = s->next;
        shard_segment_release(h, s, NULL);
        s = next;
    }
}

/* Unmap s's bytes past total (a multiple of SHARD_OS_PAGE below s->size);
 * segment map entries wholly past the new end cleared. Not under lock. */
static void cut_tail(nf_heap *h, shard_segment *s, size_t total)
{
    size_t old = s->size;
    if (total == old)
        return;
    size_t keep_idx = (total + SHARD_SEGMENT_SIZE - 1) >> SHARD_SEGMENT_SHIFT;
    size_t old_idx = (old + SHARD_SEGMENT_SIZE - 1) >> SHARD_SEGMENT_SHIFT;
    uintptr_t base = (uintptr_t)s >> SHARD_SEGMENT_SHIFT;
    for (size_t k = keep_idx; k < old_idx; k++)
        __atomic_store_n(&shard_segmap[base + k], SHARD_SEGMAP_NONE, __ATOMIC_RELAXED);
    shard_unpoison((uint8_t *)s + total, old - total);
    nf_pages_unmap(h->ps, (uint8_t *)s + total, old - total);
    s->size = total;
    shard_mapped_add(h, -(int64_t)(old - total));
}

static bool cache_put(nf_heap *h, shard_segment *s);

/* s's bytes from the first segment boundary at or past total split off
 * in place, without a system call, as a cached block of their own (still
 * resident), when they are at least SHARD_HUGE_SPLIT_MIN; s keeps the
 * rest (less than a segment over total). */
static void split_tail(nf_heap *h, shard_segment *s, size_t total)
{
    size_t cut = (total + SHARD_SEGMENT_SIZE - 1) & ~(SHARD_SEGMENT_SIZE - 1);
    if (shard_secure || cut >= s->size || s->size - cut < SHARD_HUGE_SPLIT_MIN)
        return;
    size_t len = s->size - cut;
    shard_segment *t = (shard_segment *)((uint8_t *)s + cut);
    shard_unpoison(t, sizeof *t);
    memset(t, 0, offsetof(shard_segment, pages) + sizeof(shard_page));
    t->heap = h;
    t->size = len;
    t->kind = SHARD_HUGE;
    t->page_shift = 63;
    t->npages = 1;
    t->used_pages = 1;
    s->size = cut;
    shard_segmap_set(t, len, SHARD_SEGMAP_START);
    if (!cache_put(h, t))
        shard_segment_release(h, t, NULL);
}

/* nf_pages_move (pages.h); false: nothing moved. */
static bool move_pages(nf_heap *h, uint8_t *src, size_t len, uint8_t *dst)
{
    int r = nf_pages_move(h->ps, src, len, dst);
    if (r == -2)
        nf_alloc_die("shard", "realloc", src, "pages moved for a growing block could not be put back");
    return r == 0;
}

/* Where gather's pieces will end: at total, or past it by what the last
 * one keeps up to its next segment boundary (split_tail's rule). */
static size_t gather_end(const shard_segment *list, size_t total)
{
    size_t at = 0;
    for (const shard_segment *s = list; s && at < total; s = s->next) {
        size_t len = s->size;
        if (at + len > total) {
            size_t cut = (total - at + SHARD_SEGMENT_SIZE - 1) & ~(SHARD_SEGMENT_SIZE - 1);
            if (!shard_secure && cut < len && len - cut >= SHARD_HUGE_SPLIT_MIN)
                len = cut;
        }
        at += len;
    }
    return at > total ? at : total;
}

/* The segments of list (through next) moved, their pages and not their
 * bytes, one after the other into one new place of total bytes aligned to
 * a segment: the last one grown when they add up to less, cut when to
 * more. The caller owns them: no other thread reaches them. NULL when the
 * page source cannot: every segment of list unmapped, or with keep (realloc:
 * the first is a live block) the first left as it was and the rest
 * unmapped. With keep, once the first has moved it is never lost: if a
 * later one cannot follow, the rest of the range is fresh memory, or the
 * block ends there (the caller sees a smaller block). */
static shard_segment *gather(nf_heap *h, shard_segment *list, size_t total, bool keep)
{
    size_t room = gather_end(list, total);
    uint8_t *dst = NULL;
    if (!shard_secure && nf_pages_can_remap(h->ps))
        dst = shard_map_aligned(h->ps, room, SHARD_SEGMENT_SIZE, 0, NF_MAP_NOACCESS);
    if (!dst) {
        shard_huge_release_list(h, keep ? list->next : list);
        if (keep)
            list->next = NULL;
        return NULL;
    }
    size_t at = 0, moved = 0;
    shard_segment *s = list;
    while (s && at < total) {
        shard_segment *next = s->next;
        /* one bigger than what is left gives its tail, from a segment
         * boundary, back to the cache (resident, as it was: cutting it
         * off unmapped resident pages); it keeps the less than a segment
         * it has over, so the block may end up to that much past total.
         * The last one short of total is grown into fresh pages. */
        if (at + s->size > total)
            split_tail(h, s, total - at);
        size_t old = s->size, len = !next && at + old < total ? total - at : old;
        shard_segmap_set(s, old, SHARD_SEGMAP_NONE);
        shard_unpoison(s, old);
        if (!move_pages(h, (uint8_t *)s, old, dst + at) ||
            (len > old && nf_pages_protect(h->ps, dst + at + old, len - old, NF_PROT_READ | NF_PROT_WRITE) != 0)) {
            if (len > old && !move_pages(h, dst + at, old, (uint8_t *)s)) /* moved, but the tail could not open */
                nf_alloc_die("shard", "realloc", s, "pages moved for a growing block could not be put back");
            shard_segmap_set(s, old, SHARD_SEGMAP_START);
            break;
        }
        shard_mapped_add(h, (int64_t)len - (int64_t)old);
        at += len;
        moved++;
        s = next;
    }
    if (at < total && keep && moved) {
        /* the live block is whole at dst; what could not follow it goes */
        shard_huge_release_list(h, s);
        s = NULL;
        if (nf_pages_protect(h->ps, dst + at, total - at, NF_PROT_READ | NF_PROT_WRITE) == 0) {
            shard_mapped_add(h, (int64_t)(total - at));
            at = total;
        }
    } else if (at < total) { /* a remap failed: what moved is unmapped with the reservation */
        shard_mapped_add(h, -(int64_t)at);
        nf_pages_unmap(h->ps, dst, room);
        if (keep) { /* nothing moved: the first is where it was */
            shard_huge_release_list(h, s->next);
            s->next = NULL;
            return NULL;
        }
        shard_huge_release_list(h, s);
        return NULL;
    }
    shard_huge_release_list(h, s); /* left over: not needed */
    if (room > at)                 /* a remap failed: the reservation past the block */
        nf_pages_unmap(h->ps, dst + at, room - at);
    shard_segment *g = (shard_segment *)dst;
    g->size = at;
    shard_segmap_set(g, at, SHARD_SEGMAP_START);
    return g;
}

/* Off the cache, for total bytes: the smallest cached block that holds
 * them alone (*alone), else, when blocks can be moved, the largest ones
 * until they add up (a list through next, the largest first: it keeps its
 * header at the start). NULL: nothing cached. The caller owns what it gets. */
static shard_segment *cache_pick(nf_heap *h, size_t total, bool *alone)
{
    *alone = false;
    if (!__atomic_load_n(&h->huge_cache_count, __ATOMIC_RELAXED))
        return NULL;
    bool can_gather = !shard_secure && nf_pages_can_remap(h->ps);
    pthread_mutex_lock(&h->lock);
    shard_segment **fit = NULL;
    for (shard_segment **link = &h->huge_cache; *link; link = &(*link)->next) {
        size_t sz = (*link)->size;
        if (sz >= total && (!fit || sz < (*fit)->size))
            fit = link;
    }
    shard_segment *list = NULL;
    if (fit) {
        list = *fit;
        cache_unlink_locked(h, fit);
        list->next = NULL;
        *alone = true;
    } else if (can_gather) {
        shard_segment **end = &list;
        for (size_t sum = 0; sum < total && h->huge_cache;) {
            shard_segment **big = &h->huge_cache;
            for (shard_segment **link = &h->huge_cache; *link; link = &(*link)->next)
                if ((*link)->size > (*big)->size)
                    big = link;
            shard_segment *b = *big;
            cache_unlink_locked(h, big);
            sum += b->size;
            b->next = NULL;
            *end = b;
            end = &b->next;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return list;
}

/* A cached segment for total bytes: the smallest that fits (its tail split
 * off when it is more than an eighth too big and a segment boundary
 * allows), else the largest ones put together and grown (gather); NULL:
 * none. */
static shard_segment *cache_take(nf_heap *h, size_t total)
{
    bool alone;
    shard_segment *s = cache_pick(h, total, &alone);
    if (s && !alone)
        return gather(h, s, total, false);
    if (s && s->size - total > total / 8)
        split_tail(h, s, total);
    return s;
}

/* s (freed, off the huge list) into the cache; false: no room. */
static bool cache_put(nf_heap *h, shard_segment *s)
{
    if (shard_secure)
        return false;
    uint64_t t = shard_now_ns();
    pthread_mutex_lock(&h->lock);
    s->pages[0].in_use = false;
    s->pages[0].stamp = t;
    s->next = h->huge_cache;
    h->huge_cache = s;
    __atomic_store_n(&h->huge_cache_count, h->huge_cache_count + 1, __ATOMIC_RELAXED);
    h->huge_cache_bytes += s->size;
    /* over the budget or the count: the oldest go (s itself when it alone
     * is over) */
    uint64_t due = UINT64_MAX;
    shard_segment *evict = shard_huge_expire_locked(h, false, t, &due);
    while (h->huge_cache_count > SHARD_HUGE_CACHE) {
        shard_segment **link = &h->huge_cache;
        while ((*link)->next)
            link = &(*link)->next;
        shard_segment *o = *link;
        cache_unlink_locked(h, link);
        o->next = evict;
        evict = o;
    }
    bool kept = h->huge_cache_count > 0 && due != UINT64_MAX;
    if (kept &&
        (!__atomic_load_n(&h->cache_dirty, __ATOMIC_RELAXED) || due < __atomic_load_n(&h->cache_due, __ATOMIC_RELAXED)))
        __atomic_store_n(&h->cache_due, due, __ATOMIC_RELAXED);
    if (kept)
        __atomic_store_n(&h->cache_dirty, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&h->lock);
    /* s was in the cache, so it may be among the evicted: unmapped there,
     * counted as a cached segment unmapped, which it is */
    shard_huge_release_list(h, evict);
    return true;
}

static void huge_list_push_locked(nf_heap *h, shard_segment *s)
{
    s->prev = NULL;
    s->next = h->huge;
    if (h->huge)
        h->huge->prev = s;
    h->huge = s;
}

static void huge_list_remove_locked(nf_heap *h, shard_segment *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        h->huge = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* The block starts off bytes into its segment: after the header, aligned
 * to align; an alignment of a segment or more puts it one segment in, and
 * the segment is placed so that s + off is aligned. */
void *shard_huge_alloc(nf_heap *h, shard_theap *th, size_t size, size_t align)
{
    if (align < SHARD_ALIGN)
        align = SHARD_ALIGN;
    if (size >= SHARD_REQUEST_MAX || align >= SHARD_REQUEST_MAX) { /* none of the sums below can wrap */
        errno = ENOMEM;
        return NULL;
    }
    if (size == 0) /* the block must lie inside its mapping, not at its end */
        size = 1;
    if (__atomic_load_n(&h->cache_dirty, __ATOMIC_RELAXED))
        shard_cache_purge(h, false); /* a program of huge blocks only expires its cache here */
    size_t seg_align = align > SHARD_SEGMENT_SIZE ? align : SHARD_SEGMENT_SIZE;
    size_t off = align < SHARD_SEGMENT_SIZE ? (SHARD_SEGMENT_HDR + align - 1) & ~(align - 1) : SHARD_SEGMENT_SIZE;
    size_t guard = shard_secure ? SHARD_OS_PAGE : 0;
    size_t total = (off + size + SHARD_OS_PAGE - 1) & ~(SHARD_OS_PAGE - 1);
    total += guard;
    shard_segment *s = seg_align == SHARD_SEGMENT_SIZE ? cache_take(h, total) : NULL;
    bool fresh = s == NULL;
    if (s)
        total = s->size; /* the whole cached mapping is the block */
    else if (!(s = shard_segment_map(h, total, seg_align, seg_align == SHARD_SEGMENT_SIZE ? 0 : off,
                                     th ? th->paths : NULL)))
        return NULL;
    if (guard)
        nf_pages_protect(h->ps, (uint8_t *)s + total - guard, guard, NF_PROT_NONE);
    s->theap = NULL;
    s->kind = SHARD_HUGE;
    s->page_shift = 63; /* every pointer of the block is page 0 */
    s->npages = 1;
    s->used_pages = 1;
    s->free_mask = 0;
    s->in_avail = false;
    shard_page *pg = &s->pages[0];
    memset(pg, 0, sizeof *pg);
    pg->in_use = true;
    pg->area = (uint8_t *)s + off;
    pg->bsize = total - guard - off;
    pg->capacity = pg->reserved = 1;
    pg->used = 1;
    pg->dirty = !fresh; /* a huge block: recycled, so not zero (calloc clears it) */
    pthread_mutex_lock(&h->lock);
    huge_list_push_locked(h, s);
    live_add_locked(h, (int64_t)s->size, shard_now_ns());
    pthread_mutex_unlock(&h->lock);
    if (fresh)
        shard_segmap_set(s, total, SHARD_SEGMAP_START);
    __atomic_fetch_add(&h->held, pg->bsize, __ATOMIC_RELAXED);
    shard_count(h, th ? th->paths : NULL, SHARD_PATH_HUGE);
    return pg->area;
}

void shard_huge_free(nf_heap *h, shard_theap *th, shard_segment *s)
{
    pthread_mutex_lock(&h->lock);
    huge_list_remove_locked(h, s);
    live_add_locked(h, -(int64_t)s->size, shard_now_ns());
    pthread_mutex_unlock(&h->lock);
    __atomic_fetch_sub(&h->held, s->pages[0].bsize, __ATOMIC_RELAXED);
    shard_count(h, th ? th->paths : NULL, SHARD_PATH_FREE_HUGE);
    if (!cache_put(h, s))
        shard_segment_release(h, s, th ? th->paths : NULL);
}

/* realloc of the huge block p (its segment s) to n > SHARD_LARGE_MAX bytes
 * in place or by moving its pages. A growth takes cached blocks for the
 * grown part (the smallest that holds it, else the largest ones) and moves
 * them in behind the block: nothing is copied, and only what the cache
 * cannot give is faulted in (copying into a cached block was the other
 * way: it cost two thirds of the time of the `large` workload). Returns
 * the block, moved or not: the caller copies when it is still smaller
 * than n. */
void *shard_huge_realloc(nf_heap *h, shard_segment *s, void *p, size_t n)
{
    shard_page *pg = &s->pages[0];
    size_t off = (size_t)(pg->area - (uint8_t *)s);
    if (shard_secure || p != pg->area || off >= SHARD_SEGMENT_SIZE || n >= SHARD_REQUEST_MAX ||
        !nf_pages_can_remap(h->ps))
        return p;
    size_t total = (off + n + SHARD_OS_PAGE - 1) & ~(SHARD_OS_PAGE - 1);
    size_t old_bsize = pg->bsize, old_size = s->size;
    if (total == old_size)
        return p;
    pthread_mutex_lock(&h->lock);
    huge_list_remove_locked(h, s);
    pthread_mutex_unlock(&h->lock);
    shard_segment *q = s;
    s->next = NULL;
    if (total < old_size) {
        cut_tail(h, s, total);
    } else {
        size_t need = total - old_size;
        bool alone;
        shard_segment *fill = cache_pick(h, need, &alone);
        if (fill && alone && fill->size - need > need / 8)
            split_tail(h, fill, need);
        s->next = fill;
        if (!(q = gather(h, s, total, true)))
            q = s;
    }
    pg = &q->pages[0];
    pg->area = (uint8_t *)q + off;
    pg->bsize = q->size - off;
    pthread_mutex_lock(&h->lock);
    huge_list_push_locked(h, q);
    live_add_locked(h, (int64_t)q->size - (int64_t)old_size, shard_now_ns());
    pthread_mutex_unlock(&h->lock);
    if (pg->bsize >= old_bsize)
        __atomic_fetch_add(&h->held, pg->bsize - old_bsize, __ATOMIC_RELAXED);
    else
        __atomic_fetch_sub(&h->held, old_bsize - pg->bsize, __ATOMIC_RELAXED);
    return pg->area;
}
