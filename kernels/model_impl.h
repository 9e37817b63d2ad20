/* model_impl.h: the kernel model's internals, shared by the kernels/ sources.
 * Words are those of notfree/model.h's glossary; in addition:
 *   pfn     frame number in the pool (pool + pfn * 4096 is its memory)
 *   slot    swap slot number (its bytes are at slot * 4096 in the file)
 *   node    one page-table page: 512 PTEs in a frame of the pool
 *   rmap    the owner proc and vaddr of an anonymous frame; a frame shared
 *           after fork is at the same vaddr in every proc mapping it
 */
#ifndef NF_MODEL_IMPL_H
#define NF_MODEL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notfree/model.h"
#include "notfree/tlb.h"

/* ---- PTE bits (x86-64, plus software bits 9-11 and 58-62) ---- */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)    /* huge leaf in a PD entry */
#define PTE_COW (1ull << 9)   /* write-protected because shared after fork */
#define PTE_SWAP (1ull << 61) /* not present: a swap entry, slot in the pfn field */
#define PTE_ADDR 0x000ffffffffff000ull
#define PTE_PFN(e) (((e)&PTE_ADDR) >> 12)
#define PTE_MK(pfn, bits) (((uint64_t)(pfn) << 12) | (bits))
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US | PTE_A) /* upper-level entries */

#define NIL 0xffffffffu
#define ZERO_PFN 0u

/* ---- reserved arrays (reserve.c) ---- */
/* n elements of size bytes, zero-filled, resident only where written;
 * NULL with errno. */
void *nf_reserve(size_t n, size_t size);
void nf_unreserve(void *p, size_t n, size_t size);

/* ---- frames ---- */
enum { FR_FREE = 0, FR_ANON, FR_PT, FR_ZERO };
enum {
    FRF_LRU = 1u << 0,   /* on the reclaim clock */
    FRF_MLOCK = 1u << 1, /* mapped in a locked VMA: unevictable */
    FRF_LAZY = 1u << 2,  /* MADV_FREE'd: dropped if still clean when reclaimed */
    FRF_PIN = 1u << 3,   /* being copied by a fault: not a reclaim victim */
};
/* One per pfn. Invariants: kind FR_FREE <=> ref == 0 and the pfn is in
 * the free stack or at or above the watermark m->fresh (never taken: its
 * descriptor all zero, its memfd page a hole that reads as zeros); FR_ANON frames with ref > 0 are on the clock (FRF_LRU)
 * unless FRF_MLOCK; ref counts the PTEs mapping it (every proc maps a
 * shared frame at the same vaddr, va). FR_PT frames: used = non-empty
 * entries of the node. */
typedef struct nf_frame {
    uint32_t ref;
    uint8_t kind, flags;
    uint16_t used;
    uint32_t prev, next; /* clock links (pfns), NIL-terminated */
    uint32_t owner;      /* proc id of the first mapper */
    uint64_t va;         /* page vaddr of an anonymous frame */
} nf_frame;

/* ---- VMAs ---- */
enum {
    VM_READ = 1u << 0,
    VM_WRITE = 1u << 1,
    VM_GROWSDOWN = 1u << 4,
    VM_LOCKED = 1u << 5,
    VM_HUGE = 1u << 6,
    VM_ACCOUNT = 1u << 7, /* charged to the commit */
};
/* Invariant: start < end, both page-aligned; a proc's VMAs are sorted and
 * disjoint. */
typedef struct nf_vma {
    uint64_t start, end;
    unsigned flags;
} nf_vma;

/* ---- processes ---- */
struct nf_model_proc {
    nf_model *m;
    uint32_t id; /* index in m->procs; asid = id + 1 */
    bool alive;
    int oom_adj;
    char name[32];
    uint32_t root; /* pfn of the PML4, NIL when dead */
    nf_vma *vma;   /* sorted */
    size_t nvma, vcap;
    size_t vhint; /* last VMA found */
    /* The PD node of the last 1 GiB region walked (pd_key = va >> 30,
     * UINT64_MAX: none). Valid while no upper table of p is freed:
     * nf_pt_range and nf_pt_free_all reset it. */
    uint64_t pd_key;
    uint64_t *pd;
    uint64_t brk_start, brk;
    uint64_t mmap_base; /* top-down placement starts below this */
    /* pages: */
    uint64_t rss, swap, pt, zero_mapped, committed;
    nf_model_proc_counters c; /* fault counters (gauges filled on read) */
};

/* ---- the live mode state ---- */
/* The accessible pages of the current proc: a set in insertion order
 * (doubly linked through node indices) and a hash from vaddr to node.
 * Invariant: a page is really mapped in the reservation iff it is in the
 * set. With a TLB (tlb_driven) the set follows the TLB's L1: a page
 * enters when a trap leaves it in L1 and leaves when L1 drops its entry
 * (the TLB's evict hook), so an access to an accessible page is an L1
 * hit that needs no trap, and an access that traps is exactly an L1 miss
 * (served as an L2 hit or a walk) or an L1 hit that needs the model (a
 * first store to a clean page). The FIFO order only bounds the set: without
 * a TLB (cap pages, oldest out first), or as a guard if L1 could not hold a
 * page's entry. See live.c. */
typedef struct nf_live_node {
    uint64_t va;
    uint32_t prev, next;
} nf_live_node;
typedef struct nf_live {
    bool on;
    bool tlb_driven;
    nf_live_node *node; /* cap nodes */
    uint32_t *hash;     /* hcap slots of node index, NIL empty */
    uint32_t cap, hcap, n, head, tail, freel;
    uint64_t traps;
} nf_live;

struct nf_model {
    nf_model_config cfg;
    int memfd;
    uint8_t *pool; /* frames * 4096 bytes, MAP_SHARED of memfd */
    nf_frame *fr;  /* nframes descriptors (reserved: see reserve.c) */
    uint32_t nframes;
    uint32_t fresh;      /* pfns >= fresh were never taken (holes, zero) */
    uint32_t *freestack; /* freed pfns below fresh (reserved, nframes) */
    size_t nfree_stack;
    uint64_t frames_used;
    uint32_t lru_head, lru_tail; /* the clock: scan from head, second chance to tail */
    uint64_t lru_len;
    /* swap */
    int swapfd;
    uint32_t nslots;
    uint32_t slot_next;  /* slots >= slot_next were never used (free) */
    uint16_t *slot_ref;  /* nslots counts (reserved) */
    uint32_t *slot_free; /* freed slots below slot_next (reserved) */
    size_t nslot_free;
    /* procs */
    nf_model_proc **procs;
    size_t nprocs, pcap;
    nf_model_proc *cur;
    /* address space */
    uint64_t va_base, va_size;
    uint8_t *reserve; /* live: the real reservation */
    uint64_t committed, commit_limit;
    nf_live live;
    nf_model_counters c; /* model-wide counts (gauges filled on read) */
};

/* frames.c */
int nf_frames_init(nf_model *m);
void nf_frames_fini(nf_model *m);
/* A frame of kind for proc p (reclaiming, then OOM-killing if needed);
 * NIL if none (p may then be dead). Not zeroed. */
uint32_t nf_frame_alloc(nf_model *m, nf_model_proc *p, int kind);
/* The same, zeroed: a never-taken frame is zero already and is left
 * untouched (no real memory until its bytes are written), a reused one
 * is cleared. */
uint32_t nf_frame_alloc_zeroed(nf_model *m, nf_model_proc *p, int kind);
void nf_frame_free(nf_model *m, uint32_t pfn);
static inline void *nf_frame_mem(const nf_model *m, uint32_t pfn) { return m->pool + (size_t)pfn * NF_MODEL_PAGE; }
/* Drop one mapping of an anonymous frame (frees it at ref 0). */
void nf_frame_put(nf_model *m, uint32_t pfn);

/* pagetable.c */
/* The leaf PTE for va, or NULL when a table on the way is missing. *huge
 * is set when the leaf is a 2 MiB PD entry. */
uint64_t *nf_pt_lookup(const nf_model *m, const nf_model_proc *p, uint64_t va, bool *huge);
/* The PD node for va (walking PML4 and PDP, then caching it in p), or
 * NULL when a table on the way is missing. */
uint64_t *nf_pt_pd_slow(const nf_model *m, nf_model_proc *p, uint64_t va);
static inline uint64_t *nf_pt_pd(const nf_model *m, nf_model_proc *p, uint64_t va)
{
    if (__builtin_expect(p->pd_key == va >> 30, 1))
        return p->pd;
    return nf_pt_pd_slow(m, p, va);
}
/* nf_pt_lookup through the cached PD node: the access path's walk. */
static inline uint64_t *nf_pt_leaf(const nf_model *m, nf_model_proc *p, uint64_t va, bool *huge)
{
    *huge = false;
    uint64_t *pd = nf_pt_pd(m, p, va);
    if (!pd)
        return NULL;
    uint64_t *e = &pd[(va >> 21) & 511];
    if (!(*e & PTE_P))
        return NULL;
    if (*e & PTE_PS) {
        *huge = true;
        return e;
    }
    return (uint64_t *)(m->pool + (size_t)PTE_PFN(*e) * NF_MODEL_PAGE) + ((va >> 12) & 511);
}
/* Prefetches the leaf PTE of va when its page table exists and the PD entry
 * is not a huge leaf: the next access's walk then finds it in the cache. */
static inline void nf_pt_prefetch_leaf(const nf_model *m, nf_model_proc *p, uint64_t va)
{
    uint64_t *pd = nf_pt_pd(m, p, va);
    if (!pd)
        return;
    uint64_t e = pd[(va >> 21) & 511];
    if ((e & (PTE_P | PTE_PS)) == PTE_P)
        __builtin_prefetch((uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(e)) + ((va >> 12) & 511));
}
/* The PT-level PTE for va, creating tables (frames from the pool); NULL
 * when no frame could be had (p may be dead). */
uint64_t *nf_pt_ensure(nf_model *m, nf_model_proc *p, uint64_t va);
/* Visit the leaf PTEs of [start, end) that are not empty; fn may change
 * the entry. Flags: NF_PTR_SPLIT splits 2 MiB leaves first (else fn sees
 * them: a PD entry with PTE_PS), NF_PTR_FREE_EMPTY frees the tables left
 * empty. */
enum { NF_PTR_SPLIT = 1u << 0, NF_PTR_FREE_EMPTY = 1u << 1 };
typedef void (*nf_pt_fn)(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte, void *u);
void nf_pt_range(nf_model *m, nf_model_proc *p, uint64_t start, uint64_t end, nf_pt_fn fn, void *u, unsigned flags);
/* Turn a 2 MiB leaf into its table of 512 leaves (same frames and bits). */
void nf_huge_split(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pde);
/* Empty a leaf entry (the node's used count follows). */
void nf_pt_note_set(nf_model *m, uint64_t *pte, uint64_t old, uint64_t new_);
/* Free every table of p (leaves must be empty already). */
void nf_pt_free_all(nf_model *m, nf_model_proc *p);
/* Drop what a leaf maps (frame ref, swap slot, counters) and empty it. */
void nf_pte_zap(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte);
/* A leaf changed: drop the TLB entry and the live mapping. */
void nf_pte_flush(nf_model *m, nf_model_proc *p, uint64_t va);

/* vma.c */
nf_vma *nf_vma_find(nf_model_proc *p, uint64_t va); /* containing va, or NULL */
void nf_vma_drop_all(nf_model *m, nf_model_proc *p);
uint64_t nf_commit_limit(const nf_model *m);
int nf_commit_charge(nf_model *m, nf_model_proc *p, uint64_t pages);
void nf_commit_uncharge(nf_model *m, nf_model_proc *p, uint64_t pages);

/* fault.c */
/* The page fault handler: serve a fault of p at va. */
nf_model_result nf_fault(nf_model *m, nf_model_proc *p, uint64_t va, bool write);
/* The slow path of an access (TLB miss or write check). */
nf_model_result nf_access_slow(nf_model *m, nf_model_proc *p, uint64_t va, bool write, int tlb_hit);
/* A hint before an access of va: start loading what its TLB lookup and
 * walk will read (the TLB sets, the PTE). Changes no state. */
void nf_access_prefetch(nf_model *m, nf_model_proc *p, uint64_t va);
static inline uint16_t nf_asid(const nf_model_proc *p) { return (uint16_t)(p->id + 1); }

/* reclaim.c (swap slots too) */
bool nf_reclaim_one(nf_model *m);
void nf_lru_add(nf_model *m, uint32_t pfn);
void nf_lru_del(nf_model *m, uint32_t pfn);
int nf_swap_init(nf_model *m);
void nf_swap_fini(nf_model *m);
void nf_swap_put(nf_model *m, uint32_t slot);
/* Read slot into frame pfn; -1 on I/O error. */
int nf_swap_read(nf_model *m, uint32_t slot, uint32_t pfn);

/* model.c */
/* Drop p's VMAs and page tables (their frames and swap slots) and mark
 * it dead: the one end of a proc, for exit and for the OOM killer. */
void nf_proc_teardown(nf_model *m, nf_model_proc *p);

/* oom.c */
/* Kill the best victim; false when no proc can be killed. */
bool nf_oom_kill(nf_model *m);

/* live.c */
void nf_live_unmap(nf_model *m, uint64_t va); /* if accessible */
void nf_live_unmap_all(nf_model *m);
void nf_live_install(nf_model *m, nf_model_proc *p, uint64_t va);

#endif
