/* slab.h: the internals of slab, the Bonwick-style magazine and slab
 * allocator.
 *
 * Glossary
 *   class      a size class (SLAB_NCLASSES of them, 16 B to 32 KiB); every
 *              object of a class has the class's size. Its geometry (size,
 *              span, objects per slab, magazine capacity) is a global
 *              table computed once (slab_geom).
 *   region     a SLAB_REGION-aligned mapping; unit 0 is its header, the
 *              other units are carved into slabs. A pointer finds its
 *              region by masking, the region's header finds the slab.
 *   region map a process-wide bitmap, one bit per SLAB_REGION of address
 *              space: set while a region of any slab heap lives there, so
 *              free can tell a slab object from a direct map or a foreign
 *              pointer without touching memory that may not be mapped.
 *   unit       SLAB_UNIT bytes of a region; a slab spans 1..SLAB_MAX_SPAN.
 *   slab       a run of units holding objects of one class, described by a
 *              descriptor in the region's header (out of band, where a
 *              user overflow cannot reach it). Objects are carved lazily
 *              (bump) so pages are first touched when first handed out.
 *   free list  a slab's free objects, linked through their first word,
 *              encoded: stored = next ^ heap secret ^ address of the word.
 *   key        the second word of a freed object holds heap secret ^ its
 *              address while the object is free (in a magazine or a slab);
 *              free finding it there is a double free. malloc clears it.
 *   magazine   a stack of up to cap object pointers (out of band). Each
 *              thread has, per class, a loaded and a previous magazine.
 *   depot      a class's full and empty magazines, traded with threads
 *              under the class's lock.
 *   direct map a request above SLAB_MAX_SIZE (or an alignment no class
 *              gives): a mapping of its own with a check header before the
 *              user pointer, and an entry in the heap's direct table.
 *   meta       magazines and thread caches, cut from SLAB_META_CHUNK
 *              mappings and kept on free lists (never in object memory).
 *   path       how a request was served; counted per thread, folded into
 *              the heap when the thread exits.
 *
 * Misuse slab catches (abort with "notfree-slab: <call> of 0x..."), and why
 * it is cheap: the key is one compare and one store on free's fast path
 * (callgrind, 64 B pairs: slab_free 60 instructions, slab_malloc 31).
 *   - a double free of an object, immediate or after any number of other
 *     frees and mallocs, whether it sits in a magazine, the depot or its
 *     slab's free list, freed by the same or by another thread (one after
 *     the other): the key;
 *   - a double free after its slab was released (its pages, so its key,
 *     dropped) and its unit left free or carved again: the object's index
 *     is not below its slab's bumped ("not an allocated block");
 *   - a double free of a direct map: its tombstone in the direct table
 *     ("not a block of this heap" once the table has grown past it);
 *   - realloc and malloc_usable_size of a freed block: the key, the
 *     tombstone;
 *   - a pointer that is no object start, of another heap, or foreign.
 * What it misses: two threads freeing one object at the same instant (both
 * read the key before either writes it); a double free after a use after
 * free overwrote the object's second word (the key); and a free of a
 * block handed out again since (then live: nothing tells it apart).
 *
 * Locks (taken in this order, never the reverse)
 *   class lock    its depot, its slab lists, its slabs' free lists and counts
 *   region_lock   the region list and every region's unit bitmap and heads
 *   lock          the heap's list of thread caches and the meta pool
 *   direct_lock   the direct table
 */
#ifndef NF_SLAB_H
#define NF_SLAB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kit.h"
#include "notfree/alloc.h"
#include "slab_config.h"

typedef struct nf_heap slab_heap;

/* ---- class geometry (global, read-only once computed) ---- */
typedef struct slab_geom {
    uint32_t size;    /* object bytes */
    uint32_t units;   /* span of a slab, in units */
    uint32_t count;   /* objects per slab */
    uint32_t tail;    /* bytes of a slab no object fits in (room for colour) */
    uint32_t mag_cap; /* rounds per magazine */
    uint32_t refill;  /* objects a refill from the slab layer loads */
    uint32_t shift;   /* size = odd << shift */
    uint64_t inv;     /* odd's inverse modulo 2^64: exact division test */
} slab_geom;
extern slab_geom slab_geom_table[SLAB_NCLASSES];
void slab_geom_init(void); /* idempotent, thread-safe, never allocates */

/* The class of a request of n <= SLAB_MAX_SIZE bytes. */
static inline unsigned slab_class_of(size_t n)
{
    if (n <= SLAB_FINE_MAX)
        return n ? (unsigned)((n - 1) >> 4) : 0;
    size_t m = n - 1;
    unsigned b = 63u - (unsigned)__builtin_clzll(m); /* >= 8 */
    unsigned idx = (unsigned)(m >> (b - SLAB_STEPS_LOG2)) & ((1u << SLAB_STEPS_LOG2) - 1);
    return (unsigned)(SLAB_FINE_MAX >> 4) + ((b - 8) << SLAB_STEPS_LOG2) + idx;
}

/* ---- slabs ---- */
enum { SLAB_LIST_NONE, SLAB_LIST_PARTIAL, SLAB_LIST_FULL, SLAB_LIST_EMPTY };

/* A slab's descriptor. Invariants (under the class lock):
 * inuse = count - (objects on the free list) - (count - bumped), i.e. the
 * objects in magazines or with users; on the partial list iff inuse > 0 and
 * a free or never-carved object remains; on the full list iff none remains;
 * on the empty list iff inuse == 0. The first block of fields is written
 * when the slab is carved and read by free without a lock; bumped only
 * grows while the slab lives (written under the class lock, read by free
 * without it: relaxed atomics), so an object ever handed out has an index
 * below it. */
typedef struct slab {
    uintptr_t start; /* first object: unit base + colour */
    uintptr_t end;   /* start + count * size */
    uint64_t inv;    /* inverse of size's odd part, modulo 2^64 (slab_index) */
    uint8_t shift;   /* size = odd part << shift */
    uint8_t cls;
    uint8_t units;
    uint8_t list; /* SLAB_LIST_* */
    uint32_t count;
    uint32_t size;   /* the class's object size */
    uint32_t bumped; /* objects carved so far, from start (see above) */
    /* under the class lock */
    struct slab *next, *prev;
    void *free; /* head of the free list (raw: out of band) */
    uint32_t inuse;
} slab;

/* A region's header, at its start. Invariants (under region_lock): bit i
 * of free_units is set iff unit i belongs to no slab (bit 0 never set);
 * head[i] is the first unit of the slab unit i belongs to, SLAB_NO_HEAD
 * (0, the header's unit) when free; slabs[i] is meaningful iff
 * head[i] == i; slabs[0] stays zero (start == end == 0), so a pointer into
 * a free unit fails the boundary check with no test of its own. */
#define SLAB_NO_HEAD 0
typedef struct slab_region {
    uint64_t magic; /* heap->secret ^ (uintptr_t)this */
    slab_heap *heap;
    struct slab_region *next, *prev;
    uint64_t free_units;
    uint8_t head[SLAB_UNITS];
    slab slabs[SLAB_UNITS];
} slab_region;
_Static_assert(sizeof(slab_region) <= SLAB_UNIT, "a region header fits its unit");
_Static_assert(SLAB_UNITS == 64, "one 64-bit word of free units");

/* ---- magazines ---- */
typedef struct slab_mag {
    struct slab_mag *next; /* in a depot list or the pool */
    uint32_t n, cap;       /* rounds held, capacity (0: the shared empty stand-in) */
    void *rounds[SLAB_MAG_MAX];
} slab_mag;
extern slab_mag slab_mag_none; /* cap 0: every thread's magazines before the first trade */

/* A class of a heap: its depot and slab lists. */
typedef struct slab_class {
    pthread_mutex_t lock;
    slab *partial, *full, *empty; /* doubly-linked lists, head insert */
    uint32_t nempty;
    uint32_t nslabs;       /* carved slabs of the class, empty ones included */
    double ws_peak, ws_at; /* decayed peak of slabs in use, and when (seconds; slab.c) */
    uint32_t nfull_mags, nempty_mags;
    slab_mag *depot_full, *depot_empty;
    size_t colour_next;
} __attribute__((aligned(64))) slab_class;

/* ---- paths ---- */
typedef enum slab_path {
    SLAB_PATH_MAGAZINE,
    SLAB_PATH_DEPOT,
    SLAB_PATH_SLAB,
    SLAB_PATH_NEW_SLAB,
    SLAB_PATH_DIRECT,
    SLAB_PATH_FREE_MAGAZINE,
    SLAB_PATH_FREE_DEPOT,
    SLAB_PATH_FREE_SLAB,
    SLAB_PATH_FREE_DIRECT,
    SLAB_PATH_MALLOC_FIRST = SLAB_PATH_MAGAZINE,
    SLAB_PATH_MALLOC_END = SLAB_PATH_FREE_MAGAZINE,
    SLAB_PATH_FREE_FIRST = SLAB_PATH_FREE_MAGAZINE,
    SLAB_PATH_FREE_END = SLAB_PATH_FREE_DIRECT + 1,
    SLAB_PATH_REQUESTS = SLAB_PATH_FREE_END,     /* the paths above count requests */
    SLAB_PATH_SLAB_RELEASE = SLAB_PATH_REQUESTS, /* events: an empty slab's pages dropped */
    SLAB_PATH_REGION_UNMAP,                      /* a wholly empty region unmapped */
    SLAB_PATH_DEPOT_FLUSH,                       /* a full magazine emptied into slabs */
    SLAB_PATH_TRIM,                              /* trim gave something back */
    SLAB_PATH_DIRECT_REUSE,                      /* a direct map served from the freed-map cache (pieces
                                                    moved together too) */
    SLAB_PATH_REALLOC_IN_PLACE,                  /* a direct map grown into the cached piece after it, or
                                                    shrunk (its tail cached) */
    SLAB_PATH_REALLOC_MOVED,                     /* a direct map grown by moving its pages, cached ones
                                                    behind: nothing copied */
    SLAB_PATH_COUNT
} slab_path;
extern const char *const slab_path_names[SLAB_PATH_COUNT];

/* ---- per-thread cache ---- */
typedef struct slab_tcache {
    slab_mag *loaded[SLAB_NCLASSES];
    slab_mag *prev[SLAB_NCLASSES];
    slab_heap *heap;
    struct slab_tcache *next, *prev_tc; /* heap's live caches (under heap->lock) */
    uint64_t paths[SLAB_PATH_REQUESTS]; /* written by the owner (relaxed), read by stats */
    /* The fast paths count only these (owner-written, relaxed): objects
     * popped from and pushed to this class's magazine. They are added to
     * paths[MAGAZINE] and [FREE_MAGAZINE] by stats, and their net, times
     * the class size, is folded into the live bytes by slab_mag_sync on
     * the class's slow path (so peak_live is exact to two magazines per
     * class and thread), at thread exit, and by stats. */
    uint64_t mag_out[SLAB_NCLASSES], mag_in[SLAB_NCLASSES];
    uint64_t mag_synced[SLAB_NCLASSES]; /* mag_out - mag_in already folded into live_local */
    uint64_t reallocs;
    int64_t live_local;               /* not yet folded into heap->live */
    void *last[SLAB_SUBLINE_CLASSES]; /* the object this thread's malloc handed out last (SLAB_SUBLINE_CLASSES) */
} slab_tcache;

typedef struct slab_tls_slot {
    uint64_t uid; /* the heap's uid; 0: free slot */
    slab_tcache *tc;
    int state;         /* SLAB_SLOT_* */
    uint64_t live_uid; /* uid while state is LIVE (tc set), else 0: the fast paths' one compare */
} slab_tls_slot;
enum { SLAB_SLOT_FREE, SLAB_SLOT_INIT, SLAB_SLOT_LIVE, SLAB_SLOT_DEAD };
extern __thread slab_tls_slot slab_tls[SLAB_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

/* ---- the heap ---- */
typedef struct slab_piece {
    uintptr_t base;
    size_t len;
    uint64_t seq;
} slab_piece;

typedef struct slab_meta_chunk {
    struct slab_meta_chunk *next;
} slab_meta_chunk;

struct nf_heap {
    uint64_t uid;    /* unique per heap in this process: the TLS key */
    uint64_t secret; /* encodes free lists, keys, check words */
    nf_pages *ps;
    nf_pages own_ps; /* used when created with ps == NULL */
    size_t page;
    size_t self_size;            /* bytes of this struct's own mapping */
    pthread_mutex_t lock;        /* tcaches, meta pool */
    pthread_mutex_t region_lock; /* regions */
    pthread_mutex_t direct_lock; /* direct table */
    pthread_key_t key;
    bool have_key;
    /* regions (region_lock) */
    slab_region *regions;
    size_t nregions, nempty_regions;
    /* meta pool (lock) */
    slab_meta_chunk *meta_chunks;
    char *meta_cur, *meta_end;
    slab_mag *free_mags;
    slab_tcache *free_tcs;
    slab_tcache *tcaches;
    /* direct table (direct_lock): open addressing on the user pointer;
     * 0 empty, p|1 a freed pointer (a tombstone that remembers it) */
    uintptr_t *dtab;
    size_t dcap, dlive, dused, dresv;
    /* freed direct maps kept mapped (dcache.c; direct_lock): len 0 is no
     * piece; seq orders them by age. dcache_bytes sums their lengths;
     * dlive_bytes sums the live direct maps' lengths; dmax_cur and
     * dmax_prev are its highest in the window that began at dwin_at
     * (seconds) and in the one before. */
    slab_piece dcache[SLAB_DIRECT_CACHE];
    size_t dcache_bytes, dlive_bytes;
    uint64_t dcache_seq;
    size_t dmax_cur, dmax_prev;
    double dwin_at;
    /* statistics, atomics */
    uint64_t mapped, peak_mapped, held;
    int64_t live, peak_live;
    uint64_t retired_paths[SLAB_PATH_COUNT]; /* exited threads, threads without a cache, events */
    uint64_t retired_reallocs;
    slab_class cls[SLAB_NCLASSES];
};

/* ---- shared internals (_locked: caller holds that class's lock) ---- */
/* errors: never allocate, never return */
_Noreturn void slab_die(const char *what, const void *p, const char *why) __attribute__((cold));
/* region.c */
extern uint64_t slab_region_bits[];               /* the region map */
slab *slab_carve(slab_heap *h, unsigned units);   /* a new slab's units (descriptor: units set); NULL: no memory */
void slab_uncarve(slab_heap *h, slab *s);         /* give an empty slab's pages and units back */
uintptr_t slab_base(const slab *s);               /* the slab's first unit */
int slab_regions_release(slab_heap *h, bool all); /* unmap empty regions; 1 if any */
void slab_regions_destroy(slab_heap *h);
void slab_mapped_add(slab_heap *h, int64_t delta);
void *slab_meta_alloc_locked(slab_heap *h, size_t size); /* heap->lock held */
static inline bool slab_region_mapped(uintptr_t p)
{
    if (p >> SLAB_ADDR_BITS)
        return false;
    uintptr_t i = p >> SLAB_REGION_LOG2;
    return (__atomic_load_n(&slab_region_bits[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1;
}
static inline slab_region *slab_region_of(uintptr_t p) { return (slab_region *)(p & ~(SLAB_REGION - 1)); }
/* slab.c */
unsigned slab_alloc_batch_locked(slab_heap *h, unsigned cls, void **out, unsigned n, slab_path *how);
void slab_free_locked(slab_heap *h, unsigned cls, slab *s, void *p);
int slab_release_empty_locked(slab_heap *h, unsigned cls, unsigned keep);
/* magazine.c */
slab_tcache *slab_tcache_get(slab_heap *h); /* NULL: none (yet, or any more) */
void *slab_malloc_slow(slab_heap *h, slab_tcache *tc, unsigned cls);
void slab_free_slow(slab_heap *h, slab_tcache *tc, unsigned cls, slab *s, void *p);
/* p (key written, poisoned) of a sub-line class, not the last object tc
 * handed out, and tc's previous magazine full: traded at the depot. */
void slab_free_aside(slab_heap *h, slab_tcache *tc, unsigned cls, slab *s, void *p);
void slab_mags_flush(slab_heap *h, slab_tcache *tc); /* the calling thread's rounds to slabs */
void slab_depot_flush_locked(slab_heap *h, unsigned cls);
void slab_tcache_destructor(void *tc);
void slab_tcache_shutdown(slab_heap *h);
void slab_slot_forget(slab_heap *h);
void slab_count(slab_heap *h, slab_tcache *tc, slab_path p);
/* dcache.c (_locked: direct_lock held) */
void slab_dlive_add_locked(slab_heap *h, int64_t delta);                               /* live direct bytes */
bool slab_dcache_take_locked(slab_heap *h, size_t need, uintptr_t *base, size_t *len); /* a piece of >= need */
bool slab_dcache_extend_locked(slab_heap *h, uintptr_t at, size_t need); /* the front of a piece starting at at */
bool slab_dcache_fits_locked(slab_heap *h, size_t need);                 /* a piece of >= need is cached */
void slab_dcache_put_locked(slab_heap *h, uintptr_t base, size_t len);   /* keep (or unmap) a freed map */
int slab_dcache_release_locked(slab_heap *h);                            /* unmap every piece; 1 if any */
uintptr_t slab_dcache_gather(slab_heap *h, uintptr_t first, size_t flen, size_t len, size_t *got,
                             size_t *moved); /* pieces moved together (dcache.c) */
/* direct.c */
void *slab_direct_map(slab_heap *h, size_t n, size_t align,
                      size_t *dirty); /* dirty: the block's first bytes that may not be zero */
int slab_direct_trim(slab_heap *h);   /* unmap the freed-map cache; 1 if any */
/* realloc of the live direct map p to n > SLAB_MAX_SIZE bytes without a
 * copy: shrunk in place (its tail cached), grown into the cached piece
 * after it, else moved with cached pieces behind it. Returns the block
 * (moved or not) with *usable its usable bytes now: less than n when it
 * could only move, and the caller copies. NULL: untouched, the caller
 * copies. */
void *slab_direct_realloc(slab_heap *h, void *p, size_t n, size_t *usable);
size_t slab_direct_free(slab_heap *h, void *p); /* its usable bytes; 0: not a live direct map of h */
size_t slab_direct_usable(slab_heap *h, const void *p,
                          const char *what); /* aborts (what: the call) when not a live direct map */
void slab_direct_destroy(slab_heap *h);

/* ---- object checks ---- */
static inline uintptr_t slab_key(const slab_heap *h, const void *p) { return (uintptr_t)h->secret ^ (uintptr_t)p; }
static inline void *slab_encode(const slab_heap *h, void *const *field, void *next)
{
    return (void *)((uintptr_t)next ^ (uintptr_t)h->secret ^ (uintptr_t)field);
}

/* The index of object p in s, in one multiply and a rotate: with
 * size = odd << shift and inv = odd^-1 mod 2^64, rotr(off * inv, shift)
 * is off / size when size divides off, and above UINT64_MAX / size when
 * it does not (Hacker's Delight, 10-17); either way it is below count iff
 * off is the offset of one of the slab's objects (off below start wraps
 * to a huge value). A free unit's descriptor has count 0 (and bumped 0). */
static inline uint64_t slab_index(const slab *s, uintptr_t p)
{
    uint64_t q = (uint64_t)(p - s->start) * s->inv;
    unsigned sh = s->shift;
    return (q >> sh) | (q << ((64 - sh) & 63));
}
static inline bool slab_on_boundary(const slab *s, uintptr_t p) { return slab_index(s, p) < s->count; }

/* The slab holding object p of heap h, or NULL when p is no object of a
 * slab region (a direct map or foreign: the caller decides). Aborts, naming
 * the call (what: "free of", "realloc of", ...), when p is in a slab region
 * but not the start of an object a live slab of h ever handed out (below
 * bumped: a pointer into a slab's never-used tail, or one freed twice
 * across a release of its slab, whose key went with the pages). */
static inline slab *slab_find_for(slab_heap *h, const void *p, const char *what)
{
    uintptr_t a = (uintptr_t)p;
    if (!slab_region_mapped(a))
        return NULL;
    slab_region *r = slab_region_of(a);
    if (__builtin_expect(r->heap != h, 0))
        slab_die(what, p, "a block of another heap");
    unsigned u = (unsigned)((a >> SLAB_UNIT_LOG2) & (SLAB_UNITS - 1));
    slab *s = &r->slabs[__atomic_load_n(&r->head[u], __ATOMIC_RELAXED)];
    if (__builtin_expect(slab_index(s, a) >= __atomic_load_n(&s->bumped, __ATOMIC_RELAXED), 0))
        slab_die(what, p, "not an allocated block");
    return s;
}
static inline slab *slab_find(slab_heap *h, const void *p) { return slab_find_for(h, p, "free of"); }

/* The fast lookup: the heap used last by this thread sits in slot 0 (its
 * tc is set only while the slot is live). */
static inline slab_tcache *slab_tcache_fast(slab_heap *h)
{
    slab_tcache *tc = slab_tls[0].tc;
    if (__builtin_expect(tc != NULL && slab_tls[0].uid == h->uid, 1))
        return tc;
    return slab_tcache_get(h);
}

void slab_live_fold(slab_heap *h, int64_t delta);

/* peak after dt seconds of halving every half_life seconds (the last
 * part of a half-life linearly): the decayed peak of slab.c. */
static inline double slab_decay(double peak, double dt, double half_life)
{
    if (dt <= 0)
        return peak;
    for (; dt >= half_life && peak > 0; dt -= half_life)
        peak /= 2;
    return peak * (1.0 - 0.5 * dt / half_life);
}

/* Live bytes are kept per thread and folded into the heap's past
 * SLAB_LIVE_FLUSH, so peak_live is exact to that much per thread. */
static inline void slab_live_add(slab_heap *h, slab_tcache *tc, int64_t delta)
{
    if (!tc) {
        slab_live_fold(h, delta);
        return;
    }
    int64_t v = tc->live_local + delta;
    if (__builtin_expect(v >= SLAB_LIVE_FLUSH || v <= -SLAB_LIVE_FLUSH, 0)) {
        slab_live_fold(h, v);
        v = 0;
    }
    __atomic_store_n(&tc->live_local, v, __ATOMIC_RELAXED);
}

static inline void slab_relaxed_inc(uint64_t *p) { __atomic_store_n(p, *p + 1, __ATOMIC_RELAXED); }

/* The fast paths' net of class cls since the last sync, in bytes, into
 * the live bytes. */
static inline void slab_mag_sync(slab_heap *h, slab_tcache *tc, unsigned cls)
{
    uint64_t net = tc->mag_out[cls] - tc->mag_in[cls];
    int64_t d = (int64_t)(net - tc->mag_synced[cls]);
    if (d) {
        __atomic_store_n(&tc->mag_synced[cls], net, __ATOMIC_RELAXED);
        slab_live_add(h, tc, d * (int64_t)slab_geom_table[cls].size);
    }
}

#endif /* NF_SLAB_H */
