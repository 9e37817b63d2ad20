/* tests/common/synthetic_trace.h: a synthetic allocation trace that keeps
 * the invariants of a loaded one (notfree/trace.h), for the tests that
 * need a trace without recording a program (sanitized builds have no
 * recorder): every op, three threads, frees and reallocs of live blocks,
 * about one call in 256 a failed one (2^62 bytes: it fails anywhere).
 * Deterministic: one xorshift stream per test program. */
#ifndef NF_TEST_SYNTHETIC_TRACE_H
#define NF_TEST_SYNTHETIC_TRACE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notfree/trace.h"

static uint64_t synthetic_rng = 88172645463325252ULL;
static uint64_t synthetic_rand(void)
{
    synthetic_rng ^= synthetic_rng << 13;
    synthetic_rng ^= synthetic_rng >> 7;
    synthetic_rng ^= synthetic_rng << 17;
    return synthetic_rng;
}

/* n events, requests of 1 to max_size bytes; nf_trace_free after. */
static nf_trace *synthetic_trace(uint64_t n, uint64_t max_size)
{
    nf_trace *t = calloc(1, sizeof *t);
    t->events = calloc(n, sizeof *t->events);
    t->command = strdup("synthetic");
    t->nthreads = 3;
    uint32_t *live = calloc(n + 1, sizeof *live), nlive = 0;
    for (uint64_t i = 0; i < n; i++) {
        nf_trace_event *e = &t->events[t->nevents++];
        uint64_t r = synthetic_rand();
        e->op = (unsigned char)((r % NF_TRACE_NOPS) & 15);
        e->thread = (uint32_t)((r >> 8) % 3) & 0xffffff;
        /* free carries no size; realloc(p, 0) would free p (a released event): not made here */
        e->size = e->op == NF_TRACE_FREE ? 0 : 1 + (r >> 16) % max_size;
        uint32_t pick = nlive ? (uint32_t)((r >> 40) % nlive) : 0;
        if (e->op == NF_TRACE_CALLOC)
            e->arg = 1 + (r >> 32) % 4;
        if (e->op >= NF_TRACE_MEMALIGN)
            e->arg = 16u << ((r >> 32) % 4);
        if (e->op == NF_TRACE_FREE || e->op == NF_TRACE_REALLOC) {
            if (nlive && (r >> 60)) {
                e->ref = live[pick];
                live[pick] = live[--nlive];
            }
        }
        if (e->op != NF_TRACE_FREE) {
            if ((r >> 56) == 3) { /* a call that fails anywhere: nothing born, a realloc's block stays */
                e->flags = NF_TRACE_F_NULL;
                e->size = 1ULL << 62;
                if (e->ref)
                    live[nlive++] = e->ref;
            } else {
                live[nlive++] = ++t->nids;
            }
        }
    }
    free(live);
    return t;
}

#endif
