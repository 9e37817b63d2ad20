/* slab_config.h: every constant of the slab allocator, with its meaning.
 * The design is Bonwick (1994) and Bonwick and Adams (2001); the values are
 * ours unless said otherwise. This is the only file with #if: the rest
 * reads constants. */
#ifndef NF_SLAB_CONFIG_H
#define NF_SLAB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- size classes ----
 * 44 classes: 16 to 256 in steps of 16 (16 classes), then four per
 * doubling up to 32 KiB (28 classes: 320, 384, 448, 512, 640, ...). A
 * request is rounded up to its class: above 256 bytes that wastes at most
 * a quarter step (under 20% of the class, about 10% on average). */
#define SLAB_MIN_SIZE ((size_t)16)    /* smallest class; every object is 16-aligned */
#define SLAB_FINE_MAX ((size_t)256)   /* classes up to here are 16 bytes apart */
#define SLAB_STEPS_LOG2 2             /* 2^this classes per doubling above SLAB_FINE_MAX */
#define SLAB_MAX_SIZE ((size_t)32768) /* largest class; larger requests are mapped directly */
#define SLAB_NCLASSES 44

/* ---- regions, units and slabs ----
 * A region is a SLAB_REGION-aligned mapping of SLAB_REGION bytes, cut into
 * units of SLAB_UNIT bytes; unit 0 holds the region's header (the slab
 * descriptors), the others are carved into slabs of one or more units.
 * A slab's span (units) is the smallest that wastes at most 1/SLAB_WASTE_DIV
 * of it as a tail no object fits in (Bonwick's 12.5% rule). */
#define SLAB_REGION_LOG2 22 /* 4 MiB regions */
#define SLAB_REGION ((size_t)1 << SLAB_REGION_LOG2)
#define SLAB_UNIT_LOG2 16 /* 64 KiB units */
#define SLAB_UNIT ((size_t)1 << SLAB_UNIT_LOG2)
#define SLAB_UNITS (SLAB_REGION / SLAB_UNIT) /* 64 per region, unit 0 the header */
#define SLAB_MAX_SPAN 8                      /* units one slab may span at most */
#define SLAB_WASTE_DIV 8                     /* tail waste at most span / 8 */
#define SLAB_ADDR_BITS 47                    /* user address space the region map covers */

/* ---- colouring (Bonwick 1994, section 4.1) ----
 * Successive slabs of a class start their first object SLAB_COLOUR_STEP
 * bytes further in, cycling within the slab's tail waste, so that objects
 * of different slabs do not all fall on the same cache sets. Never for
 * power-of-two classes: their objects stay aligned to their size, which
 * memalign relies on. */
#define SLAB_COLOUR true
#define SLAB_COLOUR_STEP ((size_t)64) /* a cache line */

/* ---- empty slabs and regions ---- */
#define SLAB_EMPTY_RESERVE 2 /* empty slabs a class always keeps */
#define SLAB_EMPTY_DECAY_S \
    1.0                     /* beyond, it keeps its recent peak of busy slabs (halving every this
                                             many seconds) minus those busy now; the rest: MADV_DONTNEED */
#define SLAB_REGIONS_KEEP 1 /* wholly empty regions kept mapped (dropped pages) outside trim */

/* ---- magazines and the depot (Bonwick and Adams 2001) ----
 * A magazine holds up to its capacity of object pointers; each thread has a
 * loaded and a previous magazine per class. Capacity per class:
 * SLAB_MAG_BYTES / size, clamped to [SLAB_MAG_MIN, SLAB_MAG_MAX]. */
#define SLAB_MAG_MAX 64                /* rounds in the largest magazine (classes up to 512 B) */
#define SLAB_MAG_MIN 4                 /* rounds in the smallest (classes from 8 KiB) */
#define SLAB_MAG_BYTES ((size_t)32768) /* bytes a magazine holds at most, above the minimum */
/* Classes whose objects are smaller than a 64-byte cache line (16, 32 and
 * 48 B): two threads' objects can share a line. A free there of an object
 * that is not the last one this thread's malloc handed out goes to the
 * thread's previous magazine, not the loaded one, so the thread's next
 * malloc does not get a block another thread may still be writing beside
 * (passive false sharing: Hoard's cache-scratch, `passive-false-sharing`). */
#define SLAB_SUBLINE_CLASSES 3
#define SLAB_REFILL_DIV 2               /* a refill from the slab layer loads capacity / this rounds */
#define SLAB_DEPOT_MAX_FULL 16          /* full magazines a class's depot keeps; more go back to slabs */
#define SLAB_DEPOT_MAX_EMPTY 16         /* empty magazines it keeps; more go back to the pool */
#define SLAB_META_CHUNK ((size_t)65536) /* magazines and thread caches are cut from chunks this big */

/* ---- threads ---- */
#define SLAB_TLS_SLOTS 8 /* heaps a thread can cache for at once */

/* ---- direct mapping ---- */
#define SLAB_DIRECT_HDR ((size_t)32) /* check words before a direct map's user pointer */
#define SLAB_DIRECT_TABLE_MIN 1024   /* initial slots of the table of live direct maps */
#define SLAB_DIRECT_CACHE 32         /* pieces of freed direct maps kept for reuse (dcache.c) */
#define SLAB_DIRECT_WINDOW_S \
    1.0 /* they may hold what the live direct bytes are below their peak over the current and the
           previous window of this many seconds */
#define SLAB_DIRECT_CACHE_MIN ((size_t)4 << 20)  /* ... and at least this */
#define SLAB_DIRECT_SPLIT_MIN ((size_t)64 << 10) /* a piece is split when this much or more is left over */
#define SLAB_DIRECT_PIECE_MAX \
    ((size_t)256 << 20) /* a freed map above this is unmapped: a calloc that reused it would write every page */

/* ---- statistics ---- */
#define SLAB_LIVE_FLUSH ((int64_t)64 * 1024) /* a thread folds its live-byte delta into the heap's past this */

/* ---- AddressSanitizer: poison what the allocator holds ----
 * The allocator's own files are built without instrumentation (meson adds
 * -fno-sanitize=address -DNF_BINS_ASAN=1 to every allocator's internals,
 * as for bins) so that it may touch what it poisons; code that calls it
 * stays instrumented. */
#if defined(__SANITIZE_ADDRESS__) || defined(NF_BINS_ASAN) || defined(NF_SLAB_ASAN)
#include <sanitizer/asan_interface.h>
#define SLAB_ASAN 1
/* the functions, not the ASAN_*_MEMORY_REGION macros: those are no-ops in
 * a file built without instrumentation */
static inline void slab_poison(const void *p, size_t n) { __asan_poison_memory_region(p, n); }
static inline void slab_unpoison(const void *p, size_t n) { __asan_unpoison_memory_region(p, n); }
#else
#define SLAB_ASAN 0
static inline void slab_poison(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
static inline void slab_unpoison(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
#endif

#endif /* NF_SLAB_CONFIG_H */
