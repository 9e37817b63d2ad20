/* notfree/modelrun.h: an allocator on the kernel model, driven by a client.
 *
 * Glossary
 *   client    what drives the allocator: a callback that makes malloc,
 *             free, realloc, calloc, memalign and trim calls through an
 *             nf_mem_api and touches the blocks it gets, as a program
 *             would (a workload, nf_modelrun_workload_client; a trace
 *             replay later: any function of this shape plugs in).
 *   run       one client on one heap of one allocator, the heap sitting on
 *             a model process in live mode (kernels/live.c) with the TLB
 *             of one preset: every load and store the client and the
 *             allocator make to the heap's memory is seen by the model
 *             when it must be (a fault, an L1 TLB miss, a first store).
 *   presets   several presets are several runs, each live and each in a
 *             child process forked from the same parent, so that every
 *             run gets the same reservation address and therefore the same
 *             allocator decisions and the same access stream (the client
 *             is deterministic for a seed and runs on one thread). The
 *             stream is not recorded once and replayed: live mode only sees
 *             the L1 misses of the preset it runs under, so a recording is
 *             already filtered by one L1 (see README, "Allocators on the
 *             model").
 *   native    the same client and allocator on the real page source in a
 *             child, for the fidelity checks: the kernel's minor faults
 *             (getrusage) and peak RSS (VmHWM) of that child.
 *
 * Every figure here is the model's, except nf_modelrun_native's (kernel
 * accounting) and the times (timing).
 */
#ifndef NOTFREE_MODELRUN_H
#define NOTFREE_MODELRUN_H

#include <stddef.h>
#include <stdint.h>

#include "notfree/alloc.h"
#include "notfree/pages.h"
#include "notfree/workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Drives the allocator through mem; returns the operations it made
 * (>= 0), or -1 when it failed (a damaged block, a failed malloc). */
typedef int64_t (*nf_modelrun_client)(void *arg, const nf_mem_api *mem);

/* What one run counted. Units: pages of 4 KiB unless named; "peak" is the
 * most at any time of the run, "final" when the client returned (the heap
 * not yet destroyed). */
typedef struct nf_modelrun_figures {
    char preset[32];
    int64_t ops; /* what the client returned */
    uint64_t minor_faults, major_faults, cow_faults, zero_page_maps;
    uint64_t demand_zero; /* minor faults that took a fresh zeroed frame */
    uint64_t swap_ins;
    uint64_t pt_pages_peak, pt_pages_final; /* page-table pages, root included */
    uint64_t vmas_peak, vmas_final;
    uint64_t rss_peak, rss_final; /* frames mapped, zero page excluded */
    uint64_t vsz_peak, vsz_final;
    uint64_t page_calls[NF_PAGE_CALL_COUNT]; /* the allocator's calls into the page source */
    uint64_t page_bytes[NF_PAGE_CALL_COUNT]; /* bytes those calls named */
    /* TLB, as live mode sees it: every trap is one lookup; L1 hits that
     * need no trap are invisible (not counted). */
    uint64_t tlb_lookups, l1_misses, l2_hits, l2_misses, walks, walk_refs;
    uint64_t traps; /* SIGSEGVs the model served */
    double wall_s;  /* the client's run, timing */
} nf_modelrun_figures;

typedef struct nf_modelrun_config {
    const nf_allocator *alloc; /* any but "system" (it takes no page source) */
    size_t frames;             /* model frames; 0: 1 Mi (4 GiB, sparse) */
} nf_modelrun_config;

/* Why a config cannot run, or NULL: "system" cannot take a page source. */
const char *nf_modelrun_refuse(const nf_allocator *a);

/* One run in this process with preset `preset`; 0 and *out, or -1 with a
 * reason in err. Live mode is process-wide: no other model may be live. */
int nf_modelrun_one(const nf_modelrun_config *cfg, const char *preset, nf_modelrun_client client, void *arg,
                    nf_modelrun_figures *out, char *err, size_t errcap);

/* Each preset in its own child forked from this process (equal streams,
 * see the glossary); out has npresets entries. 0, or -1 with the first
 * failure's reason in err (the runs before it are in out). */
int nf_modelrun_presets(const nf_modelrun_config *cfg, const char *const *presets, size_t npresets,
                        nf_modelrun_client client, void *arg, nf_modelrun_figures *out, char *err, size_t errcap);

/* The same client natively: a heap of cfg->alloc on its own real page
 * source, in a child forked from this process. */
typedef struct nf_modelrun_native {
    int64_t ops;
    uint64_t minflt;  /* getrusage of the child, heap creation to the client's end */
    uint64_t hwm_kib; /* VmHWM growth over the same span (peak RSS); 0 if unreadable */
    uint64_t page_calls[NF_PAGE_CALL_COUNT];
} nf_modelrun_native;
int nf_modelrun_native_run(const nf_modelrun_config *cfg, nf_modelrun_client client, void *arg, nf_modelrun_native *out,
                           char *err, size_t errcap);

/* ---- the workload client ---- */
typedef struct nf_modelrun_workload {
    const nf_workload *w;
    nf_workload_params params; /* threads must be 1 on the model */
    uint64_t ops;              /* per thread */
    uint64_t round_ops;        /* ops between progress calls; 0: ops / 20 */
    /* Called after each round (may be NULL). */
    void (*progress)(void *parg, uint64_t done, uint64_t total);
    void *parg;
} nf_modelrun_workload;
/* arg: an nf_modelrun_workload. */
int64_t nf_modelrun_workload_client(void *arg, const nf_mem_api *mem);

#ifdef __cplusplus
}
#endif
#endif /* NOTFREE_MODELRUN_H */
