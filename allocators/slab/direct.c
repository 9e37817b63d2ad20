/* direct.c: requests above the largest class (and alignments no class
 * gives) get a mapping of their own. A header of check words sits just
 * before the user pointer; the heap's direct table lists every live one,
 * so free can tell a direct map from a foreign pointer without touching
 * memory that may not be mapped, and remembers freed ones as tombstones,
 * so that most double frees of a direct map are named as such.
 *
 * Table invariants (direct_lock): dcap is a power of two (or 0); a slot is
 * 0 (never used), p (live) or p | 1 (p was freed: a tombstone); dused
 * counts non-zero slots, dresv the slots promised to reallocs moving a
 * block (so that its new place always fits), and dused + dresv stays at
 * most dcap / 2; a live p comes before any tombstone p | 1 on its probe
 * sequence (inserts take the first tombstone they meet).
 *
 * Freed maps go to the cache of freed maps (dcache.c), within a budget
 * that follows the recent peak of live direct bytes, so that a program
 * churning large blocks does not pay a map, an unmap and fresh faults each
 * time; trim unmaps them. realloc shrinks a block in place (its tail to
 * the cache) and grows it into the cached piece after it, else by copying
 * into a cached piece that holds it, else by moving its pages with cached
 * ones behind (dcache.c: gather). */
#include <errno.h>
#include <string.h>

#include "slab.h"

typedef struct direct_hdr {
    uint64_t check; /* heap->secret ^ user pointer ^ len */
    uintptr_t base; /* the mapping */
    size_t len;     /* its length */
    size_t pad;
} direct_hdr;
_Static_assert(sizeof(direct_hdr) == SLAB_DIRECT_HDR, "header size");

static size_t slot_of(uintptr_t p, size_t cap)
{
    return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* The slot holding p or p | 1, or -1. */
static long find_locked(slab_heap *h, uintptr_t p)
{
    if (!h->dcap)
        return -1;
    for (size_t i = slot_of(p, h->dcap);; i = (i + 1) & (h->dcap - 1)) {
        uintptr_t v = h->dtab[i];
        if (v == 0)
            return -1;
        if ((v & ~(uintptr_t)1) == p)
            return (long)i;
    }
}

/* The last slot holding live p. The pages of a block being moved leave
 * its place before the table says so, and another thread may map a block
 * there and list it (p again) meanwhile: a live p stays first. */
static size_t last_live_locked(slab_heap *h, uintptr_t p)
{
    size_t last = 0;
    for (size_t i = slot_of(p, h->dcap); h->dtab[i]; i = (i + 1) & (h->dcap - 1))
        if (h->dtab[i] == p)
            last = i;
    return last;
}

static bool grow_locked(slab_heap *h)
{
    size_t cap = SLAB_DIRECT_TABLE_MIN;
    while (cap < (h->dlive + h->dresv) * 4 + 4)
        cap *= 2;
    uintptr_t *t = nf_pages_map(h->ps, cap * sizeof *t, 0);
    if (!t)
        return false;
    slab_mapped_add(h, (int64_t)(cap * sizeof *t));
    for (size_t i = 0; i < h->dcap; i++) {
        uintptr_t v = h->dtab[i];
        if (v && !(v & 1)) {
            size_t j = slot_of(v, cap);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = v;
        }
    }
    if (h->dtab) {
        nf_pages_unmap(h->ps, h->dtab, h->dcap * sizeof *t);
        slab_mapped_add(h, -(int64_t)(h->dcap * sizeof *t));
    }
    h->dtab = t;
    h->dcap = cap;
    h->dused = h->dlive;
    return true;
}

/* Room for one more (dresv slots are promised: see reserve_locked). */
static bool room_locked(slab_heap *h) { return (h->dused + h->dresv + 1) * 2 <= h->dcap || grow_locked(h); }

static bool insert_locked(slab_heap *h, uintptr_t p)
{
    if (!room_locked(h))
        return false;
    for (size_t i = slot_of(p, h->dcap);; i = (i + 1) & (h->dcap - 1)) {
        uintptr_t v = h->dtab[i];
        if (v == 0 || (v & 1)) {
            if (v == 0)
                h->dused++;
            h->dtab[i] = p;
            h->dlive++;
            return true;
        }
    }
}

static const direct_hdr *checked_hdr(slab_heap *h, uintptr_t p)
{
    const direct_hdr *hd = (const direct_hdr *)(p - SLAB_DIRECT_HDR);
    if (hd->check != (h->secret ^ p ^ hd->len))
        slab_die("free of", (void *)p, "the check words before a large block were overwritten");
    return hd;
}

/* The header before p for the mapping [base, base + len). */
static void hdr_set(slab_heap *h, uintptr_t p, uintptr_t base, size_t len)
{
    direct_hdr *hd = (direct_hdr *)(p - SLAB_DIRECT_HDR);
    hd->check = h->secret ^ p ^ len;
    hd->base = base;
    hd->len = len;
    slab_poison((void *)base, p - base);
}

/* len bytes for a new block: a cached piece that holds them, else the
 * pieces moved together (gather), else a fresh map. *dirty: its first
 * bytes that may not be zero (the rest are fresh pages). */
static uintptr_t obtain(slab_heap *h, size_t *len, size_t *dirty)
{
    uintptr_t base = 0;
    pthread_mutex_lock(&h->direct_lock);
    bool took = slab_dcache_take_locked(h, *len, &base, len);
    bool cached = h->dcache_bytes != 0;
    if (took)
        slab_dlive_add_locked(h, (int64_t)*len);
    pthread_mutex_unlock(&h->direct_lock);
    *dirty = *len;
    if (took) {
        __atomic_fetch_add(&h->retired_paths[SLAB_PATH_DIRECT_REUSE], 1, __ATOMIC_RELAXED);
        return base;
    }
    size_t got;
    if (cached && (base = slab_dcache_gather(h, 0, 0, *len, &got, dirty)) != 0) {
        __atomic_fetch_add(&h->retired_paths[SLAB_PATH_DIRECT_REUSE], 1, __ATOMIC_RELAXED);
    } else {
        void *m = nf_pages_map(h->ps, *len, 0);
        if (!m)
            return 0;
        base = (uintptr_t)m;
        slab_mapped_add(h, (int64_t)*len);
        *dirty = 0;
    }
    pthread_mutex_lock(&h->direct_lock);
    slab_dlive_add_locked(h, (int64_t)*len);
    pthread_mutex_unlock(&h->direct_lock);
    return base;
}

void *slab_direct_map(slab_heap *h, size_t n, size_t align, size_t *dirty)
{
    if (align < 16)
        align = 16;
    /* No mapping reaches half the address space: refuse before any sum can
     * wrap (an alignment of 2^63 alone makes extra wrap the bound). */
    size_t limit = SIZE_MAX / 2 - SLAB_DIRECT_HDR - h->page;
    if (align > limit / 2 || n > limit - align) {
        errno = ENOMEM;
        return NULL;
    }
    size_t extra = SLAB_DIRECT_HDR + (align > 16 ? align : 0);
    size_t len = (n + extra + h->page - 1) & ~(h->page - 1);
    uintptr_t base = obtain(h, &len, dirty);
    if (!base)
        return NULL;
    uintptr_t p = (base + SLAB_DIRECT_HDR + align - 1) & ~(uintptr_t)(align - 1);
    *dirty = *dirty > p - base ? *dirty - (p - base) : 0;
    hdr_set(h, p, base, len);
    pthread_mutex_lock(&h->direct_lock);
    bool ok = insert_locked(h, p);
    if (!ok)
        slab_dlive_add_locked(h, -(int64_t)len);
    pthread_mutex_unlock(&h->direct_lock);
    if (!ok) {
        slab_unpoison((void *)base, len);
        nf_pages_unmap(h->ps, (void *)base, len);
        slab_mapped_add(h, -(int64_t)len);
        errno = ENOMEM;
        return NULL;
    }
    __atomic_fetch_add(&h->held, len, __ATOMIC_RELAXED);
    return (void *)p;
}

/* The live direct map p shrunk to want bytes of mapping in place, its
 * tail cached (resident). */
static void shrink(slab_heap *h, uintptr_t p, uintptr_t base, size_t len, size_t want)
{
    pthread_mutex_lock(&h->direct_lock);
    hdr_set(h, p, base, want);
    slab_dlive_add_locked(h, -(int64_t)(len - want));
    slab_dcache_put_locked(h, base + want, len - want);
    pthread_mutex_unlock(&h->direct_lock);
    __atomic_fetch_sub(&h->held, len - want, __ATOMIC_RELAXED);
}

/* The live direct map p (mapping [base, base + len)) moved to want bytes
 * of mapping made of its pages and cached ones (slab_dcache_gather).
 * Returns its new place (it may have moved without growing: *got is the
 * mapping's length), or 0: nothing changed. */
static uintptr_t move(slab_heap *h, uintptr_t p, uintptr_t base, size_t len, size_t want, size_t *got)
{
    pthread_mutex_lock(&h->direct_lock);
    bool room = room_locked(h);
    if (room)
        h->dresv++;
    pthread_mutex_unlock(&h->direct_lock);
    if (!room)
        return 0;
    size_t off = p - base;
    slab_unpoison((void *)base, off); /* the header's shadow would stay at the old place */
    size_t moved;
    uintptr_t nb = slab_dcache_gather(h, base, len, want, got, &moved);
    uintptr_t q = nb ? nb + off : p;
    hdr_set(h, q, nb ? nb : base, nb ? *got : len);
    pthread_mutex_lock(&h->direct_lock);
    h->dresv--;
    if (nb) {
        h->dtab[last_live_locked(h, p)] = p | 1; /* a free of the old pointer is named a double free */
        h->dlive--;
        insert_locked(h, q); /* cannot fail: its slot was promised */
        slab_dlive_add_locked(h, (int64_t)(*got - len));
    }
    pthread_mutex_unlock(&h->direct_lock);
    if (nb)
        __atomic_fetch_add(&h->held, *got - len, __ATOMIC_RELAXED);
    return nb ? q : 0;
}

void *slab_direct_realloc(slab_heap *h, void *ptr, size_t n, size_t *usable)
{
    uintptr_t p = (uintptr_t)ptr;
    const direct_hdr *hd = checked_hdr(h, p);
    uintptr_t base = hd->base;
    size_t len = hd->len, off = p - base;
    if (n > SIZE_MAX / 2 - off - h->page)
        return NULL;
    size_t want = (off + n + h->page - 1) & ~(h->page - 1);
    *usable = len - off;
    if (want <= len) {
        if (len - want < 4 * h->page) /* not worth a piece */
            return ptr;
        shrink(h, p, base, len, want);
        *usable = want - off;
        slab_count(h, NULL, SLAB_PATH_REALLOC_IN_PLACE);
        return ptr;
    }
    pthread_mutex_lock(&h->direct_lock);
    bool ext = slab_dcache_extend_locked(h, base + len, want - len);
    if (ext) {
        hdr_set(h, p, base, want);
        slab_dlive_add_locked(h, (int64_t)(want - len));
    }
    /* A cached piece that holds the grown block: copying into it (0.1-0.4
     * us a page) beats moving pages (mremap: about 1 us a page here). */
    bool fits = !ext && slab_dcache_fits_locked(h, want);
    pthread_mutex_unlock(&h->direct_lock);
    if (fits)
        return NULL;
    if (ext) {
        __atomic_fetch_add(&h->held, want - len, __ATOMIC_RELAXED);
        *usable = want - off;
        slab_count(h, NULL, SLAB_PATH_REALLOC_IN_PLACE);
        return ptr;
    }
    size_t got;
    uintptr_t q = move(h, p, base, len, want, &got);
    if (!q)
        return NULL;
    *usable = got - off;
    slab_count(h, NULL, SLAB_PATH_REALLOC_MOVED);
    return (void *)q;
}

int slab_direct_trim(slab_heap *h)
{
    pthread_mutex_lock(&h->direct_lock);
    int released = slab_dcache_release_locked(h);
    pthread_mutex_unlock(&h->direct_lock);
    return released;
}

size_t slab_direct_free(slab_heap *h, void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    if (p & 15)
        return 0;
    pthread_mutex_lock(&h->direct_lock);
    long i = find_locked(h, p);
    if (i >= 0 && (h->dtab[i] & 1)) {
        pthread_mutex_unlock(&h->direct_lock);
        slab_die("double free of", ptr, NULL);
    }
    if (i < 0) {
        pthread_mutex_unlock(&h->direct_lock);
        return 0;
    }
    const direct_hdr *hd = checked_hdr(h, p);
    h->dtab[i] = p | 1;
    h->dlive--;
    uintptr_t base = hd->base;
    size_t len = hd->len;
    slab_dlive_add_locked(h, -(int64_t)len);
    slab_dcache_put_locked(h, base, len); /* poisons it before the unlock: the next taker unpoisons */
    pthread_mutex_unlock(&h->direct_lock);
    __atomic_fetch_sub(&h->held, len, __ATOMIC_RELAXED);
    return base + len - p;
}

size_t slab_direct_usable(slab_heap *h, const void *ptr, const char *what)
{
    uintptr_t p = (uintptr_t)ptr;
    pthread_mutex_lock(&h->direct_lock);
    long i = (p & 15) ? -1 : find_locked(h, p);
    bool live = i >= 0 && !(h->dtab[i] & 1);
    pthread_mutex_unlock(&h->direct_lock);
    if (!live) /* usable size or realloc of a freed (tombstone) or foreign pointer */
        slab_die(what, ptr, i >= 0 ? "a freed block" : "not a block of this heap");
    const direct_hdr *hd = checked_hdr(h, p);
    return hd->base + hd->len - p;
}

void slab_direct_destroy(slab_heap *h)
{
    for (size_t i = 0; i < h->dcap; i++) {
        uintptr_t v = h->dtab[i];
        if (v && !(v & 1)) {
            const direct_hdr *hd = (const direct_hdr *)(v - SLAB_DIRECT_HDR);
            slab_unpoison((void *)hd->base, hd->len);
            nf_pages_unmap(h->ps, (void *)hd->base, hd->len);
        }
    }
    slab_direct_trim(h);
    if (h->dtab)
        nf_pages_unmap(h->ps, h->dtab, h->dcap * sizeof *h->dtab);
    h->dtab = NULL;
    h->dcap = h->dlive = h->dused = 0;
}
