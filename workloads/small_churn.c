/* small_churn.c: fixed-size malloc and free in a tight loop: batches of
 * BATCH mallocs of one size, then BATCH frees in the same order. The size
 * is params.size, or 16, 64 and 256 B in turn, batch by batch. */
#include <stdlib.h>

#include "wl.h"

enum { BATCH = 64 };

typedef struct churn_state {
    nf_wl_block b[BATCH];
    unsigned turn;
} churn_state;

static bool churn_init(nf_wl_thread *t) { return nf_wl_state_new(t, sizeof(churn_state)); }

static uint64_t churn_step(nf_wl_thread *t, uint64_t ops)
{
    static const size_t sizes[] = {16, 64, 256};
    churn_state *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        size_t n = t->params->size ? t->params->size : sizes[s->turn++ % 3];
        for (int i = 0; i < BATCH; i++)
            nf_wl_alloc(t, &s->b[i], n);
        for (int i = 0; i < BATCH; i++)
            nf_wl_release(t, &s->b[i], true);
        done += 2 * BATCH;
    }
    return done;
}

const nf_workload nf_wl_small_churn = {
    "small-churn",    "fixed-size malloc and free in batches of 64 (16, 64, 256 B in turn)",
    4000000,          churn_init,
    churn_step,       NULL,
    nf_wl_state_free, true,
};
