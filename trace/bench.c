/* trace/bench.c: a trace as a comparison workload (`notfree compare
 * --trace`): T copies of the trace replayed at once, one per thread, each
 * copy with its own tables, so T threads make the same calls a recorded
 * program made T times over. One copy is the trace's own global order. */
#include "notfree/trace.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct copy {
    const nf_trace *t;
    const nf_mem_api *mem;
    nf_trace_replay_opts o;
    pthread_barrier_t *go, *replayed;
    nf_trace_replay_result res;
    int rc;
} copy;

static void *run_copy(void *v)
{
    copy *c = v;
    nf_trace_replay *r = nf_trace_replay_start(c->t, c->mem, &c->o);
    pthread_barrier_wait(c->go); /* every copy's tables are ready */
    if (r)
        nf_trace_replay_step(r, c->t->nevents);
    pthread_barrier_wait(c->replayed); /* at_end runs between the two */
    pthread_barrier_wait(c->replayed);
    c->rc = r ? nf_trace_replay_finish(r, &c->res) : -1;
    return NULL;
}

int nf_trace_bench(const nf_trace *t, const nf_mem_api *mem, unsigned threads, int verify, void (*at_end)(void *arg),
                   void *arg, nf_trace_replay_result *out)
{
    if (threads < 1)
        threads = 1;
    copy *c = calloc(threads, sizeof *c);
    pthread_t *tid = calloc(threads, sizeof *tid);
    pthread_barrier_t go, replayed;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!c || !tid) {
        free(c);
        free(tid);
        return -1;
    }
    pthread_barrier_init(&go, NULL, threads);
    pthread_barrier_init(&replayed, NULL, threads + 1);
    unsigned started = 0;
    for (unsigned i = 0; i < threads; i++) {
        c[i] = (copy){.t = t,
                      .mem = mem,
                      .o = {verify ? NF_TRACE_TOUCH_FULL : NF_TRACE_TOUCH_PAGES, 1},
                      .go = &go,
                      .replayed = &replayed};
        if (pthread_create(&tid[i], NULL, run_copy, &c[i]) != 0)
            abort(); /* the barrier counts on every thread */
        started++;
    }
    pthread_barrier_wait(&replayed);
    if (at_end)
        at_end(arg);
    pthread_barrier_wait(&replayed);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        nf_trace_replay_result *r = &c[i].res;
        for (unsigned k = 0; k < NF_TRACE_NOPS; k++)
            out->calls[k] += r->calls[k];
        out->events += r->events;
        out->failed += r->failed;
        out->extra += r->extra;
        out->checksum += r->checksum;
        out->corrupt += r->corrupt;
        out->misaligned += r->misaligned;
        out->not_zeroed += r->not_zeroed;
        out->peak_live_bytes += r->peak_live_bytes;
        out->end_live_bytes += r->end_live_bytes;
        if (r->seconds > out->seconds)
            out->seconds = r->seconds;
        rc |= c[i].rc;
    }
    pthread_barrier_destroy(&go);
    pthread_barrier_destroy(&replayed);
    free(c);
    free(tid);
    return rc ? -1 : 0;
}
