/* thread_generations.c: threads that come and go. A worker's step runs
 * generations of CHILDREN short-lived threads of its own: each child
 * performs GEN_OPS operations and exits, and the next generation starts
 * on what it left. A child keeps LOCAL slots of its own and owns a share
 * of the worker's HANDOFF slots; an operation pair either
 *   - (one in four) frees a random handoff slot of its share, a block a
 *     child of the previous generation allocated (another thread, now
 *     exited), and mallocs a replacement it leaves to the next one, or
 *   - picks a random local slot: mallocs into it when empty, else
 *     reallocs it to a new size (one in three) or frees it.
 * A child frees its local blocks before it exits (counted). The shares
 * rotate every generation, so every handoff block is freed by a thread
 * other than the one that allocated it. Sizes: mostly 16 B-1 KiB, one in
 * 16 up to 32 KiB, one in 256 up to 256 KiB.
 *
 * What it measures: memory of exited threads (pages with live handoff
 * blocks, caches) that the next generation should reuse, and give back
 * what it does not need. The children of a generation run at the same
 * time on disjoint slots; their ids, seeds and shares depend only on the
 * worker's seed and the generation, so a run is deterministic. */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"

enum { CHILDREN = 2, GEN_OPS = 4000, LOCAL = 256, HANDOFF = 1024 };

typedef struct gen_state {
    nf_wl_block handoff[HANDOFF]; /* slot j belongs to child (j + gen) % CHILDREN */
    uint64_t gen;
} gen_state;

typedef struct gen_child {
    nf_wl_thread t; /* a copy of the worker's, counters its own */
    gen_state *s;
    unsigned c;
    nf_wl_block local[LOCAL];
} gen_child;

static size_t gen_size(nf_wl_thread *t)
{
    uint64_t x = nf_wl_rand(t);
    size_t max = (x & 255) == 0 ? 256 << 10 : (x & 15) == 0 ? 32 << 10 : 1 << 10;
    return 16 + (size_t)((x >> 8) % (max - 15));
}

/* realloc b to n; the kept bytes checked (the head, or all in verify
 * mode), then marked as a new block. */
static void gen_realloc(nf_wl_thread *t, nf_wl_block *b, size_t n)
{
    uint64_t tag = nf_wl_mix(b->id);
    void *q = t->mem->realloc(t->mem->ctx, b->p, n);
    t->ops++;
    if (!q) {
        t->failed++;
        return; /* b is still valid */
    }
    size_t kept = n < b->size ? n : b->size;
    if (nf_wl_check(t, q, t->params->verify ? kept : 8, kept, tag))
        t->checksum += tag;
    else
        t->corrupt++;
    b->p = q;
    b->size = (uint32_t)n;
    b->id = ++t->next_id;
    nf_wl_mark(t, q, n, nf_wl_mix(b->id));
}

static void *gen_child_main(void *v)
{
    gen_child *ch = v;
    nf_wl_thread *t = &ch->t;
    unsigned shift = (unsigned)((CHILDREN - ch->s->gen % CHILDREN + ch->c) % CHILDREN);
    while (t->ops < GEN_OPS) {
        uint64_t x = nf_wl_rand(t);
        if ((x & 3) == 0) {
            nf_wl_block *b = &ch->s->handoff[(x >> 2) % (HANDOFF / CHILDREN) * CHILDREN + shift];
            nf_wl_release(t, b, true);
            nf_wl_alloc(t, b, gen_size(t));
            continue;
        }
        nf_wl_block *b = &ch->local[(x >> 2) % LOCAL];
        if (!b->p)
            nf_wl_alloc(t, b, gen_size(t));
        else if ((x >> 32) % 3 == 0)
            gen_realloc(t, b, gen_size(t));
        else
            nf_wl_release(t, b, true);
    }
    for (unsigned i = 0; i < LOCAL; i++)
        nf_wl_release(t, &ch->local[i], true);
    return NULL;
}

static bool gen_init(nf_wl_thread *t)
{
    t->state = calloc(1, sizeof(gen_state));
    return t->state != NULL;
}

/* One generation: CHILDREN threads started together, joined, summed. */
static uint64_t gen_run(nf_wl_thread *t, gen_state *s)
{
    gen_child *ch = calloc(CHILDREN, sizeof *ch);
    pthread_t tid[CHILDREN];
    if (!ch) {
        t->failed++;
        return GEN_OPS; /* counted as done: the round ends */
    }
    for (unsigned c = 0; c < CHILDREN; c++) {
        ch[c].t = *t;
        ch[c].t.ops = ch[c].t.checksum = ch[c].t.corrupt = ch[c].t.failed = 0;
        ch[c].t.bad_offset = ch[c].t.bad_size = 0;
        ch[c].t.rng = nf_wl_mix(t->rng ^ (s->gen * CHILDREN + c + 1));
        ch[c].t.next_id = t->next_id + ((uint64_t)(c + 1) << 32);
        ch[c].s = s;
        ch[c].c = c;
    }
    bool started[CHILDREN] = {false};
    for (unsigned c = 0; c < CHILDREN; c++)
        started[c] = pthread_create(&tid[c], NULL, gen_child_main, &ch[c]) == 0;
    for (unsigned c = 0; c < CHILDREN; c++)
        if (started[c])
            pthread_join(tid[c], NULL);
        else
            gen_child_main(&ch[c]); /* no thread to be had: run it here */
    uint64_t done = 0;
    for (unsigned c = 0; c < CHILDREN; c++) {
        nf_wl_thread *k = &ch[c].t;
        done += k->ops;
        t->ops += k->ops;
        t->checksum += k->checksum;
        t->corrupt += k->corrupt;
        t->failed += k->failed;
        if (k->bad_size && !t->bad_size) {
            t->bad_offset = k->bad_offset;
            t->bad_size = k->bad_size;
        }
    }
    t->next_id += (uint64_t)(CHILDREN + 1) << 32;
    nf_wl_rand(t);
    s->gen++;
    free(ch);
    return done;
}

static uint64_t gen_step(nf_wl_thread *t, uint64_t ops)
{
    gen_state *s = t->state;
    uint64_t done = 0;
    while (done < ops)
        done += gen_run(t, s);
    return done;
}

static void gen_fini(nf_wl_thread *t)
{
    gen_state *s = t->state;
    for (unsigned i = 0; i < HANDOFF; i++)
        nf_wl_release(t, &s->handoff[i], false);
    free(s);
}

const nf_workload nf_wl_thread_generations = {
    "thread-generations",
    "generations of short-lived threads: mixed sizes, realloc, blocks handed to the next generation",
    2000000,
    gen_init,
    gen_step,
    NULL,
    gen_fini,
    false,
};
