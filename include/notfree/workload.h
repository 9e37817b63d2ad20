/* notfree/workload.h: the allocation workloads (workloads/) that the
 * benches, `notfree compare`'s worker and the tests share.
 *
 * Glossary
 *   mem api   malloc, free and trim with a context (nf_mem_api): the
 *             process's own malloc (nf_mem_libc) or a heap of an
 *             nf_allocator (nf_mem_heap). trim asks the allocator to give
 *             memory back: the heap's trim, or for the process's malloc
 *             the system adapter's (allocators/system.c), which knows each
 *             allocator's own purge.
 *   run       one workload on T worker threads of its own, started once and
 *             driven in rounds: each round every thread performs its share
 *             of operations, then all stop (a barrier) before the next.
 *   op        one malloc or one free call. Setup (filling larson's slots)
 *             and the final cleanup are not counted.
 *   checksum  every block carries a tag derived from its id (first and last
 *             8 bytes, one byte per 4 KiB); the tag is checked before the
 *             block is freed and summed into the checksum, so a run is
 *             deterministic for a seed and a damaged block is counted.
 *   verify    params.verify: instead of the tag, every byte of every block
 *             is filled with a pattern derived from its id and all of it is
 *             checked before the free (and a realloc's kept bytes after
 *             it), so a change anywhere in a block is caught; the first
 *             changed byte is reported. Slower: for untimed runs. The
 *             checksum is the same sum of tags in both modes.
 *
 * Workloads
 *   small-churn   fixed-size malloc then free in batches of 64 (16, 64 and
 *                 256 B in turn, or params.size)
 *   random-mix    slots filled and emptied at random, sizes 8 B to 64 KiB
 *                 with a heavy tail, random lifetimes
 *   larson-like   every thread replaces random blocks (8 to 1000 B) in its
 *                 slots; after each round each thread's slots go to the
 *                 next thread, which frees what another allocated
 *   producer-consumer  thread 2k mallocs 16-512 B blocks into a ring,
 *                 thread 2k+1 frees them (cross-thread frees)
 *   false-sharing small blocks allocated by one thread and written by
 *                 another (Hoard's cache-scratch and cache-thrash)
 *   fragmentation fill with 64 B blocks, free every other one, then ask
 *                 for larger blocks that do not fit the holes
 *   large         64 KiB to 16 MiB blocks with realloc growth (around and
 *                 above the mmap threshold)
 *   trim          reach a peak, free 90%, give memory back (the mem api's
 *                 trim), in cycles
 *   huge-rewrite  5-25 MiB blocks replaced at random, every byte written
 *   thread-generations  short-lived threads in generations: mixed sizes,
 *                 realloc, blocks freed by the next generation
 *   tight-loops   malloc 1-4 blocks of 8-128 B and free them, in a loop
 *   passive-false-sharing  free a block another thread allocated, then
 *                 malloc, write and free small blocks (cache-scratch)
 *   sawtooth      grow to 16 MiB per thread, free it all, again (no trim):
 *                 the rhythm the RSS timeline is tested on
 * larson-like and producer-consumer are also the larson server and the
 * producer-consumer behaviors of third-party allocator benchmarks.
 * Each file of workloads/ opens with its exact loop.
 */
#ifndef NOTFREE_WORKLOAD_H
#define NOTFREE_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "notfree/alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every member is set (the two interfaces below set them all): a workload or
 * a trace replay calls realloc, calloc and memalign on the same allocator
 * as malloc, never on the process's own behind its back. */
typedef struct nf_mem_api {
    void *(*malloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *p);
    void (*trim)(void *ctx);
    void *ctx;
    void *(*realloc)(void *ctx, void *p, size_t size);
    void *(*calloc)(void *ctx, size_t n, size_t size);
    void *(*memalign)(void *ctx, size_t align, size_t size); /* align: a power of two */
} nf_mem_api;

/* The process's own malloc and free (ours when a drop-in is preloaded). */
extern const nf_mem_api nf_mem_libc;

/* A heap of an allocator; *storage keeps a and h and must outlive the api. */
typedef struct nf_mem_heap_ctx {
    const nf_allocator *a;
    nf_heap *h;
} nf_mem_heap_ctx;
nf_mem_api nf_mem_heap(nf_mem_heap_ctx *storage, const nf_allocator *a, nf_heap *h);

typedef struct nf_workload nf_workload; /* defined by the workload files */
typedef struct nf_workload_run nf_workload_run;

typedef struct nf_workload_params {
    unsigned threads; /* worker threads, >= 1 */
    uint64_t seed;    /* 0 means 1; each thread seeds its PRNG from it and its index */
    size_t size;      /* small-churn's block size; 0 cycles 16, 64, 256 */
    unsigned slots;   /* blocks a thread keeps (random-mix, larson-like); 0: the default */
    int pin;          /* nonzero: worker i runs on online CPU i mod count (threads
                           otherwise inherit the caller's affinity, which a pinned
                           bench thread narrows to one CPU) */
    int verify;       /* nonzero: fill and check every byte (see verify above) */
} nf_workload_params;

typedef struct nf_workload_result {
    uint64_t ops;      /* malloc + free calls counted, all threads */
    uint64_t checksum; /* sum of the tags of every block checked */
    uint64_t corrupt;  /* blocks whose tag was damaged */
    uint64_t failed;   /* mallocs that returned NULL */
    /* With params.verify and corrupt > 0: the first damaged block found
     * (by the lowest-numbered thread that found one): the offset of its
     * first changed byte, and its size. Otherwise both are 0. */
    uint64_t bad_offset, bad_size;
} nf_workload_result;

/* ---- the registry ---- */
size_t nf_workload_count(void);
const nf_workload *nf_workload_at(size_t i);
const nf_workload *nf_workload_find(const char *name);
/* A workload named "name", or "name:SIZE" for one that takes a block size
 * (small-churn: each run one fixed size of 1 to NF_WORKLOAD_SIZE_MAX
 * bytes): *size gets SIZE, or 0 (the workload's own sizes). NULL: no such
 * workload, a size where none is taken, or a size that is not a number in
 * range. */
#define NF_WORKLOAD_SIZE_MAX ((size_t)1 << 20)
const nf_workload *nf_workload_parse(const char *spec, size_t *size);
const char *nf_workload_name(const nf_workload *w);
const char *nf_workload_description(const nf_workload *w);
/* Operations per thread of one comparison run at scale 1 (see wl.h). */
uint64_t nf_workload_default_ops(const nf_workload *w);

/* ---- running ---- */
/* Start the worker threads and set up (untimed); NULL with errno. The
 * runner's own bookkeeping uses the process's malloc, never m. */
nf_workload_run *nf_workload_start(const nf_workload *w, const nf_workload_params *p, const nf_mem_api *m);
/* One round: every thread performs about ops_per_thread operations (whole
 * batches); returns the operations performed by all threads. */
uint64_t nf_workload_round(nf_workload_run *r, uint64_t ops_per_thread);
/* Free every block left, join the threads, fill *out (may be NULL);
 * returns 0, or -1 when a block was damaged or a malloc failed. */
int nf_workload_finish(nf_workload_run *r, nf_workload_result *out);
/* start, rounds of at most round_ops per thread until ops_per_thread, and
 * finish. */
int nf_workload_run_ops(const nf_workload *w, const nf_workload_params *p, const nf_mem_api *m, uint64_t ops_per_thread,
                        uint64_t round_ops, nf_workload_result *out);

#ifdef __cplusplus
}
#endif

#endif /* NOTFREE_WORKLOAD_H */
