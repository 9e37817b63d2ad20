/* notfree/pages.h: the page source, the only code that asks the system (or
 * the kernel model) for memory on behalf of an allocator.
 *
 * Glossary
 *   page source  a table of operations (nf_pages_ops) plus its state
 *                (nf_pages): map, unmap, advise, lock/unlock, protect and
 *                brk-style growth. The real one (nf_pages_real_*) makes the
 *                system calls; the kernel model is a second implementation.
 *   break        the end of a contiguous heap that grows and shrinks by a
 *                delta (sbrk). NF_BRK_REAL moves the process's real program
 *                break (only for a drop-in build that owns brk, as glibc
 *                does); NF_BRK_EMULATED moves an emulated break inside an
 *                address range reserved on first use (for an allocator
 *                linked into a process whose own malloc owns brk).
 *   call         one operation asked of the page source; every call is
 *                counted by kind (nf_page_call), whether it succeeded or not.
 *
 * Rules
 *   - No operation allocates memory or calls malloc: a page source runs
 *     inside malloc. Errors are returned (NULL or -1 with errno), never
 *     printed.
 *   - Counters are cumulative, updated with relaxed atomics; read them with
 *     nf_pages_calls. lock and unlock both count as NF_PAGE_LOCK.
 *   - grow() serialises its callers itself; the other operations are as
 *     thread-safe as the system calls they make.
 */
#ifndef NOTFREE_PAGES_H
#define NOTFREE_PAGES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nf_page_call {
    NF_PAGE_MAP,
    NF_PAGE_UNMAP,
    NF_PAGE_ADVISE,
    NF_PAGE_LOCK, /* lock and unlock */
    NF_PAGE_BRK,  /* grow, in either direction, including grow(0) */
    NF_PAGE_PROTECT,
    NF_PAGE_CALL_COUNT
} nf_page_call;

/* Hints for map (a bit set). */
enum {
    NF_MAP_POPULATE = 1u << 0,  /* fault every page in now (MAP_POPULATE) */
    NF_MAP_HUGE = 1u << 1,      /* ask for transparent huge pages (MADV_HUGEPAGE) */
    NF_MAP_NORESERVE = 1u << 2, /* no swap/commit reservation (MAP_NORESERVE) */
    NF_MAP_NOACCESS = 1u << 3,  /* reserve address space only (PROT_NONE); protect() opens it */
};

typedef enum nf_advice {
    NF_ADVISE_DONTNEED, /* drop the pages now; next touch reads zeroes */
    NF_ADVISE_FREE,     /* drop the pages lazily, under memory pressure */
    NF_ADVISE_HUGEPAGE, /* back the range with huge pages where possible */
    NF_ADVISE_NOHUGEPAGE,
} nf_advice;

/* Protections for protect (a bit set; 0 is no access). */
enum { NF_PROT_NONE = 0, NF_PROT_READ = 1u << 0, NF_PROT_WRITE = 1u << 1 };

typedef enum nf_brk_mode {
    NF_BRK_NONE,     /* grow() fails with ENOMEM */
    NF_BRK_EMULATED, /* a break inside a reserved mapping */
    NF_BRK_REAL,     /* the process's program break (sbrk) */
} nf_brk_mode;

typedef struct nf_pages nf_pages;

typedef struct nf_pages_ops {
    const char *name;
    /* A fresh, zeroed, page-aligned range of len bytes (rounded up to
     * pages), or NULL with errno. */
    void *(*map)(nf_pages *ps, size_t len, unsigned hints);
    int (*unmap)(nf_pages *ps, void *addr, size_t len);
    int (*advise)(nf_pages *ps, void *addr, size_t len, nf_advice advice);
    int (*lock)(nf_pages *ps, void *addr, size_t len);
    int (*unlock)(nf_pages *ps, void *addr, size_t len);
    int (*protect)(nf_pages *ps, void *addr, size_t len, unsigned prot);
    /* Move the break by delta bytes (any sign, byte-granular); returns the
     * old break, or NULL with errno (ENOMEM) and the break unchanged. The
     * bytes between the old and new break are readable and writable; bytes
     * given back by a negative delta are dropped (read zero when regrown). */
    void *(*grow)(nf_pages *ps, intptr_t delta);
    /* Optional (NULL: not offered). Move the mapping [old, old + oldlen)
     * to target, which the caller mapped (newlen bytes, any protection:
     * replaced), growing or shrinking it to newlen: the pages move with
     * their contents, none is copied or faulted again (mremap with
     * MREMAP_FIXED); the bytes past oldlen read zero. Returns target, or
     * NULL with errno and nothing changed. Counted as a map call. */
    void *(*remap)(nf_pages *ps, void *old, size_t oldlen, size_t newlen, void *target);
} nf_pages_ops;

/* The state of one page source. Treat the fields as private to the
 * implementation, except ops and page_size. */
struct nf_pages {
    const nf_pages_ops *ops;
    size_t page_size;
    uint64_t calls[NF_PAGE_CALL_COUNT]; /* by kind; atomics */
    uint64_t bytes[NF_PAGE_CALL_COUNT]; /* bytes named by those calls, cumulative; atomics */
    uint64_t failures;                  /* calls that failed; atomic */
    /* break state (NF_BRK_EMULATED: [brk_base, brk_limit) is reserved,
     * [brk_base, brk_cur) accessible; NF_BRK_REAL: brk_cur unused) */
    nf_brk_mode brk_mode;
    uintptr_t brk_base, brk_cur, brk_open, brk_limit; /* brk_open: end of the opened pages */
    size_t brk_reserve;                               /* bytes to reserve on first grow */
    int brk_lock;                                     /* spin lock over the break; atomic */
    void *impl;                                       /* for other implementations (the model) */
};

/* ---- the real page source ---- */
/* Default reservation for an emulated break: address space only. */
#define NF_PAGES_BRK_RESERVE_DEFAULT ((size_t)64 << 30)

/* Initialise caller-owned storage as a real page source with its own
 * counters. brk_reserve: 0 means NF_PAGES_BRK_RESERVE_DEFAULT. Never
 * allocates; the emulated break is reserved on the first grow. */
void nf_pages_real_init(nf_pages *ps, nf_brk_mode mode, size_t brk_reserve);
/* Release what init and grow reserved (the emulated break's range). */
void nf_pages_real_fini(nf_pages *ps);
/* Process-wide real page sources, initialised on first call without
 * allocating: one with an emulated break (for linked use), one with the
 * real program break (only for a drop-in build that owns brk). */
nf_pages *nf_pages_real(void);
nf_pages *nf_pages_real_sbrk(void);

/* ---- calling a page source ---- */
static inline void *nf_pages_map(nf_pages *ps, size_t len, unsigned hints) { return ps->ops->map(ps, len, hints); }
static inline int nf_pages_unmap(nf_pages *ps, void *addr, size_t len) { return ps->ops->unmap(ps, addr, len); }
static inline int nf_pages_advise(nf_pages *ps, void *addr, size_t len, nf_advice a)
{
    return ps->ops->advise(ps, addr, len, a);
}
static inline int nf_pages_lock(nf_pages *ps, void *addr, size_t len) { return ps->ops->lock(ps, addr, len); }
static inline int nf_pages_unlock(nf_pages *ps, void *addr, size_t len) { return ps->ops->unlock(ps, addr, len); }
static inline int nf_pages_protect(nf_pages *ps, void *addr, size_t len, unsigned prot)
{
    return ps->ops->protect(ps, addr, len, prot);
}
static inline void *nf_pages_grow(nf_pages *ps, intptr_t delta) { return ps->ops->grow(ps, delta); }
static inline int nf_pages_can_remap(const nf_pages *ps) { return ps->ops->remap != NULL; }
static inline void *nf_pages_remap(nf_pages *ps, void *old, size_t oldlen, size_t newlen, void *target)
{
    return ps->ops->remap(ps, old, oldlen, newlen, target);
}
/* len bytes of pages (a multiple of the page size) moved from src to dst,
 * a mapped range of the caller's (a no-access reservation, say): page
 * tables move, nothing is copied. A range put together from several
 * mappings earlier spans several kernel mappings, which one mremap cannot
 * move before Linux 6.17: it is moved in halves until each half is one.
 * Needs nf_pages_can_remap. 0: moved; -1: nothing moved (a half that had
 * moved was moved back); -2: a half moved and could not be put back (its
 * bytes are at dst: the caller aborts). */
int nf_pages_move(nf_pages *ps, void *src, size_t len, void *dst);

/* ---- counters (any implementation) ---- */
/* Count one call of a kind naming len bytes; failed says it failed. */
void nf_pages_count(nf_pages *ps, nf_page_call kind, size_t len, int failed);
/* Copy the call counts (NF_PAGE_CALL_COUNT entries) into out. */
void nf_pages_calls(const nf_pages *ps, uint64_t *out);
/* "map", "unmap", "advise", "lock", "brk", "protect". */
const char *nf_page_call_name(nf_page_call kind);

#ifdef __cplusplus
}
#endif

#endif /* NOTFREE_PAGES_H */
