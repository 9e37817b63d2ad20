/* bins.h: the internals of bins, the ptmalloc2-style allocator.
 *
 * Glossary
 *   chunk      a piece of a region with a boundary tag: its size (a multiple
 *              of 16) and three flag bits in the size field, and, while it
 *              is free, its size again at the start of the next chunk
 *              (prev_size). The user pointer is the chunk + 16.
 *   in use     a chunk is in use when the NEXT chunk's PREV_INUSE bit is
 *              set. Chunks in the tcache and in fastbins count as in use:
 *              they are never coalesced until consolidated.
 *   top        the last chunk of the arena's current region, split to serve
 *              requests the bins cannot; grown from the page source.
 *   bin        a list of free chunks: unsorted (bin 1, any size, filled by
 *              free, sorted by the next malloc), small bins (one size
 *              each, below 1024), large bins (a size range each, sorted by
 *              size, largest first).
 *   fastbin    a single-linked LIFO of small chunks kept "in use", for speed.
 *   tcache     a per-thread array of single-linked LIFOs, 7 chunks each,
 *              for chunks up to 1040 bytes; taken without any lock.
 *   arena      a set of bins, fastbins and a top, under one mutex. The main
 *              arena grows by the break (contiguous); the others by regions.
 *   region     (glibc's heap_info) a 64 MiB range aligned to 64 MiB, reserved
 *              and opened as it grows, holding chunks of one non-main arena;
 *              a chunk finds its arena by rounding its address down.
 *   segment    a piece of the main arena: the break, or a mapping used when
 *              the break cannot grow.
 *   direct map a chunk with a mapping of its own (IS_MMAPPED), for requests
 *              at or above the mmap threshold.
 *   safe-link  single-linked next pointers are stored as
 *              (address of the field >> 12) XOR pointer (glibc PROTECT_PTR).
 *   path       how a request was served; counted per thread and per arena.
 *
 * Misuse bins catches (abort with "notfree-bins: <call> of 0x..."), glibc's
 * checks plus three it lacks (marked +), none on malloc's path and a few
 * instructions on free's (callgrind, 64 B pairs: bins_free 174, was 169):
 *   - a double free of a chunk in this thread's tcache (its key);
 *   + of a chunk in another thread's tcache (the key is random: no walk);
 *   + of a tcache-sized chunk above the fastbin sizes that went past the
 *     tcache into its arena (a full tcache, or its thread exited): the next
 *     chunk's PREV_INUSE, read without the lock;
 *   - on the locked path: a chunk free in the bins (next PREV_INUSE), in
 *     or at the top, at the head of its fastbin;
 *   + realloc and malloc_usable_size of a freed block: the key, and in
 *     realloc the locked checks above;
 *   - a direct map freed twice, a foreign, misaligned or other heap's
 *     pointer: not in the table or the segments.
 * What it misses (as glibc): a fastbin-sized chunk (requests up to 120 B)
 * deeper than the head of its fastbin freed again; two threads freeing one
 * chunk at the same instant; a double free after a use after free
 * overwrote the key or the next chunk's header; a free of a block handed
 * out again since.
 */
#ifndef NF_BINS_H
#define NF_BINS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kit.h"
#include "bins_config.h"
#include "lock.h"
#include "notfree/alloc.h"

/* ---- chunk layout ---- */
/* Invariants: (uintptr_t)c % 16 == 0; csize(c) % 16 == 0 and >= 32 except
 * for fenceposts (16); prev_size is valid only when !(size & PREV_INUSE);
 * fd/bk are valid only while the chunk is in a bin (fd safe-linked in the
 * tcache and fastbins). */
typedef struct bins_chunk {
    size_t prev_size;      /* size of the previous chunk, when it is free */
    size_t size;           /* size | NON_MAIN_ARENA | IS_MMAPPED | PREV_INUSE */
    struct bins_chunk *fd; /* free: next in bin */
    struct bins_chunk *bk; /* free: previous in bin (doubly-linked bins only) */
} bins_chunk;

#define PREV_INUSE ((size_t)1)
#define IS_MMAPPED ((size_t)2)
#define NON_MAIN_ARENA ((size_t)4)
#define SIZE_BITS ((size_t)7)

/* A chunk's size field is read without the lock by the thread that owns
 * the chunk (free, usable size) while the arena's lock holder may flip its
 * PREV_INUSE bit (the neighbour before it changed state), and the next
 * chunk's is read by free without the lock (is this chunk still in use?)
 * while the lock holder may rewrite it (split, coalesce, carve the top).
 * So every write and the unlocked reads are relaxed atomics: plain moves
 * on x86. */
static inline size_t chunk_head(const bins_chunk *c) { return __atomic_load_n(&c->size, __ATOMIC_RELAXED); }
static inline void set_head(bins_chunk *c, size_t v) { __atomic_store_n(&c->size, v, __ATOMIC_RELAXED); }
static inline size_t csize(const bins_chunk *c) { return chunk_head(c) & ~SIZE_BITS; }
static inline void *chunk2mem(bins_chunk *c) { return (char *)c + BINS_HDR; }
static inline bins_chunk *mem2chunk(const void *m) { return (bins_chunk *)((char *)m - BINS_HDR); }
static inline bins_chunk *chunk_at(void *c, size_t off) { return (bins_chunk *)((char *)c + off); }
static inline bins_chunk *next_chunk(bins_chunk *c) { return chunk_at(c, csize(c)); }
static inline bins_chunk *prev_chunk(bins_chunk *c) { return (bins_chunk *)((char *)c - c->prev_size); }
static inline bool inuse_at(bins_chunk *c, size_t off) { return chunk_head(chunk_at(c, off)) & PREV_INUSE; }
static inline void set_inuse_at(bins_chunk *c, size_t off)
{
    bins_chunk *n = chunk_at(c, off);
    __atomic_store_n(&n->size, chunk_head(n) | PREV_INUSE, __ATOMIC_RELAXED);
}
static inline void clear_inuse_at(bins_chunk *c, size_t off)
{
    bins_chunk *n = chunk_at(c, off);
    __atomic_store_n(&n->size, chunk_head(n) & ~PREV_INUSE, __ATOMIC_RELAXED);
}
static inline void set_foot(bins_chunk *c, size_t s) { chunk_at(c, s)->prev_size = s; }
/* Usable bytes of an in-use chunk: up to the next chunk's size field. */
static inline size_t chunk_usable(const bins_chunk *c)
{
    return csize(c) - ((chunk_head(c) & IS_MMAPPED) ? BINS_HDR : BINS_SIZE_SZ);
}

/* Chunk size for a request; false when the request is too large. */
static inline bool request2size(size_t req, size_t *nb)
{
    if (req > SIZE_MAX / 2 - BINS_MINSIZE)
        return false;
    size_t s = (req + BINS_SIZE_SZ + BINS_ALIGN - 1) & ~(BINS_ALIGN - 1);
    *nb = s < BINS_MINSIZE ? BINS_MINSIZE : s;
    return true;
}

/* Safe-linking (glibc 2.32): a stored next pointer is mixed with the
 * address it is stored at, so an overwrite without a leak is caught. */
static inline void *protect_ptr(void *pos, void *ptr) { return (void *)(((uintptr_t)pos >> 12) ^ (uintptr_t)ptr); }
#define REVEAL_PTR(field) protect_ptr(&(field), (field))

/* ---- paths ---- */
typedef enum bins_path {
    BINS_PATH_TCACHE,
    BINS_PATH_FASTBIN,
    BINS_PATH_UNSORTED,
    BINS_PATH_SMALLBIN,
    BINS_PATH_LARGEBIN,
    BINS_PATH_TOP,
    BINS_PATH_MMAP,
    BINS_PATH_FREE_TCACHE,
    BINS_PATH_FREE_FASTBIN,
    BINS_PATH_FREE_BINS,
    BINS_PATH_FREE_TOP,
    BINS_PATH_FREE_MMAP,
    BINS_PATH_TRIM,
    BINS_PATH_COUNT
} bins_path;
extern const char *const bins_path_names[BINS_PATH_COUNT];

/* ---- arenas and regions ---- */
typedef struct nf_heap bins_heap;

/* An arena. Invariants (under lock): top is the last chunk of the current
 * region or segment and has PREV_INUSE set; every chunk in bins[i] is free,
 * coalesced with its neighbours, and its size maps to bin i (any size in
 * bin 1); large bins are sorted by size, largest at fd; binmap bit i may be
 * set for an empty bin but is never clear for a non-empty one; fastbin
 * chunks have the size of their bin and count as in use. */
typedef struct bins_arena {
    /* its own cache line: the lock's owner writes it on every slow call,
     * other threads read the region header and the heap's keys on every
     * free (bins_region and nf_heap are aligned to keep them apart) */
    _Alignas(64) bins_lock lock;
    bins_heap *heap;
    bool is_main;
    bool have_fastchunks;
    bins_chunk *fastbins[BINS_NFASTBINS]; /* safe-linked */
    bins_chunk *top;                      /* top0 until the first growth */
    bins_chunk top0;                      /* a size-0 top: every request grows */
    bins_chunk *last_remainder;           /* of the last split for a small request */
    bins_chunk bins[BINS_NBINS];          /* list heads: only fd and bk are used */
    uint32_t binmap[BINS_NBINS / 32];
    struct bins_region *region;      /* non-main: current region */
    struct bins_arena *next;         /* every arena of the heap (under heap->lock) */
    struct bins_arena *next_free;    /* arenas with no thread attached */
    size_t attached_threads;         /* under heap->lock */
    uint64_t paths[BINS_PATH_COUNT]; /* under lock; read racily with relaxed loads */
} bins_arena;

/* A region of a non-main arena (glibc heap_info), at the start of a
 * BINS_REGION_MAX-aligned reservation. Invariant: [this, this + opened) is
 * readable and writable, the rest of the reservation is not; the chunks
 * end at this + size; trimmed pages between size and opened are dropped
 * (MADV_DONTNEED), not protected again. */
typedef struct bins_region {
    _Alignas(64) bins_arena *ar; /* a line of its own, apart from the arena's lock after it */
    struct bins_region *prev;    /* the arena's previous region */
    size_t size;                 /* bytes in use: the arena's chunks end here */
    size_t opened;               /* readable and writable up to here (>= size; under the arena lock) */
    uint64_t magic;              /* heap->secret ^ (uintptr_t)this */
} bins_region;

typedef struct bins_segment {
    uintptr_t start, end; /* relaxed atomics: read without the lock by free's checks */
    bool is_map;          /* a mapping of its own, not a piece of the break */
} bins_segment;

/* ---- per-thread cache ---- */
typedef struct bins_tentry {
    struct bins_tentry *next; /* safe-linked */
    uintptr_t key;            /* heap->tcache_key while cached: double-free check */
} bins_tentry;

/* A thread's cache for one heap, itself a chunk of the thread's arena.
 * Invariant: entries[i] holds counts[i] <= BINS_TCACHE_COUNT chunks of
 * size 32 + 16 i, which count as in use. Counters are written only by the
 * owning thread (relaxed atomic stores) and read by stats. */
typedef struct bins_tcache {
    uint16_t counts[BINS_TCACHE_BINS];
    bins_tentry *entries[BINS_TCACHE_BINS];
    bins_heap *heap;
    bins_arena *ar;
    struct bins_tcache *next, *prev; /* heap's live caches (under heap->lock) */
    uint64_t paths[BINS_PATH_COUNT];
    uint64_t mallocs, frees, reallocs;
    /* The fast paths (iface.c) count one word each: a malloc served by
     * the tcache, a free into it. Stats add them to mallocs and
     * paths[TCACHE], frees and paths[FREE_TCACHE]. */
    uint64_t fast_mallocs, fast_frees;
    int64_t live_local; /* not yet folded into heap->live */
} bins_tcache;

static inline size_t tc_idx(size_t nb) { return (nb - BINS_MINSIZE) / BINS_ALIGN; }

/* ---- the heap ---- */
/* Invariants: arenas lists every arena (main first); narenas <= max_arenas;
 * mapped = bytes opened from the page source now. */
struct nf_heap {
    uint64_t uid;         /* unique per heap in this process: the TLS key */
    uint64_t secret;      /* for region and direct-map check words */
    uintptr_t tcache_key; /* marks cached chunks */
    nf_pages *ps;
    nf_pages own_ps; /* used when created with ps == NULL */
    size_t page;
    size_t self_size;            /* bytes of this struct's own mapping */
    _Alignas(64) bins_lock lock; /* arena list, free arenas, tcache list, segments append */
    pthread_key_t key;           /* thread exit: returns the tcache */
    bool have_key;
    bins_arena main;
    bins_arena *arenas;
    bins_arena *free_arenas;
    bins_arena *next_reuse;
    size_t narenas, max_arenas;
    bins_tcache *tcaches;
    bins_segment segs[BINS_MAIN_SEGMENTS];
    size_t nsegs; /* atomic; segs[0..nsegs) valid */
    int brk_seg;  /* index of the break segment, -1 before the first growth */
    /* tunables (mallopt), atomics */
    size_t mmap_threshold, trim_threshold, top_pad;
    int mmap_max, n_mmaps;
    bool threshold_fixed; /* set by the user: no dynamic raise */
    /* statistics, atomics: written often, kept off the lines above that
     * every free reads */
    _Alignas(64) uint64_t mapped, peak_mapped;
    int64_t live, peak_live;
    uint64_t retired_paths[BINS_PATH_COUNT]; /* from exited threads and threads without a cache */
    uint64_t retired_mallocs, retired_frees, retired_reallocs;
};

/* ---- shared internals (_locked: caller holds ar->lock) ---- */
/* errors: never allocate, never return */
_Noreturn void bins_die(const char *what, const void *p);
_Noreturn void bins_die_why(const char *what, const void *p, const char *why);
/* free.c */
bins_chunk *bins_free_chunk_locked(bins_arena *ar, bins_chunk *c);  /* into bins or top, coalescing: what c joined */
bool bins_chunk_live_locked(bins_arena *ar, bins_chunk *c);         /* false: c is free in ar (double free) */
void bins_free_chunk(bins_heap *h, bins_tcache *tc, bins_chunk *c); /* the whole free path */
const char *bins_direct_problem(bins_heap *h, bins_chunk *c);       /* bins_chunk_problem's direct maps */
void bins_check_not_cached(bins_heap *h, bins_chunk *c, const char *what); /* aborts when c sits in a tcache */
bins_arena *bins_arena_of(bins_heap *h, bins_chunk *c);
/* malloc.c */
void *bins_malloc_slow(bins_heap *h, bins_tcache *tc, size_t nb);
void *bins_int_malloc_locked(bins_arena *ar, bins_tcache *tc, size_t nb);
void *bins_malloc_inner(bins_heap *h, bins_tcache *tc, size_t nb); /* no poisoning, no counting of calls */
void *bins_int_memalign(bins_heap *h, bins_tcache *tc, size_t align, size_t nb);
/* binlists.c */
size_t bins_index(size_t sz);
void bins_unlink_locked(bins_arena *ar, bins_chunk *c);
void bins_to_unsorted_locked(bins_arena *ar, bins_chunk *c);
void bins_place_locked(bins_arena *ar, bins_chunk *c); /* into its small or large bin */
void bins_consolidate_locked(bins_arena *ar);
static inline size_t fastbin_index(size_t sz) { return (sz >> 4) - 2; }
static inline void binmap_mark(bins_arena *ar, size_t i) { ar->binmap[i / 32] |= 1u << (i % 32); }
static inline void binmap_unmark(bins_arena *ar, size_t i) { ar->binmap[i / 32] &= ~(1u << (i % 32)); }
static inline size_t bins_page_up(const bins_heap *h, size_t n) { return (n + h->page - 1) & ~(h->page - 1); }
/* arena.c */
void bins_arena_init(bins_arena *ar, bins_heap *h, bool is_main);
bins_arena *bins_arena_attach(bins_heap *h);
void bins_arena_detach(bins_heap *h, bins_arena *ar);
bool bins_grow_top_locked(bins_arena *ar, size_t nb); /* top >= nb + MINSIZE after */
int bins_trim_top_locked(bins_arena *ar, size_t pad);
void bins_drop_regions_locked(bins_arena *ar, size_t pad); /* non-main: later regions that are all top go back */
int bins_trim_arena_locked(bins_arena *ar, size_t pad);
void bins_region_release(bins_heap *h, bins_region *r); /* at destroy */
void bins_mapped_add(bins_heap *h, int64_t delta);
/* direct.c */
void *bins_direct_map(bins_heap *h, size_t nb);                         /* user pointer, or NULL */
void bins_direct_unmap(bins_heap *h, bins_chunk *c, bool raise);        /* raise: free may raise the threshold */
void *bins_direct_resize(bins_heap *h, bins_chunk *c, size_t nb);       /* realloc by remap; NULL: copy */
bool bins_direct_owned(bins_heap *h, bins_chunk *c);                    /* a live direct map of h */
void bins_direct_moved(bins_heap *h, bins_chunk *from, bins_chunk *to); /* memalign moved its chunk */
void bins_direct_table_lock(void);                                      /* fork hooks */
void bins_direct_table_unlock(void);
/* tcache.c */
bins_tcache *bins_tcache_get(bins_heap *h); /* NULL: none (yet) */
void bins_slot_forget(bins_heap *h);        /* at destroy */
void bins_tcache_destructor(void *tc);
bins_arena *bins_thread_arena(bins_heap *h);
void bins_tcache_shutdown(bins_heap *h);
void bins_count(bins_heap *h, bins_tcache *tc, bins_path p);
void bins_live_add(bins_heap *h, bins_tcache *tc, int64_t delta);

/* ---- where a pointer lies: read without any lock ---- */
/* One bit per BINS_REGION_MAX of address space (arena.c): set while a bins
 * region of any heap starts there, so a pointer is checked without
 * touching memory that may not be mapped. */
extern uint64_t bins_region_bits[];

/* a lies in an open part of a region of h */
static inline bool bins_region_owned(bins_heap *h, uintptr_t a)
{
    if (a >> BINS_ADDR_BITS)
        return false;
    uintptr_t i = a >> BINS_REGION_SHIFT;
    if (!(__atomic_load_n(&bins_region_bits[i / 64], __ATOMIC_ACQUIRE) & ((uint64_t)1 << (i % 64))))
        return false;
    bins_region *r = (bins_region *)(a & ~(uintptr_t)(BINS_REGION_MAX - 1));
    return r->magic == (h->secret ^ (uintptr_t)r) && a < (uintptr_t)r + __atomic_load_n(&r->size, __ATOMIC_RELAXED);
}

/* a lies in a segment of h's main arena */
static inline bool bins_in_main_segments(bins_heap *h, uintptr_t a)
{
    size_t n = __atomic_load_n(&h->nsegs, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++) {
        uintptr_t s = __atomic_load_n(&h->segs[i].start, __ATOMIC_RELAXED);
        uintptr_t e = __atomic_load_n(&h->segs[i].end, __ATOMIC_RELAXED);
        if (a >= s && a < e)
            return true;
    }
    return false;
}

/* NULL when mem is a chunk this heap gave out, else what is wrong with it.
 * Where the pointer lies decides what is read: a region of ours, a
 * main-arena segment, or a live direct map in the table; nothing is read
 * at a foreign address. Inline: free's fast path runs the first two. */
static inline const char *bins_chunk_problem(bins_heap *h, const void *mem)
{
    uintptr_t a = (uintptr_t)mem;
    if (a % BINS_ALIGN || a < 4096)
        return "a misaligned or foreign pointer";
    bins_chunk *c = mem2chunk(mem);
    size_t head, sz;
    if (bins_region_owned(h, a)) {
        head = chunk_head(c);
        sz = head & ~SIZE_BITS;
        if ((head & (NON_MAIN_ARENA | IS_MMAPPED)) != NON_MAIN_ARENA || sz < BINS_MINSIZE)
            return "a corrupted chunk, a foreign pointer or a freed block";
        return NULL;
    }
    if (bins_in_main_segments(h, a)) { /* a block freed into the top fails here: its size runs past the end */
        head = chunk_head(c);
        sz = head & ~SIZE_BITS;
        if (head & (IS_MMAPPED | NON_MAIN_ARENA) || sz < BINS_MINSIZE || !bins_in_main_segments(h, a + sz - 1))
            return "a corrupted chunk, a foreign pointer or a freed block";
        return NULL;
    }
    return bins_direct_problem(h, c);
}

/* The chunk of a pointer this heap gave out; aborts naming the call (what:
 * "free of", "realloc of", ...) and the reason on any other pointer. */
static inline bins_chunk *bins_check_chunk(bins_heap *h, const void *mem, const char *what)
{
    const char *why = bins_chunk_problem(h, mem);
    if (__builtin_expect(why != NULL, 0))
        bins_die_why(what, mem, why);
    return mem2chunk(mem);
}

/* A thread's state for one heap. */
typedef struct bins_tls_slot {
    uint64_t uid; /* the heap's uid; 0: free slot */
    bins_tcache *tc;
    bins_arena *ar;
    int state;         /* BINS_SLOT_* */
    uint64_t live_uid; /* uid while state is LIVE (tc set), else 0: the fast paths' one compare */
} bins_tls_slot;
enum { BINS_SLOT_FREE, BINS_SLOT_INIT, BINS_SLOT_LIVE, BINS_SLOT_DEAD };
extern __thread bins_tls_slot bins_tls[BINS_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

/* The fast lookup: the heap used last by this thread sits in slot 0. */
static inline bins_tcache *bins_tcache_fast(bins_heap *h)
{
    if (__builtin_expect(bins_tls[0].live_uid == h->uid, 1))
        return bins_tls[0].tc;
    return bins_tcache_get(h);
}

/* Cache chunk c (in use, of tcache bin idx, not full) in tc. */
static inline void bins_tcache_put(bins_heap *h, bins_tcache *tc, bins_chunk *c, size_t idx)
{
    bins_tentry *e = chunk2mem(c);
    e->key = h->tcache_key;
    e->next = protect_ptr(&e->next, tc->entries[idx]);
    tc->entries[idx] = e;
    tc->counts[idx]++;
}

/* The tcache fast paths: a handful of lines, no lock. */
static inline void *bins_tcache_pop(bins_tcache *tc, size_t nb)
{
    size_t i = tc_idx(nb);
    if (i >= BINS_TCACHE_BINS || !tc->entries[i])
        return NULL;
    bins_tentry *e = tc->entries[i];
    if ((uintptr_t)e % BINS_ALIGN)
        bins_die("malloc(): unaligned tcache chunk detected at", e);
    tc->entries[i] = REVEAL_PTR(e->next);
    tc->counts[i]--;
    e->key = 0;
    __atomic_store_n(&tc->paths[BINS_PATH_TCACHE], tc->paths[BINS_PATH_TCACHE] + 1, __ATOMIC_RELAXED);
    return e;
}

static inline void bins_live_add_fast(bins_heap *h, bins_tcache *tc, int64_t delta)
{
    int64_t v = tc->live_local + delta;
    if (v >= BINS_LIVE_FLUSH || v <= -BINS_LIVE_FLUSH)
        bins_live_add(h, tc, delta);
    else
        __atomic_store_n(&tc->live_local, v, __ATOMIC_RELAXED);
}

static inline void bins_arena_count(bins_arena *ar, bins_path p)
{
    __atomic_store_n(&ar->paths[p], ar->paths[p] + 1, __ATOMIC_RELAXED);
}

#endif /* NF_BINS_H */
