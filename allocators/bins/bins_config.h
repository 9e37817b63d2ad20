/* bins_config.h: every constant of the bins allocator, with its meaning.
 * The values are glibc's (2.26 to 2.41, x86-64) unless said otherwise.
 * This is the only file with #if: the rest reads constants. */
#ifndef NF_BINS_CONFIG_H
#define NF_BINS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* ---- chunk geometry ---- */
#define BINS_SIZE_SZ ((size_t)8)  /* one size field */
#define BINS_ALIGN ((size_t)16)   /* every chunk and every user pointer */
#define BINS_HDR ((size_t)16)     /* prev_size + size: chunk to user pointer */
#define BINS_MINSIZE ((size_t)32) /* smallest chunk: header + fd + bk */

/* ---- bins ---- */
#define BINS_NBINS 128 /* 1 unsorted + 62 small + 63 large (+ unused 0, 127) */
#define BINS_NSMALLBINS 64
#define BINS_MIN_LARGE_SIZE ((size_t)1024) /* chunks below this go to small bins (one size each) */
#define BINS_NFASTBINS 10                  /* fastbin for chunk sizes 32, 48, ... up to 176 */
#define BINS_MAX_FAST ((size_t)128)        /* default M_MXFAST */
/* the largest fastbin chunk, glibc's global_max_fast: (M_MXFAST + 8)
 * rounded down to 16, so 128, requests up to 120 B (a 128 B request's
 * 144-byte chunk is freed and coalesced as any other) */
#define BINS_MAX_FAST_CHUNK ((BINS_MAX_FAST + BINS_SIZE_SZ) & ~(BINS_ALIGN - 1))
#define BINS_FASTBIN_CONSOLIDATION ((size_t)65536) /* freeing a chunk this big consolidates fastbins */
#define BINS_UNSORTED_MAX_ITERS 10000              /* chunks sorted per malloc at most */

/* ---- per-thread cache ---- */
#define BINS_TCACHE_BINS 64                    /* one per 16-byte size step: chunks 32 .. 1040 */
#define BINS_TCACHE_COUNT 7                    /* entries per bin (M_TCACHE_COUNT) */
#define BINS_TCACHE_MAX_REQUEST ((size_t)1032) /* largest request a tcache bin serves (chunk 1040) */
#define BINS_TLS_SLOTS 8                       /* heaps a thread can cache for at once (ours, not glibc's) */

/* ---- direct mapping and trimming ---- */
#define BINS_MMAP_THRESHOLD ((size_t)128 * 1024)   /* initial M_MMAP_THRESHOLD */
#define BINS_MMAP_THRESHOLD_MAX ((size_t)32 << 20) /* dynamic threshold ceiling (4 MiB * sizeof(long)) */
#define BINS_MMAP_MAX 65536                        /* M_MMAP_MAX: direct maps alive at once */
#define BINS_TRIM_THRESHOLD ((size_t)128 * 1024)   /* M_TRIM_THRESHOLD: top beyond this is given back */
#define BINS_TOP_PAD ((size_t)128 * 1024)          /* M_TOP_PAD: extra asked for each time top grows */
#define BINS_MMAP_PREFIX ((size_t)16)              /* ours: a check word before a direct map's chunk */
#define BINS_DIRECT_SLOTS_LOG2 17                  /* ours: table of live direct maps (2 x BINS_MMAP_MAX) */

/* ---- arenas ---- */
#define BINS_ARENAS_PER_CORE 8 /* arena limit = this x online cores (64-bit) */
#define BINS_REGION_SHIFT 26
#define BINS_REGION_MAX \
    ((size_t)1 << BINS_REGION_SHIFT)        /* HEAP_MAX_SIZE (64 MiB): a non-main arena's region, aligned to itself */
#define BINS_REGION_MIN ((size_t)32 * 1024) /* HEAP_MIN_SIZE: first opening of a region */
#define BINS_MAIN_SEGMENTS 64               /* ours: separate pieces the main arena may hold */
#define BINS_ADDR_BITS 47                   /* user address space tracked by the region map */

/* ---- statistics ---- */
#define BINS_LIVE_FLUSH ((int64_t)64 * 1024) /* a thread folds its live-byte delta into the heap's past this */

/* ---- the CPU's spin-wait hint, for the lock's short spin ---- */
#if defined(__x86_64__) || defined(__i386__)
static inline void bins_cpu_relax(void) { __builtin_ia32_pause(); }
#else
static inline void bins_cpu_relax(void) {}
#endif

/* ---- AddressSanitizer: poison what the allocator holds ----
 * The allocator's own files are built without instrumentation (meson adds
 * -fno-sanitize=address -DNF_BINS_ASAN=1) so that it may touch what it
 * poisons; code that calls it stays instrumented. */
#if defined(__SANITIZE_ADDRESS__) || defined(NF_BINS_ASAN)
#include <sanitizer/asan_interface.h>
#define BINS_ASAN 1
/* the functions, not the ASAN_*_MEMORY_REGION macros: those are no-ops in
 * a file built without instrumentation */
static inline void bins_poison(const void *p, size_t n) { __asan_poison_memory_region(p, n); }
static inline void bins_unpoison(const void *p, size_t n) { __asan_unpoison_memory_region(p, n); }
#else
#define BINS_ASAN 0
static inline void bins_poison(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
static inline void bins_unpoison(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
#endif

#endif /* NF_BINS_CONFIG_H */
