/* shard_config.h: every constant of the shard allocator, with its meaning.
 * The design is free-list sharding (Leijen, Zorn and de Moura, 2019, the
 * mimalloc paper); the values are ours unless said otherwise. This is the
 * only file with #if: the rest reads constants. */
#ifndef NF_SHARD_CONFIG_H
#define NF_SHARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- geometry ---- */
#define SHARD_SEGMENT_SHIFT 22                                /* a segment is 4 MiB ... */
#define SHARD_SEGMENT_SIZE ((size_t)1 << SHARD_SEGMENT_SHIFT) /* ... aligned to 4 MiB: ptr & ~mask is its segment */
#define SHARD_SMALL_PAGE_SHIFT 16                             /* small pages: 64 KiB, 64 per segment */
#define SHARD_MEDIUM_PAGE_SHIFT 19                            /* medium pages: 512 KiB, 8 per segment */
#define SHARD_MAX_PAGES 64                                    /* pages a segment can hold (small kind) */
#define SHARD_OS_PAGE ((size_t)4096)                          /* unit of purging, guard pages, header rounding */
#define SHARD_ALIGN ((size_t)16)                              /* every block and every result */

/* ---- size classes (bins) ----
 * Bins 1..8 are 16, 32, ... 128 bytes; above, four bins per doubling
 * (160, 192, 224, 256, 320, ...), so a block wastes at most 25% and
 * usually under 12.5%. Bin 0 is unused; SHARD_BIN_FULL is the queue of
 * full pages. */
#define SHARD_SMALL_MAX ((size_t)8192)                /* blocks up to this live in small pages */
#define SHARD_MEDIUM_MAX ((size_t)65536)              /* up to this in medium pages */
#define SHARD_LARGE_MAX ((size_t)1 << 20)             /* up to this in a large page (one per segment); above: huge */
#define SHARD_NBINS 61                                /* bins 1..60; bin 60 is 1 MiB */
#define SHARD_BIN_FULL SHARD_NBINS                    /* index of the full queue */
#define SHARD_DIRECT_MAX ((size_t)1024)               /* pages_direct serves sizes up to this ... */
#define SHARD_DIRECT_COUNT (SHARD_DIRECT_MAX / 8 + 1) /* ... indexed by (size + 7) / 8 */

/* ---- pages ---- */
#define SHARD_EXTEND_BYTES \
    ((size_t)16384) /* a page's free list grows by about this much at a time (lazy: untouched memory stays unfaulted) ... */
#define SHARD_EXTEND_MIN 4 /* ... but by at least this many blocks */
#define SHARD_RETIRE_GENERIC \
    16 /* an empty page, the only one of its bin, waits this many generic calls before going back to its segment */

/* ---- the heartbeat (generic malloc path) ---- */
#define SHARD_FULL_SCAN_INTERVAL \
    16384u /* every this many generic calls, full pages with thread frees are looked for even without a notice (power of two) */
#define SHARD_RECLAIM_MAX 4 /* abandoned segments reclaimed per attempt */

/* ---- giving memory back ---- */
#define SHARD_PURGE_DELAY_NS \
    ((uint64_t)1000 * 1000 * \
     1000) /* a free page is purged (MADV_DONTNEED) 1 s after it was left: sooner costs refaults and TLB shootdowns (dear under a hypervisor); neighbours go in one call */
#define SHARD_SEGMENT_CACHE 2 /* empty segments a thread keeps (purged) before unmapping */
#define SHARD_HUGE_CACHE 64   /* freed huge segments the heap keeps, resident, at most (huge.c) ... */
#define SHARD_HUGE_WINDOW_NS \
    ((uint64_t)1000 * 1000 * \
     1000) /* ... within a budget: the highest live huge bytes of this window and the last, minus the live ones; each is unmapped SHARD_PURGE_DELAY_NS after it was freed (a fresh mapping faults every page again) */
#define SHARD_HUGE_SPLIT_MIN \
    ((size_t)1               \
     << 20) /* a cached huge block's unneeded tail of this much or more is kept as a block of its own (less: unmapped) */
#define SHARD_TRIM_INTERVAL_NS \
    SHARD_PURGE_DELAY_NS /* a trim this soon after a full one purges only what has waited the purge delay (trimming in a loop refaulted the whole heap each cycle: 0.12x mimalloc) */
#define SHARD_WARM_THEAPS \
    8 /* exited threads' theaps kept whole (pages and all) for the next threads, each for at most the purge delay; beyond, their segments are abandoned */
#define SHARD_HEAP_SEGMENT_CACHE \
    16 /* empty segments the heap keeps for any thread (threads come and go), purged after the same delay */

/* ---- statistics ---- */
#define SHARD_LIVE_FLUSH \
    ((int64_t)64 *       \
     1024) /* a thread folds its live-byte delta into the heap past this (peak_live is exact to this much per thread) */
#define SHARD_TLS_SLOTS 8 /* heaps a thread can have thread heaps in at once */
#define SHARD_THEAP_CHUNK \
    ((size_t)64 *         \
     1024) /* thread heaps are mapped this many bytes at a time, and recycled, never unmapped before destroy */

/* ---- hardening: two levels ----
 * Default (on unless NF_SHARD_CHECKS=0, a build only for measuring what
 * they cost): the checks that cost little (README, "Allocators"):
 *   - free-list links are encoded, XORed with a per-page key whose top two
 *     bits (10) make every canonical pointer and small integer decode to a
 *     non-canonical address; a block's first word is cleared when it is
 *     handed out (no key leaks, a live block never looks free);
 *   - every block popped from a free list must lie inside its page's
 *     blocks: a use-after-free write of a link aborts before the pointer
 *     is used;
 *   - free checks that the pointer is a block start (a reciprocal
 *     multiply), and that the block's first word does not decode as a
 *     link (the double-free marker; see free.c for what it catches).
 * Secure (meson -Dshard_secure=true, NF_SHARD_SECURE=1) adds: links
 * encoded as mimalloc's secure mode does (XOR, rotate and add with two
 * per-page keys), a popped block must also be a block start, each page
 * ends in a PROT_NONE guard page (so does a huge block), and segments
 * are never reused for another kind or cached (their guards stay put). */
#ifndef NF_SHARD_SECURE
#define NF_SHARD_SECURE 0
#endif
#ifndef NF_SHARD_CHECKS
#define NF_SHARD_CHECKS 1
#endif
static const bool shard_secure = NF_SHARD_SECURE;
static const bool shard_checks = NF_SHARD_CHECKS || NF_SHARD_SECURE;
static const bool shard_check_link_block = NF_SHARD_SECURE; /* a popped block must be a block start */

/* ---- the segment map: one byte per 4 MiB of the user address space ---- */
#define SHARD_ADDR_BITS 47
#define SHARD_SEGMAP_BYTES ((size_t)1 << (SHARD_ADDR_BITS - SHARD_SEGMENT_SHIFT))
#define SHARD_REQUEST_MAX ((size_t)1 << SHARD_ADDR_BITS) /* a size or alignment this large cannot be mapped: ENOMEM */

/* ---- AddressSanitizer: poison what the allocator holds ----
 * The allocator's own files are built without instrumentation (meson adds
 * -fno-sanitize=address -DNF_SHARD_ASAN=1) so that it may touch what it
 * poisons; code that calls it stays instrumented. */
#if defined(__SANITIZE_ADDRESS__) || defined(NF_SHARD_ASAN)
#include <sanitizer/asan_interface.h>
#define SHARD_ASAN 1
static inline void shard_poison(const void *p, size_t n) { __asan_poison_memory_region(p, n); }
static inline void shard_unpoison(const void *p, size_t n) { __asan_unpoison_memory_region(p, n); }
#else
#define SHARD_ASAN 0
static inline void shard_poison(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
static inline void shard_unpoison(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
#endif

#endif /* NF_SHARD_CONFIG_H */
