/* fragmentation.c: allocate many small objects, free every other one,
 * then allocate larger ones that do not fit the holes. Each thread runs
 * the cycle
 *   fill   N mallocs of 64 B                    (N ops)
 *   holes  free the odd ones                    (N/2 ops)
 *   grow   N/2 mallocs of 128 B                 (N/2 ops)
 *   drain  free everything left                 (N ops)
 * one operation at a time, so a round may stop mid-cycle (3N operations
 * a cycle, N = slots, default 32768). At the end of grow a thread holds
 * N/2 * (64 + 128) B live (3 MiB with the default), while an allocator
 * that cannot reuse the holes has the whole fill (N * 64 B) plus the
 * larger blocks resident: compare peak RSS with the live bytes. What is
 * left resident after drain is what the allocator keeps. */
#include <stdlib.h>

#include "wl.h"

enum { DEFAULT_SLOTS = 32768, SMALL = 64, LARGE = 128 };
enum phase { FILL, HOLES, GROW, DRAIN };

typedef struct frag_state {
    unsigned n;         /* even */
    nf_wl_block *small; /* n */
    nf_wl_block *large; /* n / 2 */
    enum phase phase;
    unsigned i; /* position within the phase */
} frag_state;

static bool frag_init(nf_wl_thread *t)
{
    frag_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->n = (t->params->slots ? t->params->slots : DEFAULT_SLOTS) & ~1u;
    if (s->n < 2)
        s->n = 2;
    s->small = calloc(s->n, sizeof *s->small);
    s->large = calloc(s->n / 2, sizeof *s->large);
    if (!s->small || !s->large) {
        free(s->small);
        free(s->large);
        free(s);
        return false;
    }
    t->state = s;
    return true;
}

/* One operation of the cycle. */
static void frag_op(nf_wl_thread *t, frag_state *s)
{
    unsigned half = s->n / 2;
    switch (s->phase) {
    case FILL:
        nf_wl_alloc(t, &s->small[s->i], SMALL);
        if (++s->i == s->n)
            s->phase = HOLES, s->i = 0;
        break;
    case HOLES:
        nf_wl_release(t, &s->small[2 * s->i + 1], true);
        if (++s->i == half)
            s->phase = GROW, s->i = 0;
        break;
    case GROW:
        nf_wl_alloc(t, &s->large[s->i], LARGE);
        if (++s->i == half)
            s->phase = DRAIN, s->i = 0;
        break;
    case DRAIN:
        /* the even small ones, then the large ones */
        if (s->i < half)
            nf_wl_release(t, &s->small[2 * s->i], true);
        else
            nf_wl_release(t, &s->large[s->i - half], true);
        if (++s->i == s->n)
            s->phase = FILL, s->i = 0;
        break;
    }
}

static uint64_t frag_step(nf_wl_thread *t, uint64_t ops)
{
    frag_state *s = t->state;
    for (uint64_t i = 0; i < ops; i++)
        frag_op(t, s);
    return ops;
}

static void frag_fini(nf_wl_thread *t)
{
    frag_state *s = t->state;
    for (unsigned i = 0; i < s->n; i++)
        nf_wl_release(t, &s->small[i], false);
    for (unsigned i = 0; i < s->n / 2; i++)
        nf_wl_release(t, &s->large[i], false);
    free(s->small);
    free(s->large);
    free(s);
}

const nf_workload nf_wl_fragmentation = {
    "fragmentation",
    "fill 32768 x 64 B, free every other, add 16384 x 128 B, drain (3 MiB live at the peak)",
    98304 * 8, /* whole cycles: a cycle is 3 x 32768 ops */
    frag_init,
    frag_step,
    NULL,
    frag_fini,
    false,
};
