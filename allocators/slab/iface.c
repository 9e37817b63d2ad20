/* iface.c: slab as an nf_allocator: heaps, the public calls with their
 * fast paths (a magazine pop or push; counting and the ASan hand-over
 * happen here, nowhere else), statistics, fork hooks, and the one error
 * path. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slab.h"
#include "../once.h"
#include "../misuse.h"

const char *const slab_path_names[SLAB_PATH_COUNT] = {
    "magazine",         "depot",         "slab",         "new_slab",     "direct",      "free_magazine", "free_depot",
    "free_slab",        "free_direct",   "slab_release", "region_unmap", "depot_flush", "trim",          "direct_reuse",
    "realloc_in_place", "realloc_moved",
};

_Static_assert(SLAB_PATH_COUNT <= NF_ALLOC_MAX_PATHS, "paths fit the interface");

/* ---- errors: the report every allocator of ours gives (misuse.h) ---- */
_Noreturn void slab_die(const char *what, const void *p, const char *why) { nf_alloc_die("slab", what, p, why); }

/* ---- heaps ---- */
static uint64_t next_uid = 1;

static void locks_init(slab_heap *h)
{
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->region_lock, NULL);
    pthread_mutex_init(&h->direct_lock, NULL);
    for (unsigned c = 0; c < SLAB_NCLASSES; c++)
        pthread_mutex_init(&h->cls[c].lock, NULL);
}

/* A heap's own struct is mapped from the page source; with ps == NULL it
 * carries a real page source of its own. */
static nf_heap *slab_create(nf_pages *ps)
{
    slab_geom_init();
    size_t sz;
    slab_heap *h = nf_kit_heap_map(ps, NF_BRK_NONE, sizeof(slab_heap), offsetof(slab_heap, own_ps), &ps, &sz);
    if (!h)
        return NULL;
    h->ps = ps;
    h->page = ps->page_size;
    h->self_size = sz;
    h->uid = __atomic_fetch_add(&next_uid, 1, __ATOMIC_RELAXED);
    /* Low four bits clear (not odd like bins and shard): keys and links
     * are XORed with it and an object's address, so a key never looks like
     * a small offset. */
    h->secret = nf_kit_random64(h) & ~(uint64_t)15;
    locks_init(h);
    h->have_key = pthread_key_create(&h->key, slab_tcache_destructor) == 0;
    slab_mapped_add(h, (int64_t)sz);
    return h;
}

static void slab_destroy(nf_heap *h)
{
    if (!h)
        return;
    if (h->have_key)
        pthread_key_delete(h->key);
    slab_slot_forget(h);
    slab_direct_destroy(h);
    slab_regions_destroy(h);
    nf_kit_heap_unmap(h, h->ps, &h->own_ps, h->self_size);
}

static nf_heap *slab_make_default(void) { return slab_create(nf_pages_real()); }

static nf_heap *slab_default_heap(void)
{
    static nf_heap_once once;
    return nf_heap_once_get(&once, slab_make_default);
}

/* ---- malloc and free ----
 * The fast paths (a magazine pop or push) are a handful of loads and
 * stores; everything else (no cache, an empty or full magazine, ASan, a
 * live-byte fold) leaves by a tail call to a _generic function, so the
 * fast path saves no registers. */
static __attribute__((noinline)) void *class_alloc_generic(slab_heap *h, unsigned cls)
{
    slab_tcache *tc = slab_tcache_fast(h);
    void *p;
    if (tc)
        slab_mag_sync(h, tc, cls);
    slab_mag *m = tc ? tc->loaded[cls] : &slab_mag_none;
    if (m->n != 0) {
        p = m->rounds[--m->n];
        slab_relaxed_inc(&tc->paths[SLAB_PATH_MAGAZINE]);
    } else if (!(p = slab_malloc_slow(h, tc, cls))) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t size = slab_geom_table[cls].size;
    slab_unpoison(p, size);
    ((uintptr_t *)p)[1] = 0;
    slab_live_add(h, tc, (int64_t)size);
    if (tc && cls < SLAB_SUBLINE_CLASSES)
        tc->last[cls] = p;
    return p;
}

/* An object of class cls, handed over: unpoisoned, key cleared, counted. */
static inline void *class_alloc(slab_heap *h, unsigned cls)
{
    if (SLAB_ASAN || __builtin_expect(slab_tls[0].live_uid != h->uid, 0))
        return class_alloc_generic(h, cls);
    slab_tcache *tc = slab_tls[0].tc; /* set while live_uid matches */
    slab_mag *m = tc->loaded[cls];
    uint32_t n = m->n;
    if (__builtin_expect(n == 0, 0))
        return class_alloc_generic(h, cls);
    void *p = m->rounds[n - 1];
    m->n = n - 1;
    slab_relaxed_inc(&tc->mag_out[cls]);
    ((uintptr_t *)p)[1] = 0;
    if (cls < SLAB_SUBLINE_CLASSES)
        tc->last[cls] = p;
    return p;
}

static __attribute__((noinline)) void *direct_alloc(slab_heap *h, size_t n, size_t align, bool zero)
{
    size_t dirty;
    void *p = slab_direct_map(h, n, align, &dirty);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    slab_tcache *tc = slab_tcache_fast(h);
    slab_count(h, tc, SLAB_PATH_DIRECT);
    size_t usable = slab_direct_usable(h, p, "malloc of");
    slab_live_add(h, tc, (int64_t)usable);
    if (zero && dirty) /* pages moved in from the cache: the rest are fresh */
        memset(p, 0, dirty < n ? dirty : n);
    return p;
}

/* slab_malloc and slab_free are also the drop-in's direct entries
 * (allocators/dropin/meson.build): free never changes errno. */
__attribute__((visibility("hidden"))) void *slab_malloc(nf_heap *h, size_t n);
__attribute__((visibility("hidden"))) void slab_free(nf_heap *h, void *p);

void *slab_malloc(nf_heap *h, size_t n)
{
    if (__builtin_expect(n <= SLAB_MAX_SIZE, 1))
        return class_alloc(h, slab_class_of(n));
    return direct_alloc(h, n, 16, false);
}

static __attribute__((noinline)) void free_direct(slab_heap *h, void *p)
{
    if (!p)
        return;
    int saved = errno;
    size_t usable = slab_direct_free(h, p); /* aborts on a remembered double free */
    if (!usable)
        slab_die("free of", p, "not a block of this heap");
    slab_tcache *tc = slab_tcache_fast(h);
    slab_count(h, tc, SLAB_PATH_FREE_DIRECT);
    slab_live_add(h, tc, -(int64_t)usable);
    errno = saved;
}

/* Object p of slab s (checked) back: the double-free check, the key, then
 * a magazine or the slow path. */
static void class_free_generic_impl(slab_heap *h, slab *s, void *p);

static __attribute__((noinline)) void class_free_generic(slab_heap *h, slab *s, void *p)
{
    int saved = errno; /* a cache may be made here */
    class_free_generic_impl(h, s, p);
    errno = saved;
}

static void class_free_generic_impl(slab_heap *h, slab *s, void *p)
{
    unsigned cls = s->cls;
    uintptr_t *w = p;
    if (w[1] == slab_key(h, p))
        slab_die("double free of", p, NULL);
    w[1] = slab_key(h, p);
    uint32_t size = s->size;
    slab_poison(p, size);
    slab_tcache *tc = slab_tcache_fast(h);
    if (tc)
        slab_mag_sync(h, tc, cls);
    slab_live_add(h, tc, -(int64_t)size);
    slab_mag *m = tc ? tc->loaded[cls] : &slab_mag_none;
    if (m->n < m->cap) {
        m->rounds[m->n++] = p;
        slab_relaxed_inc(&tc->paths[SLAB_PATH_FREE_MAGAZINE]);
        return;
    }
    slab_free_slow(h, tc, cls, s, p);
}

void slab_free(nf_heap *h, void *p)
{
    slab *s = slab_find(h, p); /* NULL is in no slab region: free_direct returns */
    if (__builtin_expect(s == NULL, 0))
        return free_direct(h, p);
    if (SLAB_ASAN || __builtin_expect(slab_tls[0].live_uid != h->uid, 0))
        return class_free_generic(h, s, p);
    uintptr_t *w = p, key = slab_key(h, p);
    if (__builtin_expect(w[1] == key, 0))
        slab_die("double free of", p, NULL);
    slab_tcache *tc = slab_tls[0].tc; /* set while live_uid matches */
    unsigned cls = s->cls;
    bool aside = cls < SLAB_SUBLINE_CLASSES && p != tc->last[cls]; /* set aside: slab_config.h */
    slab_mag *m = aside ? tc->prev[cls] : tc->loaded[cls];
    uint32_t n = m->n;
    if (__builtin_expect(n >= m->cap, 0)) {
        if (!aside)
            return class_free_generic(h, s, p);
        w[1] = key;
        return slab_free_aside(h, tc, cls, s, p);
    }
    w[1] = key;
    m->rounds[n] = p;
    m->n = n + 1;
    slab_relaxed_inc(&tc->mag_in[cls]);
}

static void *slab_calloc(nf_heap *h, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total > SLAB_MAX_SIZE)
        return direct_alloc(h, total, 16, true);
    void *p = class_alloc(h, slab_class_of(total));
    if (p)
        memset(p, 0, total);
    return p;
}

/* Alignments above 16: a power-of-two class at least as big as both the
 * size and the alignment (its objects are aligned to their size: slabs
 * start on a unit and are never coloured), else a direct map. */
static void *slab_memalign(nf_heap *h, size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16)
        return slab_malloc(h, n);
    size_t need = n > align ? n : align;
    if (need <= SLAB_MAX_SIZE) {
        size_t p2 = (size_t)1 << (64 - __builtin_clzll(need - 1));
        return class_alloc(h, slab_class_of(p2));
    }
    return direct_alloc(h, n, align, false);
}

/* The usable size of a live block of h; aborts, naming the call (what),
 * on a pointer not ours or a freed block (its key is set, or its direct
 * map's tombstone is in the table): realloc would otherwise hand a freed
 * object back as live while a magazine still holds it. */
static size_t usable_of(slab_heap *h, const void *p, slab **sp, const char *what)
{
    slab *s = slab_find_for(h, p, what);
    *sp = s;
    if (!s)
        return slab_direct_usable(h, p, what);
    if (__builtin_expect(((const uintptr_t *)p)[1] == slab_key(h, p), 0))
        slab_die(what, p, "a freed block");
    return slab_geom_table[s->cls].size;
}

static void *slab_realloc(nf_heap *h, void *p, size_t n)
{
    if (!p)
        return slab_malloc(h, n);
    if (n == 0) {
        slab_free(h, p);
        return NULL;
    }
    slab *s;
    size_t old = usable_of(h, p, &s, "realloc of");
    slab_tcache *tc = slab_tcache_fast(h);
    if (tc)
        slab_relaxed_inc(&tc->reallocs);
    else
        __atomic_fetch_add(&h->retired_reallocs, 1, __ATOMIC_RELAXED);
    if (!s && n > SLAB_MAX_SIZE) {
        size_t now;
        void *q = slab_direct_realloc(h, p, n, &now);
        if (q) {
            slab_live_add(h, tc, (int64_t)now - (int64_t)old);
            if (now >= n)
                return q;
            p = q; /* moved but not grown: copied from its new place */
            old = now;
        }
    }
    if (n <= old && (n > old / 2 || (s && n <= 16) || (!s && old - n < 4 * h->page)))
        return p;
    void *q = slab_malloc(h, n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    slab_free(h, p);
    return q;
}

static size_t slab_usable_size(nf_heap *h, const void *p)
{
    if (!p)
        return 0;
    slab *s;
    return usable_of(h, p, &s, "malloc_usable_size of");
}

static int slab_trim(nf_heap *h, size_t pad)
{
    (void)pad; /* nothing sits at the end of a heap here: every empty slab goes */
    int released = 0;
    slab_tcache *tc = slab_tcache_fast(h);
    if (tc)
        slab_mags_flush(h, tc);
    for (unsigned c = 0; c < SLAB_NCLASSES; c++) {
        pthread_mutex_lock(&h->cls[c].lock);
        slab_depot_flush_locked(h, c);
        released |= slab_release_empty_locked(h, c, 0);
        pthread_mutex_unlock(&h->cls[c].lock);
    }
    released |= slab_regions_release(h, true);
    released |= slab_direct_trim(h);
    if (released)
        slab_count(h, NULL, SLAB_PATH_TRIM);
    return released;
}

static int slab_stats(nf_heap *h, nf_alloc_stats *out)
{
    uint64_t paths[SLAB_PATH_COUNT];
    nf_kit_stats_open(out, paths, h->retired_paths, SLAB_PATH_COUNT);
    out->reallocs = nf_kit_rl(&h->retired_reallocs);
    int64_t live = __atomic_load_n(&h->live, __ATOMIC_RELAXED);
    pthread_mutex_lock(&h->lock);
    for (slab_tcache *tc = h->tcaches; tc; tc = tc->next) {
        for (size_t p = 0; p < SLAB_PATH_REQUESTS; p++)
            paths[p] += nf_kit_rl(&tc->paths[p]);
        out->reallocs += nf_kit_rl(&tc->reallocs);
        live += __atomic_load_n(&tc->live_local, __ATOMIC_RELAXED);
        for (unsigned c = 0; c < SLAB_NCLASSES; c++) {
            uint64_t o = nf_kit_rl(&tc->mag_out[c]), i = nf_kit_rl(&tc->mag_in[c]);
            paths[SLAB_PATH_MAGAZINE] += o;
            paths[SLAB_PATH_FREE_MAGAZINE] += i;
            live += (int64_t)(o - i - nf_kit_rl(&tc->mag_synced[c])) * (int64_t)slab_geom_table[c].size;
        }
    }
    pthread_mutex_unlock(&h->lock);
    for (size_t p = SLAB_PATH_MALLOC_FIRST; p < SLAB_PATH_MALLOC_END; p++)
        out->mallocs += paths[p];
    for (size_t p = SLAB_PATH_FREE_FIRST; p < SLAB_PATH_FREE_END; p++)
        out->frees += paths[p];
    nf_kit_stats_fill(out, &(nf_kit_counts){.live = live,
                                            .peak_live = &h->peak_live,
                                            .mapped = &h->mapped,
                                            .peak_mapped = &h->peak_mapped,
                                            .ps = h->ps,
                                            .names = slab_path_names,
                                            .paths = paths,
                                            .npaths = SLAB_PATH_COUNT});
    out->held_bytes = nf_kit_rl(&h->held);
    return 0;
}

static const char *slab_identify(nf_heap *h, char *buf, size_t len)
{
    (void)h;
    return nf_kit_identify("notfree slab (Bonwick slabs and magazines)", buf, len);
}

/* ---- fork: every lock, in the lock order (classes, region, heap, direct) ---- */
static void slab_fork_prepare(nf_heap *h)
{
    for (unsigned c = 0; c < SLAB_NCLASSES; c++)
        pthread_mutex_lock(&h->cls[c].lock);
    pthread_mutex_lock(&h->region_lock);
    pthread_mutex_lock(&h->lock);
    pthread_mutex_lock(&h->direct_lock);
}

static void slab_fork_parent(nf_heap *h)
{
    pthread_mutex_unlock(&h->direct_lock);
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&h->region_lock);
    for (unsigned c = SLAB_NCLASSES; c-- > 0;)
        pthread_mutex_unlock(&h->cls[c].lock);
}

static void slab_fork_child(nf_heap *h) { locks_init(h); }

const nf_allocator nf_allocator_slab = {
    .name = "slab",
    .description = "Bonwick-style: size-class slabs in aligned regions, per-thread magazines, depot",
    .create = slab_create,
    .destroy = slab_destroy,
    .malloc = slab_malloc,
    .free = slab_free,
    .calloc = slab_calloc,
    .realloc = slab_realloc,
    .memalign = slab_memalign,
    .usable_size = slab_usable_size,
    .trim = slab_trim,
    .stats = slab_stats,
    .identify = slab_identify,
    .default_heap = slab_default_heap,
    .fork_prepare = slab_fork_prepare,
    .fork_parent = slab_fork_parent,
    .fork_child = slab_fork_child,
    .thread_exit = slab_tcache_shutdown,
};
