/* larson_like.c: a server simulation after Larson and Krishnan: each
 * thread owns an array of slots, filled at setup (not counted); an
 * operation pair frees a random slot's block and mallocs a new one of a
 * random size from 8 to 1000 B. After every round the arrays move one
 * thread on (thread i takes thread i-1's), so most frees release blocks
 * another thread allocated. */
#include <stdlib.h>

#include "wl.h"

enum { DEFAULT_SLOTS = 1000, MIN_SIZE = 8, MAX_SIZE = 1000 };

typedef struct larson_state {
    unsigned n;
    nf_wl_block *slot;   /* moves between threads */
} larson_state;

static size_t larson_size(nf_wl_thread *t)
{
    return MIN_SIZE + (size_t)(nf_wl_rand(t) % (MAX_SIZE - MIN_SIZE + 1));
}

static bool larson_init(nf_wl_thread *t)
{
    larson_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->n = t->params->slots ? t->params->slots : DEFAULT_SLOTS;
    s->slot = calloc(s->n, sizeof *s->slot);
    if (!s->slot) {
        free(s);
        return false;
    }
    t->state = s;
    for (unsigned i = 0; i < s->n; i++)
        nf_wl_alloc(t, &s->slot[i], larson_size(t));
    t->ops = 0;   /* setup is not counted */
    return true;
}

static uint64_t larson_step(nf_wl_thread *t, uint64_t ops)
{
    larson_state *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        nf_wl_block *b = &s->slot[nf_wl_rand(t) % s->n];
        nf_wl_release(t, b, true);
        nf_wl_alloc(t, b, larson_size(t));
        done += 2;
    }
    return done;
}

static void larson_between(nf_wl_thread *threads, unsigned n)
{
    if (n < 2)
        return;
    nf_wl_block *last = ((larson_state *)threads[n - 1].state)->slot;
    for (unsigned i = n - 1; i > 0; i--)
        ((larson_state *)threads[i].state)->slot = ((larson_state *)threads[i - 1].state)->slot;
    ((larson_state *)threads[0].state)->slot = last;
}

static void larson_fini(nf_wl_thread *t)
{
    larson_state *s = t->state;
    for (unsigned i = 0; i < s->n; i++)
        nf_wl_release(t, &s->slot[i], false);
    free(s->slot);
    free(s);
}

const nf_workload nf_wl_larson_like = {
    "larson-like", "threads replace random 8-1000 B blocks in slots handed to the next thread each round",
    2000000,
    larson_init, larson_step, larson_between, larson_fini,
};
