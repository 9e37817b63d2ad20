/* notfree/patterns.h: generated address streams for replay through the
 * kernel model (`notfree model --pattern`, the TLB tests and benches).
 *
 * Every pattern visits the pages of [base, base + ws) and, at each visit,
 * a cache line drawn at random within the page (so the address stream
 * looks like real data, never page-aligned only). Deterministic: the same
 * seed gives the same stream.
 *   seq     pages 0, 1, 2, ..., n-1, 0, ...
 *   stride  pages 0, s, 2s, ... (< n), then 1, 1+s, ..., then 2, ...: every
 *           page once per round, in order with a stride of s pages
 *   random  each page independently and uniformly
 *   chase   one random cyclic permutation of the pages (Sattolo), followed
 *           from page 0: every page once per round, in random order
 */
#ifndef NOTFREE_PATTERNS_H
#define NOTFREE_PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nf_pattern_kind { NF_PAT_SEQ, NF_PAT_STRIDE, NF_PAT_RANDOM, NF_PAT_CHASE } nf_pattern_kind;

typedef struct nf_pattern {
    nf_pattern_kind kind;
    uint64_t base;       /* first byte */
    uint64_t npages;     /* >= 1 */
    unsigned page_shift; /* 12 or 21 */
    uint64_t stride;     /* pages (stride) */
    uint64_t rng;        /* xorshift64* state */
    uint64_t page;       /* current page (seq, stride, chase) */
    uint64_t col;        /* stride: the current starting page */
    uint32_t *next;      /* chase: next[page] */
} nf_pattern;

/* "seq", "stride", "random", "chase" -> 0 and *out; else -1. */
int nf_pattern_parse(const char *name, nf_pattern_kind *out);
const char *nf_pattern_name(nf_pattern_kind k);

/* ws_bytes is rounded down to whole pages (at least one). stride_pages is
 * used by `stride` only (0 means 16). Returns 0, or -1 when memory for the
 * chase permutation is short or the page count exceeds 2^32. */
int nf_pattern_init(nf_pattern *p, nf_pattern_kind kind, uint64_t base, uint64_t ws_bytes, unsigned page_shift,
                    uint64_t stride_pages, uint64_t seed);
/* Progress of a long nf_pattern_init (building the chase cycle: `done`
 * of `total` steps), reported every 2^20 steps; arg is the caller's. */
typedef void (*nf_pattern_progress_fn)(void *arg, uint64_t done, uint64_t total);
/* nf_pattern_init that reports its progress to fn (NULL: none). */
int nf_pattern_init_progress(nf_pattern *p, nf_pattern_kind kind, uint64_t base, uint64_t ws_bytes, unsigned page_shift,
                             uint64_t stride_pages, uint64_t seed, nf_pattern_progress_fn fn, void *arg);
void nf_pattern_fini(nf_pattern *p);
/* The next address of the stream. */
uint64_t nf_pattern_next(nf_pattern *p);
/* n addresses into out. */
void nf_pattern_fill(nf_pattern *p, uint64_t *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
