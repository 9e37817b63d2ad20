/* notfree/tlb.h: the model's TLB hierarchy and page-walk caches.
 *
 * Glossary
 *   level   L1 dTLB (level 0 here) or L2/STLB (level 1). A miss in the last
 *           level is a page walk.
 *   array   one set-associative store inside a level. A level has one array
 *           per group of page sizes it keeps apart (Skylake L1: a 4K array,
 *           a 2M array, a 1G array; Zen 4 L1: one array for all sizes).
 *   vpn     virtual page number in units of the page size asked about:
 *           vaddr >> 12 for 4K, >> 21 for 2M, >> 30 for 1G.
 *   asid    address-space id (PCID on Intel, ASID on AMD). With ASIDs off
 *           the tag ignores it and nf_tlb_switch() flushes everything.
 *   PWC     page-walk caches: upper-level entries (PML4E, PDPTE, PDE) kept
 *           so a walk can skip reading those levels from memory.
 *
 * Inclusion (a modelling choice, not a vendor fact): a walk fills every
 * level that holds the page size; an L2 hit fills L1. L1 victims are
 * dropped, not moved to L2.
 *
 * Counting: every lookup counts a hit or a miss at L1; an L1 miss counts a
 * hit or a miss at L2 (a level without an array for that page size counts
 * a miss). A walk counts walks, walk_refs (memory references it made, 4
 * for a 4K leaf, 3 for 2M, 2 for 1G, minus the levels a PWC hit skipped)
 * and pwc_hits (walks that skipped at least one level).
 *
 * Typical use by the model core, per access:
 *     int lvl = nf_tlb_lookup(t, asid, va >> 12, NF_PG_4K);
 *     if (lvl == NF_TLB_MISS) {
 *         nf_tlb_walk(t, asid, va, NF_PG_4K);   // PWC, walk counters
 *         ... the page table walk, faults ...
 *         nf_tlb_insert(t, asid, va >> 12, NF_PG_4K);
 *     }
 * or nf_tlb_access(), which does all three for a mapped page.
 *
 * Not thread-safe: one nf_tlb per model CPU, used by one thread at a time.
 */
#ifndef NOTFREE_TLB_H
#define NOTFREE_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Page sizes, and their bits for nf_tlb_array_geom.sizes. */
typedef enum nf_page_size { NF_PG_4K = 0, NF_PG_2M = 1, NF_PG_1G = 2, NF_PG_NSIZES = 3 } nf_page_size;
#define NF_PGBIT(sz) (1u << (sz))
#define NF_PGBIT_ALL (NF_PGBIT(NF_PG_4K) | NF_PGBIT(NF_PG_2M) | NF_PGBIT(NF_PG_1G))
/* log2 of the page size in bytes: 12, 21, 30. */
static inline unsigned nf_page_shift(nf_page_size sz) { return 12u + 9u * (unsigned)sz; }

typedef enum nf_tlb_repl { NF_REPL_LRU = 0, NF_REPL_PLRU = 1 } nf_tlb_repl;

#define NF_TLB_MAX_LEVELS 2
#define NF_TLB_MAX_ARRAYS 4 /* per level */

/* One array. Invariants (checked by nf_tlb_geom_check):
 * entries > 0; ways == 0 (fully associative) or entries % ways == 0 with
 * entries / ways a power of two; sizes a non-empty subset of NF_PGBIT_ALL,
 * disjoint from the other arrays of its level. */
typedef struct nf_tlb_array_geom {
    uint32_t entries;
    uint32_t ways;  /* 0 = fully associative */
    uint32_t sizes; /* NF_PGBIT() mask of the page sizes it holds */
    nf_tlb_repl repl;
} nf_tlb_array_geom;

typedef struct nf_tlb_level_geom {
    int narrays; /* 1..NF_TLB_MAX_ARRAYS */
    nf_tlb_array_geom array[NF_TLB_MAX_ARRAYS];
} nf_tlb_level_geom;

/* Page-walk caches, indexed by the level of the entry they keep. */
enum { NF_PWC_PML4E = 0, NF_PWC_PDPTE = 1, NF_PWC_PDE = 2, NF_PWC_N = 3 };

typedef struct nf_tlb_geom {
    char name[24]; /* "zen4", "host", ... */
    char cpu[64];  /* the CPU it describes */
    int nlevels;   /* 1 or 2 */
    nf_tlb_level_geom level[NF_TLB_MAX_LEVELS];
    uint32_t pwc_entries[NF_PWC_N]; /* fully associative LRU; 0 = none */
    bool asid;                      /* PCID/ASID tagging on */
    char source[384];               /* where the figures come from */
} nf_tlb_geom;

typedef struct nf_tlb_stats {
    uint64_t lookups;
    uint64_t hits[NF_TLB_MAX_LEVELS];   /* hits[0] = l1_hits, hits[1] = l2_hits */
    uint64_t misses[NF_TLB_MAX_LEVELS]; /* misses[0] = l1_misses, ... */
    uint64_t walks;                     /* nf_tlb_walk calls */
    uint64_t walk_refs;                 /* memory references of those walks */
    uint64_t pwc_hits;                  /* walks that skipped >= 1 level */
    uint64_t pwc_level_hits[NF_PWC_N];  /* deepest PWC hit, by level */
    uint64_t inserts;
    uint64_t invalidations; /* entries removed by invalidate_* */
    uint64_t flushes;       /* flush_all + flushing switches */
} nf_tlb_stats;

typedef struct nf_tlb nf_tlb;

/* Lookup results. */
enum { NF_TLB_L1 = 0, NF_TLB_L2 = 1, NF_TLB_MISS = -1 };

/* --- geometry --- */

/* 0 if g is a geometry nf_tlb_create accepts; else -1 and a message in err. */
int nf_tlb_geom_check(const nf_tlb_geom *g, char *err, size_t errcap);
/* Entries of `level` that can hold `sz` pages (0 if none). */
uint32_t nf_tlb_geom_entries(const nf_tlb_geom *g, int level, nf_page_size sz);
/* Bytes mapped by a full `level` of `sz` pages: its reach. */
uint64_t nf_tlb_geom_reach(const nf_tlb_geom *g, int level, nf_page_size sz);
/* One line per array and the PWCs, indented by `indent` spaces. */
void nf_tlb_geom_print(const nf_tlb_geom *g, FILE *f, int indent);

/* --- presets (kernels/presets.c) --- */

/* Fills *out for "skylake", "goldencove", "zen3", "zen4" or "host" (read
 * from CPUID via cpuinfo.h). Returns 0, or -1 with a message in err
 * (unknown name; host's TLBs not readable). */
int nf_tlb_preset(const char *name, nf_tlb_geom *out, char *err, size_t errcap);
/* The names, NULL-terminated, "host" last. */
const char *const *nf_tlb_preset_names(void);

/* --- a TLB hierarchy --- */

/* NULL with a message in err when the geometry is impossible or memory is
 * short. The TLB starts empty. */
nf_tlb *nf_tlb_create(const nf_tlb_geom *g, char *err, size_t errcap);
void nf_tlb_destroy(nf_tlb *t);
const nf_tlb_geom *nf_tlb_geometry(const nf_tlb *t);

/* Looks vpn (of size sz) up level by level; a hit updates the replacement
 * state of the level that hit (and fills L1 on an L2 hit). Returns
 * NF_TLB_L1, NF_TLB_L2 or NF_TLB_MISS. */
int nf_tlb_lookup(nf_tlb *t, uint16_t asid, uint64_t vpn, nf_page_size sz);
/* As the hardware does: probe every page size the TLB holds for vaddr.
 * On a hit *sz_out (if non-NULL) gets the size found. Counts one lookup. */
int nf_tlb_lookup_va(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size *sz_out);
/* After a walk that found a present leaf: install it in every level that
 * holds sz (evicting per the replacement policy). */
void nf_tlb_insert(nf_tlb *t, uint16_t asid, uint64_t vpn, nf_page_size sz);
/* Count one page walk for vaddr ending at a leaf of size sz: consult the
 * PWCs, fill them, and return the memory references the walk makes. */
unsigned nf_tlb_walk(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz);
/* nf_tlb_walk, then nf_tlb_insert of the leaf (vpn = vaddr >> the size's
 * shift): the MMU after a walk that found a usable leaf. Returns the walk's
 * memory references. */
unsigned nf_tlb_walk_fill(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz);
/* lookup; on a miss walk + insert. Returns what lookup returned. */
int nf_tlb_access(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz);

/* A hint: start loading the lines a lookup of vaddr (4K) will read. Changes
 * no state and counts nothing. */
void nf_tlb_prefetch(const nf_tlb *t, uint16_t asid, uint64_t vaddr);

/* INVLPG: drop every entry (any size) translating vaddr for asid, and the
 * PWC entries on its path. */
void nf_tlb_invalidate_page(nf_tlb *t, uint16_t asid, uint64_t vaddr);
/* Every page of [vaddr, vaddr+len); switches to a scan for large ranges. */
void nf_tlb_invalidate_range(nf_tlb *t, uint16_t asid, uint64_t vaddr, uint64_t len);
/* Drop everything tagged asid (INVPCID single-context). Without ASIDs,
 * drops everything. */
void nf_tlb_invalidate_asid(nf_tlb *t, uint16_t asid);
/* Drop everything, PWCs included. */
void nf_tlb_flush_all(nf_tlb *t);
/* Address-space switch (the model's CR3 load): flushes unless the geometry
 * has ASIDs. */
void nf_tlb_switch(nf_tlb *t, uint16_t new_asid);

/* Reports: fn is called for every entry that leaves a TLB level
 * (replacement, invalidation, flush; PWC entries are not reported), with
 * the level (0 = L1), the entry's tag asid (0 when the geometry has no
 * ASIDs), its vpn and page size. fn must not call back into t. One hook
 * per TLB; NULL removes it. Live mode uses it to re-protect the pages that
 * leave L1. */
typedef void (*nf_tlb_evict_fn)(void *arg, int level, uint16_t asid, uint64_t vpn, nf_page_size sz);
void nf_tlb_set_evict_hook(nf_tlb *t, nf_tlb_evict_fn fn, void *arg);

/* Counters. */
const nf_tlb_stats *nf_tlb_get_stats(const nf_tlb *t);
void nf_tlb_reset_stats(nf_tlb *t);
/* Valid entries now held at `level` (for tests). */
uint32_t nf_tlb_occupancy(const nf_tlb *t, int level);

#ifdef __cplusplus
}
#endif
#endif
