/* trace/stats.c: what a trace holds, in one pass over its events: calls
 * by kind, requested sizes (a power-of-two histogram), live bytes and
 * their peak, block lifetimes (in events, by power of ten), threads and
 * frees that cross them. */
#include "notfree/trace.h"

#include <stdlib.h>
#include <string.h>

unsigned nf_trace_size_bucket(uint64_t size)
{
    if (size == 0)
        return 0;
    unsigned b = 64 - (unsigned)__builtin_clzll(size); /* [2^(b-1), 2^b) */
    return b < NF_TRACE_SIZE_BUCKETS - 1 ? b : NF_TRACE_SIZE_BUCKETS - 1;
}

uint64_t nf_trace_size_bucket_low(unsigned bucket) { return bucket == 0 ? 0 : 1ULL << (bucket - 1); }

/* The bytes a birth asks for (calloc: count * size, saturated). */
static uint64_t requested(const nf_trace_event *e)
{
    if (e->op != NF_TRACE_CALLOC)
        return e->size;
    uint64_t n;
    return __builtin_mul_overflow(e->arg, e->size, &n) ? UINT64_MAX : n;
}

static unsigned life_bucket(uint64_t events)
{
    unsigned b = 0;
    for (uint64_t lim = 10; b < NF_TRACE_LIFE_BUCKETS - 1 && events >= lim; lim *= 10)
        b++;
    return b;
}

/* Per id while live: its size, the event of its birth, its thread. */
typedef struct block {
    uint64_t size, born;
    uint32_t thread;
} block;

int nf_trace_stats_compute(const nf_trace *t, nf_trace_stats *s)
{
    memset(s, 0, sizeof *s);
    block *blocks = calloc((size_t)t->nids + 1, sizeof *blocks);
    s->thread_calls = calloc(t->nthreads ? t->nthreads : 1, sizeof *s->thread_calls);
    if (!blocks || !s->thread_calls) {
        free(blocks);
        free(s->thread_calls);
        s->thread_calls = NULL;
        return -1;
    }
    s->nthreads = t->nthreads;
    uint32_t born = 0;
    uint64_t live = 0, nlive = 0;
    for (uint64_t i = 0; i < t->nevents; i++) {
        const nf_trace_event *e = &t->events[i];
        s->calls[e->op]++;
        s->thread_calls[e->thread]++;
        int ok = !(e->flags & NF_TRACE_F_NULL);
        if (e->op != NF_TRACE_FREE && !ok)
            s->null_results++;
        if ((e->op == NF_TRACE_FREE || e->op == NF_TRACE_REALLOC) && !e->ref)
            s->free_null++;
        int releases = e->ref && (e->op == NF_TRACE_FREE || ok || (e->flags & NF_TRACE_F_RELEASED));
        if (releases) {
            block *b = &blocks[e->ref];
            live -= b->size;
            nlive--;
            s->life_hist[life_bucket(i - b->born)]++;
            s->cross_thread_frees += b->thread != e->thread;
        }
        if (e->op != NF_TRACE_FREE && ok) {
            block *b = &blocks[++born];
            *b = (block){requested(e), i, e->thread};
            s->size_hist[nf_trace_size_bucket(b->size)]++;
            s->bytes_requested += b->size;
            live += b->size;
            nlive++;
            if (live > s->peak_live_bytes)
                s->peak_live_bytes = live;
            if (nlive > s->peak_live_blocks)
                s->peak_live_blocks = nlive;
        }
    }
    s->end_live_bytes = live;
    s->end_live_blocks = nlive;
    free(blocks);
    return 0;
}

void nf_trace_stats_free(nf_trace_stats *s)
{
    free(s->thread_calls);
    s->thread_calls = NULL;
}
