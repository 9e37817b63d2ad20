/* notfree/model.h: the userspace model of the kernel's memory manager.
 *
 * Glossary
 *   model      one machine (nf_model): a pool of physical frames, a swap
 *              file, the model processes, overcommit settings, one CPU's
 *              TLB (borrowed from notfree/tlb.h) and the counters.
 *   frame      4 KiB of physical memory: one page of a memfd mapped once.
 *              Frame 0 is the zero page. Page-table pages are frames of
 *              the same pool, so they compete with data (and count). A
 *              frame never taken is a hole of the memfd: no real memory.
 *   huge zero  a 2 MiB leaf whose 512 entries map the zero page, read-only:
 *              what a load maps in an empty THP region (RSS unchanged).
 *   proc       a model process (nf_model_proc): an address space (VMAs and
 *              a 4-level page table whose root is a frame) and its counts.
 *   vaddr      a model address (uint64_t). Every process's addresses lie in
 *              [va_base, va_base + va_size); in live mode that range is a
 *              real reservation and the current process's pages are
 *              really mapped at their model addresses.
 *   VMA        a range of a proc's address space with one protection and
 *              flags (anonymous always; stack, locked, huge, noreserve).
 *   PTE        a 64-bit x86-64 page-table entry (present, write, user,
 *              accessed, dirty, huge) plus software bits: COW, swap entry.
 *   fault      what a real kernel counts: minor (served without I/O:
 *              demand-zero, zero-page map, COW copy, write-protect reuse),
 *              major (read back from swap). cow_faults and zero_page_maps
 *              are subsets of minor_faults, as in getrusage's minflt.
 *   SEGV       an access the real kernel would answer with SIGSEGV
 *              (unmapped, protection, stack guard): reported, not raised.
 *   reclaim    a clock over the frames of anonymous pages (accessed bits
 *              give second chances); victims go to the swap file (pwrite)
 *              or, if MADV_FREE'd and still clean, are dropped.
 *   OOM        when nothing can be reclaimed, the model kills the model
 *              process with the highest score =
 *              rss + swap entries + page-table pages
 *              + oom_adj * (frames + swap slots) / 1000  (pages).
 *   live       a mode where real loads and stores to a model address trap
 *              (SIGSEGV) into the model, which serves the fault and maps
 *              the frame there; see nf_model_live_*.
 *
 * Threads: a model is single-threaded; callers serialise. Live mode
 * serves faults on the thread that takes them.
 */
#ifndef NOTFREE_MODEL_H
#define NOTFREE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nf_model nf_model;
typedef struct nf_model_proc nf_model_proc;
struct nf_tlb; /* notfree/tlb.h */

#define NF_MODEL_PAGE 4096u
#define NF_MODEL_HUGE_PAGE (2u << 20)

typedef struct nf_model_config {
    size_t frames;             /* physical frames, zero page and page tables included (>= 16) */
    size_t swap_pages;         /* swap slots; 0: no swap */
    int overcommit;            /* vm.overcommit_memory: 0 heuristic, 1 always, 2 strict */
    unsigned overcommit_ratio; /* percent of RAM in the mode-2 limit; 0 means 50 */
    uint64_t va_size;          /* bytes of model address space; 0 means 256 GiB */
    uint64_t va_base;          /* explicit mode only; 0 means 0x100000000000 */
    int live;                  /* reserve the range for real: live mode possible */
    struct nf_tlb *tlb;        /* borrowed; NULL: no TLB, every access walks. Its
                              * geometry's asid flag says whether a switch flushes
                              * (procs are tagged by id). */
    const char *swap_dir;      /* where the swap file goes; NULL: $TMPDIR or /tmp */
} nf_model_config;

/* A model, or NULL with errno. Creates the pool (a memfd of frames *
 * 4 KiB) and the swap file now, both sparse: real memory and disk are
 * used as frames and slots are first taken and their bytes written. */
nf_model *nf_model_create(const nf_model_config *cfg);
void nf_model_destroy(nf_model *m);

/* An upper bound, in bytes, on the real memory a model holds when its
 * processes take at most `frames` distinct frames (data and page tables),
 * the bytes of at most `written` of them become real (page tables, COW
 * copies, swap-ins, stores through nf_model_write or live mode, and frames
 * that reclaim wrote out), and at most `slots` swap slots are used (their
 * bytes counted too: the swap file may be on tmpfs). A frame whose bytes
 * were never written costs its descriptor only. */
uint64_t nf_model_footprint(uint64_t frames, uint64_t written, uint64_t slots);
#define NF_MODEL_MAX_FRAMES 0xfffffffeull /* frames and swap slots are 32-bit numbers */

/* ---- processes ---- */
nf_model_proc *nf_model_proc_create(nf_model *m, const char *name);
/* A child sharing every private page copy-on-write (mlock not inherited),
 * or NULL with errno (ENOMEM: commit limit or no frame for its tables). */
nf_model_proc *nf_model_fork(nf_model_proc *parent);
/* Tear down the address space; the proc object stays valid until
 * nf_model_destroy (counters can still be read). */
void nf_model_proc_exit(nf_model_proc *p);
int nf_model_proc_alive(const nf_model_proc *p);           /* 0 after exit or OOM kill */
void nf_model_proc_set_oom_adj(nf_model_proc *p, int adj); /* -1000 (never) .. 1000 */
/* Make p the running process (the model's CR3 load): nf_tlb_switch
 * (flushes unless ASIDs); in live mode remaps the reservation. Accesses switch
 * implicitly. */
void nf_model_switch(nf_model_proc *p);
nf_model_proc *nf_model_current(const nf_model *m);
nf_model *nf_model_of(const nf_model_proc *p);
uint64_t nf_model_va_base(const nf_model *m);
uint64_t nf_model_va_size(const nf_model *m);

/* ---- address space (the system calls, in model terms) ---- */
enum { NF_MODEL_PROT_NONE = 0, NF_MODEL_PROT_READ = 1, NF_MODEL_PROT_WRITE = 2 };
enum {
    NF_MODEL_MAP_FIXED = 1u << 0,     /* at addr exactly, replacing what is there */
    NF_MODEL_MAP_STACK = 1u << 1,     /* grows down to 8 MiB, guard gap below */
    NF_MODEL_MAP_LOCKED = 1u << 2,    /* mlock'd (populated now) */
    NF_MODEL_MAP_POPULATE = 1u << 3,  /* fault every page in now (for write if writable) */
    NF_MODEL_MAP_NORESERVE = 1u << 4, /* not charged to the commit (modes 0, 1) */
    NF_MODEL_MAP_HUGE = 1u << 5,      /* THP: 2 MiB pages where aligned */
};
enum {
    NF_MODEL_MADV_DONTNEED,
    NF_MODEL_MADV_FREE,
    NF_MODEL_MADV_HUGEPAGE,
    NF_MODEL_MADV_NOHUGEPAGE,
    NF_MODEL_MADV_POPULATE_WRITE,
};
#define NF_MODEL_FAILED ((uint64_t)-1)
#define NF_MODEL_STACK_LIMIT ((uint64_t)8 << 20)  /* RLIMIT_STACK */
#define NF_MODEL_GUARD_GAP ((uint64_t)256 * 4096) /* stack_guard_gap */

/* The start of the new mapping, or NF_MODEL_FAILED with errno (ENOMEM,
 * EINVAL). addr is a hint unless MAP_FIXED. len rounds up to pages. */
uint64_t nf_model_mmap(nf_model_proc *p, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
int nf_model_munmap(nf_model_proc *p, uint64_t addr, uint64_t len);
int nf_model_mprotect(nf_model_proc *p, uint64_t addr, uint64_t len, unsigned prot);
/* brk(2): moves the break to newbrk when it can and returns the break
 * (the old one on failure); newbrk 0 queries. */
uint64_t nf_model_brk(nf_model_proc *p, uint64_t newbrk);
int nf_model_madvise(nf_model_proc *p, uint64_t addr, uint64_t len, int advice);
int nf_model_mlock(nf_model_proc *p, uint64_t addr, uint64_t len);
int nf_model_munlock(nf_model_proc *p, uint64_t addr, uint64_t len);

/* ---- accesses ---- */
typedef enum nf_model_result {
    NF_MODEL_OK = 0,
    NF_MODEL_SEGV_MAPERR, /* no VMA there */
    NF_MODEL_SEGV_ACCERR, /* the VMA forbids it */
    NF_MODEL_SEGV_GUARD,  /* in a stack's guard gap, or past its limit */
    NF_MODEL_KILLED,      /* the proc is dead (OOM-killed or exited) */
} nf_model_result;
const char *nf_model_result_name(nf_model_result r);

/* One load (is_write 0) or store of a byte at vaddr, as the MMU and the
 * fault handler see it: TLB lookup, walk, fault. */
nf_model_result nf_model_access(nf_model_proc *p, uint64_t vaddr, int is_write);
/* Copy bytes through the model (each page accessed once, then the real
 * frame read or written). Return what the first failing access gave. */
nf_model_result nf_model_write(nf_model_proc *p, uint64_t vaddr, const void *src, size_t n);
nf_model_result nf_model_read(nf_model_proc *p, uint64_t vaddr, void *dst, size_t n);

/* Address streams: one uint64_t per access, the address with bit 63 set
 * for a store. Stops at the first access that is not OK; returns the
 * number of accesses done. */
#define NF_MODEL_REF_WRITE ((uint64_t)1 << 63)
size_t nf_model_replay(nf_model_proc *p, const uint64_t *refs, size_t n, nf_model_result *last);
/* Trace files: one access per line, "R <hex addr>" or "W <hex addr>"
 * (0x optional), blank lines and lines starting with '#' ignored. Returns
 * the accesses done, or -1 with errno (EINVAL: bad line, *bad_line set). */
long nf_model_replay_file(nf_model_proc *p, const char *path, long *bad_line, nf_model_result *last);

/* ---- counters (computed by the model, never read from the kernel) ---- */
typedef struct nf_model_counters {
    uint64_t accesses;
    uint64_t minor_faults, major_faults, cow_faults, zero_page_maps;
    uint64_t segv;                            /* SIGSEGV-like events */
    uint64_t walks, walk_refs;                /* page walks, and the table entries they read */
    uint64_t swap_outs, swap_ins, lazy_drops; /* lazy_drops: MADV_FREE pages dropped clean */
    uint64_t oom_kills;
    uint64_t frames_total, frames_used; /* zero page and page tables included */
    uint64_t pt_pages;                  /* page-table pages (frames) of live procs */
    uint64_t swap_total, swap_used;
    uint64_t committed, commit_limit; /* pages (commit_limit: mode 2's) */
    uint64_t switches;
    uint64_t live_traps; /* SIGSEGVs served in live mode */
} nf_model_counters;
void nf_model_counters_get(const nf_model *m, nf_model_counters *out);

typedef struct nf_model_proc_counters {
    uint64_t minor_faults, major_faults, cow_faults, zero_page_maps, segv;
    uint64_t rss_pages;    /* frames mapped, zero page excluded (as the kernel's RSS) */
    uint64_t vsz_pages;    /* sum of VMA sizes */
    uint64_t vmas;         /* VMAs of its address space */
    uint64_t swap_pages;   /* swap entries in its page table */
    uint64_t pt_pages;     /* its page-table pages, root included */
    uint64_t locked_pages; /* pages in locked VMAs */
    uint64_t zero_mapped;  /* pages mapping the zero page, 512 per huge zero page (mincore
                            * counts them, RSS does not) */
    nf_model_result last_segv;
    uint64_t last_segv_addr;
} nf_model_proc_counters;
void nf_model_proc_counters_get(const nf_model_proc *p, nf_model_proc_counters *out);
/* mincore(2) in the model: for each page of [addr, addr+len), 1 when the
 * PTE is present (zero page included), else 0. */
int nf_model_mincore(nf_model_proc *p, uint64_t addr, uint64_t len, unsigned char *vec);

/* ---- live mode (config.live) ----
 * Start: installs the SIGSEGV handler and makes p current in the
 * reservation. Between start and stop, real loads and stores to
 * [va_base, va_base + va_size) go through the model (each trap is one
 * access of the model). The accessible real pages play the L1 TLB: with
 * a TLB configured, exactly the pages its L1 holds (`resident` is
 * ignored): an access to one is an L1 hit without a trap, and a trap is
 * an L1 miss (an L2 hit or a walk) or a store the model must see. L1 hits
 * are invisible to live mode (not counted, no LRU refresh), so live TLB
 * counts equal an explicit replay's (one access per page visit) when the
 * replay's L1 hits need no refresh, e.g. passes over a working set larger
 * than L1. Without a TLB, at most `resident` pages stay mapped (FIFO; 0
 * means 4096). A SEGV-like answer in live mode aborts with a message.
 * Under AddressSanitizer set ASAN_OPTIONS=allow_user_segv_handler=1. */
int nf_model_live_start(nf_model *m, nf_model_proc *p, size_t resident);
void nf_model_live_stop(nf_model *m);
/* Real cost figures of live mode. */
uint64_t nf_model_live_mapped(const nf_model *m); /* pages accessible now */

/* ---- the page source over the model (notfree/pages.h) ----
 * map/unmap/advise/lock/protect/grow become nf_model_* calls of proc p;
 * needs live mode started on p so that allocators can touch the memory.
 * ps is caller storage. */
struct nf_pages;
void nf_model_pages_init(struct nf_pages *ps, nf_model_proc *p);

#ifdef __cplusplus
}
#endif
#endif /* NOTFREE_MODEL_H */
