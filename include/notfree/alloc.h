/* notfree/alloc.h: the one interface every allocator implements.
 *
 * Glossary
 *   allocator  a named table of functions (nf_allocator), found by name in
 *              the registry: ours ("bins", "slab", "shard") and the
 *              adapter "system" over the process's own malloc.
 *   heap       one instance of an allocator (nf_heap, opaque), created on a
 *              page source (notfree/pages.h) that supplies all its memory.
 *   path       a way a request is served (for bins: tcache, fastbin,
 *              unsorted, small bin, large bin, top, direct map, trim); each
 *              allocator counts its own paths, reported as named counts.
 *
 * Contracts (every allocator)
 *   malloc(h, 0) returns a unique pointer that free accepts. Results are
 *   aligned to at least 16 bytes. calloc zeroes and returns NULL with errno
 *   ENOMEM when n * size overflows. realloc(h, NULL, n) is malloc;
 *   realloc(h, p, 0) frees p and returns NULL (glibc's behaviour); on
 *   failure realloc returns NULL and p is untouched. memalign needs a power
 *   of two (else NULL, EINVAL); an alignment below 16 is raised to 16.
 *   usable_size(h, p) >= the size asked for p. trim returns 1 when memory
 *   went back to the page source, else 0 (malloc_trim's result).
 *
 * Statistics: a field whose NF_STAT_* bit is clear in `available` is
 * unknown, never zero; unavailable_reason says why.
 */
#ifndef NOTFREE_ALLOC_H
#define NOTFREE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "notfree/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nf_heap nf_heap; /* an allocator instance; its layout is the allocator's own */

#define NF_ALLOC_MAX_PATHS 16

typedef struct nf_alloc_path {
    const char *name; /* static string, e.g. "tcache" */
    uint64_t count;   /* requests (or frees) served by this path, cumulative */
} nf_alloc_path;

enum {
    NF_STAT_LIVE = 1u << 0,       /* live_bytes, peak_live_bytes */
    NF_STAT_HELD = 1u << 1,       /* held_bytes */
    NF_STAT_MAPPED = 1u << 2,     /* mapped_bytes, peak_mapped_bytes */
    NF_STAT_PAGE_CALLS = 1u << 3, /* page_calls[] */
    NF_STAT_CALLS = 1u << 4,      /* mallocs, frees, reallocs */
    NF_STAT_PATHS = 1u << 5,      /* paths[0..npaths) */
};

typedef struct nf_alloc_stats {
    uint32_t available;             /* NF_STAT_* bits */
    const char *unavailable_reason; /* static string, for the clear bits */
    /* Bytes handed out and not yet freed. bins counts each block by its
     * usable size (>= the request, at most 15 bytes more for the usual
     * sizes, plus alignment padding), since a chunk keeps no room for the
     * requested size; allocators that know the request count that. */
    uint64_t live_bytes, peak_live_bytes;
    uint64_t held_bytes;   /* in blocks the allocator holds, in use or free (excludes untouched top) */
    uint64_t mapped_bytes; /* held from the page source now (maps + break) */
    uint64_t peak_mapped_bytes;
    uint64_t page_calls[NF_PAGE_CALL_COUNT]; /* calls into the page source, by kind */
    uint64_t mallocs, frees, reallocs;       /* interface calls (calloc and memalign count as malloc) */
    unsigned npaths;
    nf_alloc_path paths[NF_ALLOC_MAX_PATHS];
} nf_alloc_stats;

typedef struct nf_allocator {
    const char *name;        /* "bins", "system", ... */
    const char *description; /* one line */
    /* A new heap on the page source ps (NULL: a real page source of the
     * heap's own, with an emulated break). NULL with errno on failure. */
    nf_heap *(*create)(nf_pages *ps);
    /* Give every byte back; no other thread may use h during or after. */
    void (*destroy)(nf_heap *h);
    void *(*malloc)(nf_heap *h, size_t size);
    void (*free)(nf_heap *h, void *p);
    void *(*calloc)(nf_heap *h, size_t n, size_t size);
    void *(*realloc)(nf_heap *h, void *p, size_t size);
    void *(*memalign)(nf_heap *h, size_t align, size_t size);
    size_t (*usable_size)(nf_heap *h, const void *p);
    int (*trim)(nf_heap *h, size_t pad);
    /* Fill *out; returns 0, or -1 when nothing at all can be known. */
    int (*stats)(nf_heap *h, nf_alloc_stats *out);
    /* Which allocator really serves requests, with its version when known,
     * e.g. "glibc 2.36", "jemalloc 5.3.0-0-g54eaed1d8b56": into buf, which
     * is returned. */
    const char *(*identify)(nf_heap *h, char *buf, size_t len);

    /* ---- for drop-in builds (NULL where they do not apply) ---- */
    /* The process-wide heap of a drop-in, created on first call without
     * calling malloc; NULL if it cannot be made. bins makes it on
     * nf_pages_real_sbrk() (its main arena grows the program break, as
     * glibc's does); slab and shard on nf_pages_real() (mmap only). */
    nf_heap *(*default_heap)(void);
    /* pthread_atfork: prepare takes every lock of h, parent releases them,
     * child reinitialises them (only the forking thread survives). */
    void (*fork_prepare)(nf_heap *h);
    void (*fork_parent)(nf_heap *h);
    void (*fork_child)(nf_heap *h);
    /* Return the calling thread's cached memory to h (at thread exit). */
    void (*thread_exit)(nf_heap *h);
} nf_allocator;

/* ---- the registry ---- */
/* The allocator called name, or NULL. */
const nf_allocator *nf_allocator_find(const char *name);
/* Every registered allocator, in registration order: i < nf_allocator_count(). */
size_t nf_allocator_count(void);
const nf_allocator *nf_allocator_at(size_t i);

/* The allocators themselves (one line each in allocators/registry.c). */
extern const nf_allocator nf_allocator_system;
extern const nf_allocator nf_allocator_bins;
extern const nf_allocator nf_allocator_shard;
extern const nf_allocator nf_allocator_slab;

/* The count of the path called name in s, or -1 when s has no such path. */
int64_t nf_alloc_stats_path(const nf_alloc_stats *s, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* NOTFREE_ALLOC_H */
