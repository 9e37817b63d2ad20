/* producer_consumer.c: one thread allocates, another frees (the pattern
 * of xmalloc-test). Threads pair up: thread 2k is a producer, 2k+1 its
 * consumer. The producer mallocs random 16-512 B blocks, tags them and
 * pushes them into a bounded single-producer single-consumer ring; the
 * consumer pops, checks and frees them, so every free releases a block
 * another thread allocated. In a round each side performs the same number
 * of operations, so the ring is empty between rounds. A thread without a
 * partner (threads = 1, or the last of an odd count) fills the ring and
 * empties it itself, batch by batch.
 *
 * Waiting: a side that finds the ring full (empty) spins a little, then
 * yields; the box may have fewer PUs than threads. */
#include <sched.h>
#include <stdlib.h>

#include "wl.h"

enum { RING = 1024, BATCH = 64, MIN_SIZE = 16, MAX_SIZE = 512 };

typedef struct pc_ring {
    nf_wl_block slot[RING];
    uint64_t head; /* next to pop: written by the consumer */
    char pad[56];
    uint64_t tail; /* next to push: written by the producer */
} pc_ring;

typedef struct pc_state {
    pc_ring *ring; /* the producer's; the consumer borrows it */
    bool producer, solo;
} pc_state;

static bool pc_init(nf_wl_thread *t)
{
    pc_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    unsigned n = t->params->threads;
    s->producer = t->index % 2 == 0;
    s->solo = s->producer && t->index + 1 >= n;
    if (s->producer && !(s->ring = calloc(1, sizeof *s->ring))) {
        free(s);
        return false;
    }
    t->state = s;
    return true;
}

static void pc_wait(unsigned *spins)
{
    if (++*spins > 64) {
        sched_yield();
        *spins = 0;
    }
}

static void pc_push(nf_wl_thread *t, pc_ring *r)
{
    unsigned spins = 0;
    uint64_t tail = r->tail;
    while (tail - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) >= RING)
        pc_wait(&spins);
    size_t n = MIN_SIZE + (size_t)(nf_wl_rand(t) % (MAX_SIZE - MIN_SIZE + 1));
    nf_wl_alloc(t, &r->slot[tail % RING], n);
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
}

static void pc_pop(nf_wl_thread *t, pc_ring *r)
{
    unsigned spins = 0;
    uint64_t head = r->head;
    while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == head)
        pc_wait(&spins);
    nf_wl_block *b = &r->slot[head % RING];
    if (b->p)
        nf_wl_release(t, b, true);
    else
        t->ops++; /* the producer's malloc failed: a free of nothing */
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
}

static uint64_t pc_step(nf_wl_thread *t, uint64_t ops)
{
    pc_state *s = t->state;
    uint64_t done = 0;
    if (s->solo) {
        for (; done < ops; done += 2 * BATCH) {
            for (int i = 0; i < BATCH; i++)
                pc_push(t, s->ring);
            for (int i = 0; i < BATCH; i++)
                pc_pop(t, s->ring);
        }
        return done;
    }
    /* Both sides do the same count: whole batches of the round's ops. */
    uint64_t n = (ops + BATCH - 1) / BATCH * BATCH;
    pc_ring *r = s->producer ? s->ring : ((pc_state *)(t - 1)->state)->ring;
    for (; done < n; done++) {
        if (s->producer)
            pc_push(t, r);
        else
            pc_pop(t, r);
    }
    return done;
}

static void pc_fini(nf_wl_thread *t)
{
    pc_state *s = t->state;
    if (s->ring) {
        /* Empty between rounds; kept safe if a round was cut short. */
        for (uint64_t i = s->ring->head; i != s->ring->tail; i++)
            nf_wl_release(t, &s->ring->slot[i % RING], false);
        free(s->ring);
    }
    free(s);
}

const nf_workload nf_wl_producer_consumer = {
    "producer-consumer",
    "thread pairs: one mallocs 16-512 B blocks into a ring, the other frees them",
    500000,
    pc_init,
    pc_step,
    NULL,
    pc_fini,
    false,
};
