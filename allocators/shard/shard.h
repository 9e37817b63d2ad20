/* shard.h: the internals of shard, the free-list sharding allocator
 * (Leijen, Zorn and de Moura, "Mimalloc: Free List Sharding in Action", 2019).
 *
 * Glossary
 *   segment    a 4 MiB range aligned to 4 MiB (a huge one is bigger), owned
 *              by one thread heap: a header, then pages. Masking a pointer
 *              gives its segment; the segment map says whether it is ours.
 *   page       a run of blocks of one size class inside a segment: 64 KiB
 *              (small kind, 64 per segment), 512 KiB (medium, 8), the whole
 *              segment (large: one page; huge: one block).
 *   block      what malloc hands out; while free, its first word links it
 *              into one of its page's three free lists, encoded against
 *              the page's keys (shard_config.h, hardening). A handed-out
 *              block's first word starts at 0.
 *   bin        a size class; a thread heap keeps a queue of pages per bin,
 *              and a queue of full pages.
 *   theap      a thread heap: one thread's pages, queues and pages_direct
 *              table for one nf_heap. Only its thread touches it, except the
 *              delayed-free notice, an atomic word others set.
 *   heap       the nf_heap: the process-level part (page source, the pool of
 *              theaps, abandoned segments, huge segments, statistics).
 *   collect    moving a page's thread_free and local_free blocks back into
 *              its free list (the owner only).
 *   delayed    a full page sits in the full queue and is not looked at; a
 *   free       thread that frees into it sees the DELAYED state in its
 *              thread_free word, turns it into NOTIFIED with the same CAS,
 *              and raises the owner's notice, so the owner learns the page
 *              has space again.
 *   abandon    an exiting thread hands its segments that still hold blocks
 *              to the heap; another thread reclaims them later.
 *   purge      an unused page's memory given back with MADV_DONTNEED, some
 *              milliseconds after it was left.
 *   path       how a request was served; counted per theap.
 */
#ifndef NF_SHARD_H
#define NF_SHARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kit.h"
#include "notfree/alloc.h"
#include "shard_config.h"

#define SHARD_LIKELY(x) __builtin_expect(!!(x), 1)
#define SHARD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SHARD_NOINLINE __attribute__((noinline))
#define SHARD_HIDDEN __attribute__((visibility("hidden")))

typedef struct shard_block {
    uintptr_t next;
} shard_block; /* next: an encoded link (shard_encode) */
typedef struct shard_theap shard_theap;
typedef struct shard_segment shard_segment;

/* ---- paths ---- */
typedef enum shard_path {
    SHARD_PATH_FAST,          /* malloc served by pages_direct -> page->free (derived: mallocs - generic) */
    SHARD_PATH_GENERIC,       /* malloc that took the generic (slow) path */
    SHARD_PATH_COLLECT,       /* a page's thread_free list moved back (collect) */
    SHARD_PATH_EXTEND,        /* a page's free list grown into untouched space */
    SHARD_PATH_FRESH_PAGE,    /* a page taken from a segment for a bin */
    SHARD_PATH_FULL,          /* a page moved to the full queue */
    SHARD_PATH_THREAD_FREE,   /* a free by another thread (pushed to thread_free) */
    SHARD_PATH_DELAYED,       /* a full page brought back after a delayed-free notice */
    SHARD_PATH_FREE_LOCAL,    /* a free by the owner into local_free (derived) */
    SHARD_PATH_ABANDON,       /* a segment abandoned by an exiting thread */
    SHARD_PATH_RECLAIM,       /* an abandoned segment reclaimed by another thread */
    SHARD_PATH_HUGE,          /* a block above SHARD_LARGE_MAX (or aligned beyond a page): a segment of its own */
    SHARD_PATH_FREE_HUGE,     /* such a segment unmapped by free */
    SHARD_PATH_PURGE,         /* a free page's memory advised away */
    SHARD_PATH_SEGMENT_MAP,   /* a segment mapped from the page source */
    SHARD_PATH_SEGMENT_UNMAP, /* a segment unmapped */
    SHARD_PATH_COUNT
} shard_path;
extern const char *const shard_path_names[SHARD_PATH_COUNT];

/* ---- pages ---- */
enum {
    SHARD_PAGE_IN_FULL = 1u << 0, /* in the full queue */
    SHARD_PAGE_ALIGNED = 1u << 1, /* holds a block handed out at an offset (memalign) */
};
/* thread_free's low bits: the delayed-free state */
enum { SHARD_TF_NORMAL = 0, SHARD_TF_DELAYED = 1, SHARD_TF_NOTIFIED = 2, SHARD_TF_MASK = 3 };

/* A page: blocks of one size, owned by one theap (or by nobody while its
 * segment is abandoned).
 *
 * The three free lists (free-list sharding):
 *   free         blocks malloc takes, popped by the fast path. Only the
 *                owner touches it; frees never push to it, so the fast
 *                path checks no other list and takes no lock or atomic.
 *   local_free   the owner's frees since the last collect; only the owner.
 *                Moved to free by collect when free has run dry.
 *   thread_free  other threads' frees: pushed with a CAS by any thread,
 *                taken whole (CAS to empty) only by the owner in collect.
 *                Low 2 bits: SHARD_TF_* (delayed-free state).
 * Invariants (owner's view): the blocks of [area, area + capacity * bsize)
 * are each handed out, in free, in local_free or in thread_free, exactly
 * once; used = capacity - |free| - |local_free| (blocks in thread_free
 * count as used until collected); capacity <= reserved; span = reserved *
 * bsize and divmagic = UINT64_MAX / bsize + 1 while in use (span 0 when
 * not); every link in the three lists decodes (keys) to a block of
 * [area, area + span) or NULL; a page with in_use == false has no theap
 * and belongs to no queue. theap and
 * thread_free are read by other threads (atomics); every other field is
 * the owner's. */
typedef struct __attribute__((aligned(64))) shard_page {
    /* the first cache line: what the fast paths read */
    shard_block *free;
    shard_block *local_free;
    uint8_t *area;      /* first block */
    uintptr_t key;      /* free-list encoding key (shard_encode), new for each use of the page */
    uint64_t divmagic;  /* UINT64_MAX / bsize + 1: a block-start test by one multiply (shard_is_block_offset) */
    size_t bsize;       /* block size */
    shard_theap *theap; /* owner; atomic (read by other threads' frees) */
    uint32_t span;      /* bytes of blocks from area: reserved * bsize (< 4 MiB) */
    uint16_t used;      /* <= reserved: at most 4096 (64 KiB of 16 B blocks) */
    uint8_t flags;      /* SHARD_PAGE_*: non-zero sends a local free to the generic path */
    uint8_t bin;
    /* the second */
    bool in_use;                    /* serves a bin (or is a huge block) */
    bool dirty;                     /* unused but touched: to purge (a huge block in use: recycled, not zero) */
    uint32_t capacity;              /* blocks carved into the lists so far */
    uint32_t reserved;              /* blocks the page can hold */
    uintptr_t key2;                 /* secure mode's second key */
    uintptr_t thread_free;          /* atomic: block pointer | SHARD_TF_* */
    uint64_t stamp;                 /* unused: when it was left (ns); in a queue: generic count when it retired */
    struct shard_page *next, *prev; /* in its queue */
} shard_page;
/* Two cache lines: a page's index in its segment is a shift. */
_Static_assert(sizeof(shard_page) == 128, "shard_page is two cache lines");
_Static_assert(((size_t)1 << SHARD_SMALL_PAGE_SHIFT) / SHARD_ALIGN <= UINT16_MAX, "used fits 16 bits");

/* ---- segments ---- */
typedef enum shard_kind { SHARD_SMALL, SHARD_MEDIUM, SHARD_LARGE, SHARD_HUGE, SHARD_KINDS } shard_kind;

/* A segment's header, at its start. Invariants: (uintptr_t)this is a
 * multiple of SHARD_SEGMENT_SIZE; segmap[this >> SHIFT] == SEGMAP_START and
 * every further 4 MiB of a huge segment is SEGMAP_MORE; free_mask has bit i
 * set iff pages[i] is not in use (i < npages); used_pages = npages -
 * popcount(free_mask). Owner fields change only under the owner (theap) or,
 * while abandoned, under heap->lock. */
struct shard_segment {
    nf_heap *heap;
    shard_theap *theap; /* owner, NULL while abandoned or huge */
    uint8_t kind;       /* shard_kind */
    uint8_t page_shift; /* a pointer's page: (p - this) >> page_shift */
    uint16_t npages;
    uint16_t used_pages;
    bool in_avail; /* in its theap's avail list of its kind */
    uint64_t free_mask;
    size_t size;                                   /* bytes mapped */
    struct shard_segment *next, *prev;             /* theap's segments, or the heap's abandoned/huge list */
    struct shard_segment *avail_next, *avail_prev; /* theap's segments of this kind with a free page */
    shard_page pages[SHARD_MAX_PAGES];
};

#define SHARD_SEGMENT_HDR (((sizeof(shard_segment) + SHARD_OS_PAGE - 1) / SHARD_OS_PAGE) * SHARD_OS_PAGE)
enum { SHARD_SEGMAP_NONE = 0, SHARD_SEGMAP_START = 1, SHARD_SEGMAP_MORE = 2 };
extern uint8_t *shard_segmap; /* SHARD_SEGMAP_BYTES, reserved on the first heap */

static inline shard_segment *shard_segment_of(const void *p)
{
    return (shard_segment *)((uintptr_t)p & ~(uintptr_t)(SHARD_SEGMENT_SIZE - 1));
}
static inline uint8_t shard_segmap_at(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >> SHARD_ADDR_BITS)
        return SHARD_SEGMAP_NONE;
    return __atomic_load_n(&shard_segmap[a >> SHARD_SEGMENT_SHIFT], __ATOMIC_RELAXED);
}
static inline shard_page *shard_page_of(shard_segment *s, const void *p)
{
    return &s->pages[((uintptr_t)p - (uintptr_t)s) >> s->page_shift];
}

/* Set pg's delayed-free state (SHARD_TF_*), keeping the blocks other
 * threads push onto thread_free meanwhile. */
static inline void shard_tf_set_state(shard_page *pg, uintptr_t state)
{
    uintptr_t old = __atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&pg->thread_free, &old, (old & ~(uintptr_t)SHARD_TF_MASK) | state, 1,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        ;
}

/* ---- page queues and the theap ---- */
typedef struct shard_pageq {
    shard_page *first, *last;
} shard_pageq;

struct shard_theap {
    /* the fast path reads these */
    shard_page *pages_direct[SHARD_DIRECT_COUNT]; /* by (size + 7) / 8: a page of that size's bin (or the empty page) */
    nf_heap *heap;
    int64_t live_local; /* bytes handed out minus freed by this thread, not yet folded into heap->live */
    uint64_t mallocs, frees, reallocs;
    uint64_t paths[SHARD_PATH_COUNT];
    /* the generic path */
    shard_pageq queues[SHARD_NBINS + 1]; /* by bin; [SHARD_BIN_FULL] is the full queue */
    uint64_t generic_count;
    uint64_t retired_bins;             /* bit b: queue b's first page may be an empty retired page */
    int delayed_notice;                /* atomic: set by a thread that freed into one of our full pages */
    shard_segment *segments;           /* every segment we own */
    shard_segment *avail[SHARD_KINDS]; /* ours with a free page, by kind */
    size_t empty_segments;             /* ours with no page in use (at most SHARD_SEGMENT_CACHE) */
    size_t dirty_pages;                /* ours unused and not purged */
    uint64_t purge_due;                /* ns: the earliest a dirty page may be purged */
    struct shard_theap *pool_next;     /* heap's free theaps */
    struct shard_theap *all_next;      /* every theap of the heap (stats) */
    bool live;                         /* attached to a thread */
    uint64_t parked;                   /* when its thread left it (ns): warm theaps expire */
};

/* ---- the heap ---- */
/* Invariants: theaps lists every theap ever made (they are recycled
 * through pool, never freed before destroy); warm holds at most
 * SHARD_WARM_THEAPS theaps with no thread that still own their segments
 * and pages (frees into them go to thread_free as for any other owner); abandoned, huge and cache are
 * lists through segment->next under lock; cache holds at most
 * SHARD_HEAP_SEGMENT_CACHE segments, none with a page in use; huge_cache
 * at most SHARD_HUGE_CACHE huge segments, newest first, each with
 * pages[0].in_use == false and stamp = when it was freed, and after every
 * put or expiry huge_cache_bytes <= the recent peak of huge_live minus
 * huge_live (huge.c). huge_live is the bytes of the segments on the huge
 * list. */
struct nf_heap {
    uint64_t uid; /* unique per heap in this process: the TLS key */
    uint64_t secret;
    nf_pages *ps;
    nf_pages own_ps; /* used when created with ps == NULL */
    size_t self_size;
    pthread_mutex_t lock; /* pool, theaps, chunks, abandoned, huge */
    pthread_key_t key;    /* thread exit in linked use */
    bool have_key;
    shard_theap *theaps, *pool;
    shard_theap *warm; /* exited threads' theaps with their pages, newest first (through pool_next) */
    size_t warm_count; /* atomic: read without the lock to skip it */
    void *chunks;      /* theap chunks: a list through their first word */
    shard_segment *abandoned;
    size_t abandoned_count; /* atomic: read without the lock to skip it */
    shard_segment *huge;
    shard_segment *cache;                      /* empty segments any thread may take (resident until purged) */
    shard_segment *huge_cache;                 /* freed huge segments (page 0 not in use, segmap kept), newest first */
    size_t huge_cache_count, huge_cache_bytes; /* under lock */
    size_t huge_live;                          /* under lock: bytes of huge segments in use */
    size_t huge_max_cur, huge_max_prev;        /* under lock: huge_live's highest in this window and the last */
    uint64_t huge_window;                      /* under lock: when this window began (ns) */
    size_t cache_count;                        /* atomic: read without the lock to skip it */
    int cache_dirty;                           /* atomic: some cached page waits for its purge ... */
    uint64_t cache_due;                        /* atomic: ... not before this (ns) */
    uint64_t trim_last;                        /* atomic: when the last full trim ran (ns; 0: never) */
    /* statistics, atomics */
    uint64_t mapped, peak_mapped, held;
    int64_t live, peak_live;
    uint64_t heap_paths[SHARD_PATH_COUNT]; /* paths taken without a theap (huge frees, segment unmaps at destroy) */
};

/* ---- thread-local state (initial-exec) ---- */
/* Invariant: uid != 0 (heap uids start at 1) implies th != NULL; the fast
 * paths rely on it and test only the uid. */
typedef struct shard_tls {
    uint64_t uid;
    shard_theap *th;
} shard_tls;
extern __thread shard_tls shard_t_cur __attribute__((tls_model("initial-exec"))); /* the last heap used */
extern __thread shard_tls shard_t_slots[SHARD_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

static inline shard_theap *shard_theap_fast(const nf_heap *h)
{
    if (SHARD_LIKELY(shard_t_cur.uid == h->uid))
        return shard_t_cur.th;
    return NULL;
}

/* ---- size classes ---- */
static inline size_t shard_bin(size_t size)
{
    if (size <= 128)
        return size <= 16 ? 1 : (size + 15) >> 4;
    size_t w = (size - 1) >> 4;
    unsigned b = 63u - (unsigned)__builtin_clzl(w);
    return ((size_t)b << 2) + ((w >> (b - 2)) & 3) - 3;
}
static inline size_t shard_bin_size(size_t bin)
{
    if (bin <= 8)
        return bin * 16;
    size_t j = bin - 9, b = 3 + j / 4, k = j % 4;
    return (size_t)16 * ((4 + k + 1) << (b - 2));
}

/* ---- free lists: encoded links and the checks on them ----
 * (shard_config.h, hardening). Default: link ^ key, whose top bits are 10,
 * so 0, small integers and canonical pointers decode to non-canonical
 * addresses. Secure: mimalloc's form, rotl(link ^ key2, key) + key, with
 * key2 chosen so that 0 decodes non-canonical too. */
static inline uintptr_t shard_rotl(uintptr_t x, uintptr_t s) { return (x << (s & 63)) | (x >> (-s & 63)); }
static inline uintptr_t shard_rotr(uintptr_t x, uintptr_t s) { return (x >> (s & 63)) | (x << (-s & 63)); }
static inline uintptr_t shard_encode(const shard_page *pg, const shard_block *p)
{
    uintptr_t x = (uintptr_t)p;
    if (shard_secure)
        return shard_rotl(x ^ pg->key2, pg->key) + pg->key;
    return shard_checks ? x ^ pg->key : x;
}
static inline shard_block *shard_decode(const shard_page *pg, uintptr_t x)
{
    if (shard_secure)
        return (shard_block *)(shard_rotr(x - pg->key, pg->key) ^ pg->key2);
    return (shard_block *)(shard_checks ? x ^ pg->key : x);
}
static inline shard_block *shard_next(const shard_page *pg, const shard_block *b) { return shard_decode(pg, b->next); }
static inline void shard_set_next(const shard_page *pg, shard_block *b, const shard_block *next)
{
    b->next = shard_encode(pg, next);
}

/* off (< span < 2^32) is a multiple of bsize: off * ceil(2^64 / bsize) wraps
 * below ceil(2^64 / bsize) exactly then (Lemire, Kaser and Kurz, "Faster
 * remainder by direct computation", 2019). */
static inline bool shard_is_block_offset(const shard_page *pg, uintptr_t off)
{
    return off * pg->divmagic <= pg->divmagic - 1;
}
/* p lies in the page's blocks [area, area + span). */
static inline bool shard_in_blocks(const shard_page *pg, const void *p)
{
    return (uintptr_t)p - (uintptr_t)pg->area < pg->span;
}
/* A block about to be popped (a decoded link, unless the list's head):
 * inside the page's blocks, and a block start in secure mode. */
static inline bool shard_link_ok(const shard_page *pg, const shard_block *b)
{
    uintptr_t off = (uintptr_t)b - (uintptr_t)pg->area;
    return off < pg->span && (!shard_check_link_block || shard_is_block_offset(pg, off));
}
/* The double-free marker: b's first word decodes to the end of a list or
 * into the page's blocks. A handed-out block's first word is 0 or the
 * program's data, which decode outside (data that looks random: a chance
 * of about span / 2^64). */
static inline bool shard_looks_free(const shard_page *pg, const shard_block *b)
{
    shard_block *d = shard_next(pg, b);
    return d == NULL || shard_in_blocks(pg, d);
}
/* The fast free's checks: p (in pg's range of the segment) is a block
 * start and does not look free already. Anything else: the generic path,
 * which says what is wrong. */
static inline bool shard_free_fast_ok(const shard_page *pg, const void *p)
{
    if (!shard_checks)
        return p != pg->local_free;
    uintptr_t off = (uintptr_t)p - (uintptr_t)pg->area;
    return off < pg->span && shard_is_block_offset(pg, off) && !shard_looks_free(pg, p);
}

/* flags are written by the owner and read by any thread that frees into
 * the page: relaxed atomics (plain moves). */
static inline uint8_t shard_page_flags(const shard_page *pg) { return __atomic_load_n(&pg->flags, __ATOMIC_RELAXED); }
static inline void shard_page_flags_set(shard_page *pg, uint8_t f)
{
    __atomic_store_n(&pg->flags, (uint8_t)(pg->flags | f), __ATOMIC_RELAXED);
}
static inline void shard_page_flags_clear(shard_page *pg, uint8_t f)
{
    __atomic_store_n(&pg->flags, (uint8_t)(pg->flags & ~f), __ATOMIC_RELAXED);
}

static inline shard_theap *shard_page_owner(const shard_page *pg)
{
    return __atomic_load_n(&pg->theap, __ATOMIC_RELAXED);
}

/* Counters: written by one thread, read by stats (relaxed: plain moves). */
#define SHARD_INC(field) __atomic_store_n(&(field), (field) + 1, __ATOMIC_RELAXED)
#define SHARD_ADD(field, v) __atomic_store_n(&(field), (field) + (v), __ATOMIC_RELAXED)

/* ---- shared internals ---- */
/* free.c */
_Noreturn void shard_die(const char *what, const void *p);
_Noreturn void shard_bad_link(const shard_page *pg, const void *link);       /* a corrupted free list */
shard_block *shard_next_checked(const shard_page *pg, const shard_block *b); /* slow-path walks: aborts on a bad link */
void shard_free_generic(nf_heap *h, void *p);                                /* keeps errno */
void shard_page_retire_keep_errno(shard_theap *th, shard_page *pg);          /* free's retire: keeps errno */
SHARD_HIDDEN void *shard_malloc(nf_heap *h, size_t n);
SHARD_HIDDEN void shard_free(nf_heap *h, void *p);                            /* keeps errno */
shard_page *shard_check_ptr(nf_heap *h, const void *p, shard_segment **segp); /* aborts on a pointer not ours */
uint8_t *shard_block_start(const shard_page *pg, const void *p);
/* page.c */
extern shard_page shard_empty_page;
void *shard_malloc_generic(nf_heap *h, size_t size);
void *shard_page_pop_slow(shard_theap *th, size_t size); /* size <= SHARD_LARGE_MAX */
void shard_page_collect(shard_page *pg, bool force);
void shard_page_free(shard_theap *th, shard_page *pg);   /* back to its segment */
void shard_page_retire(shard_theap *th, shard_page *pg); /* used reached 0 */
void shard_page_unfull(shard_theap *th, shard_page *pg);
void shard_page_requeue(shard_theap *th, shard_page *pg); /* after reclaim: into its bin or the full queue */
void shard_theap_collect(shard_theap *th, bool force);    /* every page; force: also free empty pages */
void shard_live_flush(nf_heap *h, shard_theap *th);
/* segment.c */
bool shard_segmap_init(void);
shard_page *shard_segment_page_alloc(shard_theap *th, shard_kind kind); /* NULL: out of memory */
void shard_segment_page_free(shard_theap *th, shard_page *pg);
void shard_segment_release(nf_heap *h, shard_segment *s, uint64_t *paths); /* unmap */
void shard_purge(shard_theap *th, bool now);
bool shard_reclaim(shard_theap *th); /* true: took at least one */
void shard_abandon_all(shard_theap *th);
uint8_t *shard_map_aligned(nf_pages *ps, size_t size, size_t align, size_t phase, unsigned hints);
shard_segment *shard_segment_map(nf_heap *h, size_t size, size_t align, size_t phase, uint64_t *paths);
void shard_segmap_set(shard_segment *s, size_t size, uint8_t first);
void shard_count(nf_heap *h, uint64_t *paths, shard_path p);
int shard_trim_segments(shard_theap *th, bool to_cache); /* th's empty segments: to the heap's cache, or unmapped */
void shard_cache_purge(nf_heap *h, bool now);
int shard_cache_release(nf_heap *h); /* unmap every cached segment (huge ones too) */
uint64_t shard_now_ns(void);
void shard_mapped_add(nf_heap *h, int64_t delta);
static inline shard_kind shard_kind_of(size_t bsize)
{
    return bsize <= SHARD_SMALL_MAX ? SHARD_SMALL : bsize <= SHARD_MEDIUM_MAX ? SHARD_MEDIUM : SHARD_LARGE;
}
/* huge.c */
void *shard_huge_alloc(nf_heap *h, shard_theap *th, size_t size, size_t align);
void shard_huge_free(nf_heap *h, shard_theap *th, shard_segment *s);
void *shard_huge_realloc(nf_heap *h, shard_segment *s, void *p,
                         size_t n); /* the block, moved or not: copy when still short of n */
shard_segment *shard_huge_expire_locked(nf_heap *h, bool now, uint64_t t, uint64_t *due);
void shard_huge_release_list(nf_heap *h, shard_segment *s);
/* heap.c: the heap lifecycle, the nf_allocator entries besides the calls */
shard_theap *shard_theap_get(nf_heap *h); /* this thread's theap for h, made on first use; NULL: out of memory */
nf_heap *shard_create(nf_pages *ps);
void shard_destroy(nf_heap *h);
nf_heap *shard_default_heap(void);
void shard_fork_prepare(nf_heap *h);
void shard_fork_parent(nf_heap *h);
void shard_fork_child(nf_heap *h);
void shard_thread_exit(nf_heap *h);
void shard_warm_expire(nf_heap *h, bool now); /* abandon warm theaps parked past the purge delay (all: now) */

#endif /* NF_SHARD_H */
