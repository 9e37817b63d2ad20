/* arena.c: arenas and where their memory comes from: the break (main
 * arena), regions (the others), and giving memory back (trimming the top,
 * dropping free pages inside bins). Direct maps are in direct.c, the
 * lock's slow paths in lock.c. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "bins.h"

/* One bit per BINS_REGION_MAX of address space: set while a bins region of
 * any heap starts there. Lets free check a pointer without touching memory
 * that may not be mapped. 256 KiB of zero pages until used. */
uint64_t bins_region_bits[((uintptr_t)1 << (BINS_ADDR_BITS - BINS_REGION_SHIFT)) / 64];

static void region_mark(uintptr_t r, bool on)
{
    uintptr_t i = r >> BINS_REGION_SHIFT;
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (on)
        __atomic_fetch_or(&bins_region_bits[i / 64], bit, __ATOMIC_RELEASE);
    else
        __atomic_fetch_and(&bins_region_bits[i / 64], ~bit, __ATOMIC_RELEASE);
}

void bins_mapped_add(bins_heap *h, int64_t delta)
{
    uint64_t now = __atomic_add_fetch(&h->mapped, (uint64_t)delta, __ATOMIC_RELAXED);
    nf_kit_peak_u64(&h->peak_mapped, now);
}

static uintptr_t page_down(bins_heap *h, uintptr_t n) { return n & ~(uintptr_t)(h->page - 1); }

void bins_arena_init(bins_arena *ar, bins_heap *h, bool is_main)
{
    memset(ar, 0, sizeof *ar);
    bins_lock_init(&ar->lock);
    ar->heap = h;
    ar->is_main = is_main;
    for (size_t i = 0; i < BINS_NBINS; i++)
        ar->bins[i].fd = ar->bins[i].bk = &ar->bins[i];
    ar->top0.size = 0;
    ar->top = &ar->top0;
}

/* ---- regions (non-main arenas) ---- */

/* Reserve a BINS_REGION_MAX range aligned to itself and open its first
 * `open` bytes. */
static bins_region *region_new(bins_heap *h, size_t open)
{
    nf_pages *ps = h->ps;
    char *p = nf_pages_map(ps, 2 * BINS_REGION_MAX, NF_MAP_NOACCESS);
    if (!p)
        return NULL;
    uintptr_t a = ((uintptr_t)p + BINS_REGION_MAX - 1) & ~(uintptr_t)(BINS_REGION_MAX - 1);
    if (a > (uintptr_t)p)
        nf_pages_unmap(ps, p, a - (uintptr_t)p);
    if ((uintptr_t)p + 2 * BINS_REGION_MAX > a + BINS_REGION_MAX)
        nf_pages_unmap(ps, (void *)(a + BINS_REGION_MAX), (uintptr_t)p + 2 * BINS_REGION_MAX - a - BINS_REGION_MAX);
    if (nf_pages_protect(ps, (void *)a, open, NF_PROT_READ | NF_PROT_WRITE) != 0) {
        nf_pages_unmap(ps, (void *)a, BINS_REGION_MAX);
        return NULL;
    }
    bins_region *r = (bins_region *)a;
    r->size = r->opened = open;
    r->magic = h->secret ^ a;
    region_mark(a, true);
    bins_mapped_add(h, (int64_t)open);
    return r;
}

void bins_region_release(bins_heap *h, bins_region *r)
{
    size_t size = r->size;
    bins_unpoison(r, size);
    r->magic = 0;
    region_mark((uintptr_t)r, false);
    nf_pages_unmap(h->ps, r, BINS_REGION_MAX);
    bins_mapped_add(h, -(int64_t)size);
}

/* Retire the old top (too small, or not at the end of the new memory):
 * two fenceposts at its end keep coalescing inside it, the rest is freed. */
static void retire_top_locked(bins_arena *ar)
{
    bins_chunk *t = ar->top;
    size_t tsz = csize(t), arena_bit = ar->is_main ? 0 : NON_MAIN_ARENA;
    if (t == &ar->top0 || tsz < 2 * BINS_HDR)
        return;
    size_t body = tsz - 2 * BINS_HDR;
    set_head(chunk_at(t, body), BINS_HDR | PREV_INUSE | arena_bit);
    set_head(chunk_at(t, body + BINS_HDR), BINS_HDR | PREV_INUSE | arena_bit);
    set_head(t, body | PREV_INUSE | arena_bit);
    ar->top = &ar->top0;
    if (body >= BINS_MINSIZE)
        bins_free_chunk_locked(ar, t);
}

static void set_top(bins_arena *ar, void *start, void *end)
{
    bins_chunk *t = start;
    set_head(t, ((uintptr_t)end - (uintptr_t)start) | PREV_INUSE | (ar->is_main ? 0 : NON_MAIN_ARENA));
    ar->top = t;
    bins_poison(start, (uintptr_t)end - (uintptr_t)start);
}

static bins_arena *arena_new(bins_heap *h)
{
    size_t hdr = (sizeof(bins_region) + sizeof(bins_arena) + BINS_ALIGN - 1) & ~(BINS_ALIGN - 1);
    size_t open = bins_page_up(h, hdr + BINS_REGION_MIN);
    bins_region *r = region_new(h, open);
    if (!r)
        return NULL;
    bins_arena *ar = (bins_arena *)(r + 1);
    bins_arena_init(ar, h, false);
    r->ar = ar;
    r->prev = NULL;
    ar->region = r;
    set_top(ar, (char *)r + hdr, (char *)r + open);
    return ar;
}

static bool grow_region_locked(bins_arena *ar, size_t nb)
{
    bins_heap *h = ar->heap;
    bins_region *r = ar->region;
    size_t tsz = csize(ar->top);
    size_t need = bins_page_up(h, nb + BINS_MINSIZE - (tsz < nb + BINS_MINSIZE ? tsz : 0));
    /* glibc's grow_heap: only what lies past the high-water mark needs
     * opening; below it, trim dropped the pages but left the protection */
    if (r->size + need <= BINS_REGION_MAX &&
        (r->size + need <= r->opened || nf_pages_protect(h->ps, (char *)r + r->opened, r->size + need - r->opened,
                                                         NF_PROT_READ | NF_PROT_WRITE) == 0)) {
        if (r->size + need > r->opened)
            r->opened = r->size + need;
        bins_poison((char *)r + r->size, need);
        set_head(ar->top, chunk_head(ar->top) + need);
        __atomic_store_n(&r->size, r->size + need, __ATOMIC_RELAXED);
        bins_mapped_add(h, (int64_t)need);
        return true;
    }
    size_t hdr = sizeof(bins_region);
    size_t open = bins_page_up(h, hdr + nb + BINS_MINSIZE + h->top_pad);
    if (open < BINS_REGION_MIN)
        open = BINS_REGION_MIN;
    if (open > BINS_REGION_MAX)
        return false;
    bins_region *nr = region_new(h, open);
    if (!nr)
        return false;
    nr->ar = ar;
    nr->prev = r;
    retire_top_locked(ar);
    ar->region = nr;
    set_top(ar, (char *)nr + hdr, (char *)nr + open);
    return true;
}

/* ---- the main arena: the break, or mapped segments when it cannot grow ---- */

static bool add_segment(bins_heap *h, uintptr_t start, uintptr_t end, bool is_map)
{
    size_t n = h->nsegs;
    if (n >= BINS_MAIN_SEGMENTS)
        return false;
    __atomic_store_n(&h->segs[n].start, start, __ATOMIC_RELAXED);
    __atomic_store_n(&h->segs[n].end, end, __ATOMIC_RELAXED);
    h->segs[n].is_map = is_map;
    __atomic_store_n(&h->nsegs, n + 1, __ATOMIC_RELEASE);
    return true;
}

static bool top_ends_brk(bins_heap *h, bins_arena *ar)
{
    return h->brk_seg >= 0 && ar->top != &ar->top0 && (uintptr_t)ar->top + csize(ar->top) == h->segs[h->brk_seg].end;
}

static bool grow_main_locked(bins_arena *ar, size_t nb)
{
    bins_heap *h = ar->heap;
    size_t tsz = csize(ar->top);
    bool contiguous = top_ends_brk(h, ar);
    size_t size = nb + h->top_pad + BINS_MINSIZE;
    if (contiguous)
        size -= tsz < size - BINS_MINSIZE ? tsz : 0;
    size = bins_page_up(h, size);
    char *old = nf_pages_grow(h->ps, (intptr_t)size);
    if (old && h->brk_seg >= 0 && (uintptr_t)old == h->segs[h->brk_seg].end) {
        bins_segment *s = &h->segs[h->brk_seg];
        __atomic_store_n(&s->end, s->end + size, __ATOMIC_RELAXED);
        bins_mapped_add(h, (int64_t)size);
        bins_poison(old, size);
        if (contiguous) {
            set_head(ar->top, chunk_head(ar->top) + size);
        } else {
            retire_top_locked(ar);
            set_top(ar, old, old + size);
        }
        return true;
    }
    if (old) { /* the first growth, or someone else moved the break */
        uintptr_t start = ((uintptr_t)old + BINS_ALIGN - 1) & ~(uintptr_t)(BINS_ALIGN - 1);
        uintptr_t end = ((uintptr_t)old + size) & ~(uintptr_t)(BINS_ALIGN - 1);
        if (add_segment(h, (uintptr_t)old, (uintptr_t)old + size, false)) {
            h->brk_seg = (int)h->nsegs - 1;
            bins_mapped_add(h, (int64_t)size);
            retire_top_locked(ar);
            set_top(ar, (void *)start, (void *)end);
            return true;
        }
        nf_pages_grow(h->ps, -(intptr_t)size);
    }
    /* The break cannot grow: map a segment, as glibc falls back to mmap. */
    size_t len = bins_page_up(h, nb + BINS_MINSIZE + h->top_pad);
    if (len < ((size_t)1 << 20))
        len = (size_t)1 << 20;
    char *m = nf_pages_map(h->ps, len, 0);
    if (!m)
        return false;
    if (!add_segment(h, (uintptr_t)m, (uintptr_t)m + len, true)) {
        nf_pages_unmap(h->ps, m, len);
        return false;
    }
    bins_mapped_add(h, (int64_t)len);
    retire_top_locked(ar);
    set_top(ar, m, m + len);
    return true;
}

bool bins_grow_top_locked(bins_arena *ar, size_t nb)
{
    return ar->is_main ? grow_main_locked(ar, nb) : grow_region_locked(ar, nb);
}

/* ---- giving memory back ---- */

/* glibc's heap_trim, its first part: while the top is all of a later
 * region (nothing of the arena lives there any more), the region goes
 * back whole and the previous region's last chunk becomes the top again:
 * the free chunk before the fenceposts retire_top_locked left (taken out
 * of its bin), with them. Not when that top and the room left to open
 * behind it would be under pad plus a page. */
void bins_drop_regions_locked(bins_arena *ar, size_t pad)
{
    bins_heap *h = ar->heap;
    size_t arena_bit = NON_MAIN_ARENA;
    for (;;) {
        bins_region *r = ar->region, *prev = r->prev;
        if (!prev || (uintptr_t)ar->top != (uintptr_t)r + sizeof(bins_region))
            return;
        uintptr_t end = (uintptr_t)prev + prev->size;
        bins_chunk *t = (bins_chunk *)(end - 2 * BINS_HDR); /* the first fencepost */
        if (!(chunk_head(t) & PREV_INUSE))
            t = prev_chunk(t);
        size_t tsz = end - (uintptr_t)t;
        if (tsz + (BINS_REGION_MAX - prev->size) < pad + BINS_MINSIZE + h->page)
            return;
        if (tsz > 2 * BINS_HDR)
            bins_unlink_locked(ar, t);
        bins_region_release(h, r);
        ar->region = prev;
        set_head(t, tsz | PREV_INUSE | arena_bit);
        ar->top = t;
    }
}

/* Shrink the top, keeping pad bytes (and a minimum chunk). Returns 1 when
 * memory went back to the page source. */
int bins_trim_top_locked(bins_arena *ar, size_t pad)
{
    bins_heap *h = ar->heap;
    bins_chunk *t = ar->top;
    size_t tsz = csize(t);
    if (t == &ar->top0 || tsz <= pad + BINS_MINSIZE + 1)
        return 0;
    size_t extra = page_down(h, tsz - pad - BINS_MINSIZE - 1);
    if (extra == 0)
        return 0;
    uintptr_t end = (uintptr_t)t + tsz;
    if (!ar->is_main) {
        bins_region *r = ar->region;
        if (end != (uintptr_t)r + r->size)
            return 0;
        bins_unpoison((void *)(end - extra), extra);
        /* as glibc's shrink_heap: the pages go, the protection stays, so
         * growing again costs no mprotect (r->opened keeps the mark) */
        nf_pages_advise(h->ps, (void *)(end - extra), extra, NF_ADVISE_DONTNEED);
        __atomic_store_n(&r->size, r->size - extra, __ATOMIC_RELAXED);
    } else if (top_ends_brk(h, ar)) {
        char *cur = nf_pages_grow(h->ps, 0);
        if ((uintptr_t)cur != end)
            return 0; /* someone else moved the break past ours */
        bins_unpoison((void *)(end - extra), extra);
        if (!nf_pages_grow(h->ps, -(intptr_t)extra))
            return 0;
        bins_segment *s = &h->segs[h->brk_seg];
        __atomic_store_n(&s->end, s->end - extra, __ATOMIC_RELAXED);
    } else {
        /* a mapped segment: keep it, drop its pages */
        nf_pages_advise(h->ps, (void *)(end - extra), extra, NF_ADVISE_DONTNEED);
        bins_arena_count(ar, BINS_PATH_TRIM);
        return 1;
    }
    set_head(t, chunk_head(t) - extra);
    bins_mapped_add(h, -(int64_t)extra);
    bins_arena_count(ar, BINS_PATH_TRIM);
    return 1;
}

/* malloc_trim for one arena: consolidate, trim the top, then drop the
 * whole pages inside every free chunk (past its list pointers). */
int bins_trim_arena_locked(bins_arena *ar, size_t pad)
{
    bins_heap *h = ar->heap;
    if (ar->have_fastchunks)
        bins_consolidate_locked(ar);
    int released = bins_trim_top_locked(ar, pad);
    int inner = 0;
    for (size_t i = 1; i < BINS_NBINS; i++) {
        bins_chunk *bin = &ar->bins[i];
        for (bins_chunk *c = bin->fd; c != bin; c = c->fd) {
            uintptr_t start = bins_page_up(h, (uintptr_t)c + sizeof(bins_chunk));
            uintptr_t end = page_down(h, (uintptr_t)c + csize(c));
            if (end > start && nf_pages_advise(h->ps, (void *)start, end - start, NF_ADVISE_DONTNEED) == 0)
                inner = 1;
        }
    }
    if (inner)
        bins_arena_count(ar, BINS_PATH_TRIM);
    return released | inner;
}

/* ---- arena per thread ---- */

/* An arena for a thread that has none: a free one (its threads exited),
 * else a new one while under the limit, else the next in turn. */
bins_arena *bins_arena_attach(bins_heap *h)
{
    bins_lock_take(&h->lock);
    bins_arena *ar = h->free_arenas;
    if (ar) {
        h->free_arenas = ar->next_free;
    } else if (h->narenas < h->max_arenas && (ar = arena_new(h)) != NULL) {
        ar->next = h->arenas;
        h->arenas = ar;
        h->narenas++;
    } else {
        ar = h->next_reuse ? h->next_reuse : h->arenas;
        h->next_reuse = ar->next;
    }
    ar->attached_threads++;
    bins_lock_give(&h->lock);
    return ar;
}

void bins_arena_detach(bins_heap *h, bins_arena *ar)
{
    bins_lock_take(&h->lock);
    if (ar->attached_threads > 0 && --ar->attached_threads == 0) {
        ar->next_free = h->free_arenas;
        h->free_arenas = ar;
    }
    bins_lock_give(&h->lock);
}
