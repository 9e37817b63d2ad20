/* wl.h: what a workload file sees (workloads/<name>.c). The runner
 * (runner.c) owns the threads, the rounds and the counting; a workload is a
 * table of per-thread callbacks.
 *
 * Adding a workload: one file defining `const nf_workload nf_wl_<name>` and
 * one line in runner.c's list.
 */
#ifndef NF_WORKLOADS_WL_H
#define NF_WORKLOADS_WL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "notfree/workload.h"

/* One worker thread. Counters are the thread's own (summed at finish);
 * padded so two threads never share a line. */
typedef struct nf_wl_thread {
    unsigned index;
    const nf_workload_params *params;
    const nf_mem_api *mem;
    uint64_t rng;
    uint64_t ops, checksum, corrupt, failed;
    uint64_t bad_offset, bad_size; /* verify mode: the first damaged block (bad_size 0: none) */
    uint64_t next_id;              /* ids of this thread's blocks: index << 48 | n */
    void *state;                   /* the workload's, from calloc */
    char pad[64];
} nf_wl_thread;

struct nf_workload {
    const char *name;
    const char *description;
    /* Operations per thread of one `notfree compare` run at --scale 1:
     * about a second or two on a shared 2-PU VM; whole cycles where the
     * workload has them, so every run ends at the same point. */
    uint64_t default_ops;
    /* Set up t->state (untimed, not counted); false on failure. */
    bool (*init)(nf_wl_thread *t);
    /* About ops operations; returns the number performed. */
    uint64_t (*step)(nf_wl_thread *t, uint64_t ops);
    /* Between rounds, every thread stopped (may be NULL). */
    void (*between)(nf_wl_thread *threads, unsigned n);
    /* Free every block left (not counted) and t->state. */
    void (*fini)(nf_wl_thread *t);
    /* Takes a block size: "name:SIZE" sets params.size (nf_workload_parse). */
    bool sized;
};

/* ---- helpers for workload files ---- */
static inline uint64_t nf_wl_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t nf_wl_rand(nf_wl_thread *t)
{
    t->rng += 0x9e3779b97f4a7c15ULL; /* splitmix64 */
    return nf_wl_mix(t->rng);
}

/* A block with its size and id, as kept in slots. */
typedef struct nf_wl_block {
    void *p;
    uint32_t size;
    uint64_t id;
} nf_wl_block;

static inline void nf_wl_tag(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    memcpy(b, &tag, 8);
    if (n >= 16)
        memcpy(b + n - 8, &tag, 8);
    for (size_t i = 4096; i + 8 < n; i += 4096)
        b[i] = (unsigned char)tag;
}

static inline bool nf_wl_tag_ok(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    uint64_t x, y = tag;
    memcpy(&x, b, 8);
    if (n >= 16)
        memcpy(&y, b + n - 8, 8);
    bool ok = x == tag && y == tag;
    for (size_t i = 4096; ok && i + 8 < n; i += 4096)
        ok = b[i] == (unsigned char)tag;
    return ok;
}

/* ---- verify mode: every byte of a block, word k = tag ^ k * golden ---- */
static inline uint64_t nf_wl_fill_word(uint64_t tag, size_t k) { return tag ^ ((uint64_t)k * 0x9e3779b97f4a7c15ULL); }

static inline void nf_wl_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    size_t k = 0, words = n / 8;
    for (; k < words; k++) {
        uint64_t w = nf_wl_fill_word(tag, k);
        memcpy(b + 8 * k, &w, 8);
    }
    if (8 * k < n) {
        uint64_t w = nf_wl_fill_word(tag, k);
        memcpy(b + 8 * k, &w, n - 8 * k);
    }
}

static inline size_t nf_wl_fill_first_diff(uint64_t x, uint64_t w, size_t off)
{
    size_t i = 0;
    while (((const unsigned char *)&x)[i] == ((const unsigned char *)&w)[i])
        i++;
    return off + i;
}

/* The offset of the first byte of p[0, n) that differs from the fill, or
 * n when none does. Whole 64-byte chunks first, their differences ORed
 * (no branch per word: the compiler vectorizes it); a chunk that differs
 * and the tail word by word. */
static inline size_t nf_wl_fill_check(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    size_t k = 0, words = n / 8;
    for (; k + 8 <= words; k += 8) {
        uint64_t d = 0;
        for (size_t j = 0; j < 8; j++) {
            uint64_t x;
            memcpy(&x, b + 8 * (k + j), 8);
            d |= x ^ nf_wl_fill_word(tag, k + j);
        }
        if (d)
            break;
    }
    for (; k < words; k++) {
        uint64_t w = nf_wl_fill_word(tag, k), x;
        memcpy(&x, b + 8 * k, 8);
        if (x != w)
            return nf_wl_fill_first_diff(x, w, 8 * k);
    }
    if (8 * k < n) {
        uint64_t w = nf_wl_fill_word(tag, k), x = w;
        memcpy(&x, b + 8 * k, n - 8 * k);
        if (x != w)
            return nf_wl_fill_first_diff(x, w, 8 * k);
    }
    return n;
}

/* Marks a new block: the tag, or in verify mode the full fill. */
static inline void nf_wl_mark(nf_wl_thread *t, void *p, size_t n, uint64_t tag)
{
    if (t->params->verify)
        nf_wl_fill(p, n, tag);
    else
        nf_wl_tag(p, n, tag);
}

/* Checks the first n bytes of a block of size bytes marked with tag;
 * false (counted corrupt, the first in verify mode kept) when damaged. */
static inline bool nf_wl_check(nf_wl_thread *t, const void *p, size_t n, size_t size, uint64_t tag)
{
    if (!t->params->verify)
        return nf_wl_tag_ok(p, n, tag);
    size_t off = nf_wl_fill_check(p, n, tag);
    if (off == n)
        return true;
    if (!t->bad_size) {
        t->bad_offset = off;
        t->bad_size = size;
    }
    return false;
}

/* malloc n bytes into b with a new id, unmarked; counts one op (and a
 * failure); false when malloc failed. */
static inline bool nf_wl_get(nf_wl_thread *t, nf_wl_block *b, size_t n)
{
    b->p = t->mem->malloc(t->mem->ctx, n);
    b->size = (uint32_t)n;
    b->id = ++t->next_id;
    t->ops++;
    if (!b->p)
        t->failed++;
    return b->p != NULL;
}

/* malloc n (>= 8) bytes into b, marked; counts one op. */
static inline void nf_wl_alloc(nf_wl_thread *t, nf_wl_block *b, size_t n)
{
    if (nf_wl_get(t, b, n))
        nf_wl_mark(t, b->p, n, nf_wl_mix(b->id));
}

/* Check and free b; counts one op when counted. */
static inline void nf_wl_release(nf_wl_thread *t, nf_wl_block *b, bool counted)
{
    if (!b->p)
        return;
    uint64_t tag = nf_wl_mix(b->id);
    if (nf_wl_check(t, b->p, b->size, b->size, tag))
        t->checksum += tag;
    else
        t->corrupt++;
    t->mem->free(t->mem->ctx, b->p);
    b->p = NULL;
    t->ops += counted;
}

/* Free b (counted) and malloc n bytes in its place: two ops. */
static inline void nf_wl_replace(nf_wl_thread *t, nf_wl_block *b, size_t n)
{
    nf_wl_release(t, b, true);
    nf_wl_alloc(t, b, n);
}

/* ---- shared state shapes (slots.c) ---- */

/* A thread's array of blocks, the state (t->state) of the slot workloads.
 * Invariant: slot[0, n) is one calloc'd array; a block is live when its p
 * is set. pos is the workload's cursor in its cycle (unused by some). */
typedef struct nf_wl_slots {
    unsigned n;
    unsigned pos;
    nf_wl_block *slot; /* may move between threads (nf_wl_slots_rotate) */
} nf_wl_slots;

/* params.slots when set, else def. */
unsigned nf_wl_slots_count(const nf_wl_thread *t, unsigned def);
/* n empty slots as t->state; NULL (nothing kept) on failure. */
nf_wl_slots *nf_wl_slots_new(nf_wl_thread *t, unsigned n);
/* Setup: mallocs every stride-th slot (from 0) a block of size(t) bytes;
 * not counted (t->ops back to 0). */
void nf_wl_slots_fill(nf_wl_thread *t, unsigned stride, size_t (*size)(nf_wl_thread *t));
/* Between rounds: each thread takes the previous one's slot array (the
 * last's goes to thread 0), so most frees release another thread's blocks. */
void nf_wl_slots_rotate(nf_wl_thread *threads, unsigned n);
/* fini of a slot workload: frees every block left (not counted), the slots. */
void nf_wl_slots_fini(nf_wl_thread *t);

/* Check and free blocks b[0, n) still live; not counted. */
void nf_wl_release_all(nf_wl_thread *t, nf_wl_block *b, size_t n);
/* A zeroed t->state of size bytes; false on failure. */
bool nf_wl_state_new(nf_wl_thread *t, size_t size);
/* fini of a workload whose step leaves nothing live: frees t->state. */
void nf_wl_state_free(nf_wl_thread *t);

#endif
