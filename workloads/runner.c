/* runner.c: the workload registry and the runner: T worker threads driven
 * in rounds through two barriers (start, done), so that between rounds
 * every thread is stopped and a workload may hand data across threads.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wl.h"

extern const nf_workload nf_wl_small_churn;
extern const nf_workload nf_wl_random_mix;
extern const nf_workload nf_wl_larson_like;
extern const nf_workload nf_wl_producer_consumer;
extern const nf_workload nf_wl_false_sharing;
extern const nf_workload nf_wl_fragmentation;
extern const nf_workload nf_wl_large;
extern const nf_workload nf_wl_trim;
extern const nf_workload nf_wl_huge_rewrite;
extern const nf_workload nf_wl_thread_generations;
extern const nf_workload nf_wl_tight_loops;
extern const nf_workload nf_wl_passive_false_sharing;
extern const nf_workload nf_wl_sawtooth;

static const nf_workload *const workloads[] = {
    &nf_wl_small_churn,   &nf_wl_random_mix,         &nf_wl_larson_like, &nf_wl_producer_consumer,
    &nf_wl_false_sharing, &nf_wl_fragmentation,      &nf_wl_large,       &nf_wl_trim,
    &nf_wl_huge_rewrite,  &nf_wl_thread_generations, &nf_wl_tight_loops, &nf_wl_passive_false_sharing,
    &nf_wl_sawtooth,
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

size_t nf_workload_count(void) { return NWORKLOADS; }
const nf_workload *nf_workload_at(size_t i) { return i < NWORKLOADS ? workloads[i] : NULL; }
const char *nf_workload_name(const nf_workload *w) { return w->name; }
const char *nf_workload_description(const nf_workload *w) { return w->description; }
uint64_t nf_workload_default_ops(const nf_workload *w) { return w->default_ops; }

const nf_workload *nf_workload_find(const char *name)
{
    for (size_t i = 0; name && i < NWORKLOADS; i++)
        if (strcmp(workloads[i]->name, name) == 0)
            return workloads[i];
    return NULL;
}

const nf_workload *nf_workload_parse(const char *spec, size_t *size)
{
    *size = 0;
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (!colon)
        return nf_workload_find(spec);
    char name[64];
    size_t n = (size_t)(colon - spec);
    if (n >= sizeof name)
        return NULL;
    memcpy(name, spec, n);
    name[n] = '\0';
    const nf_workload *w = nf_workload_find(name);
    const char *v = colon + 1;
    if (!w || !w->sized || *v < '0' || *v > '9')
        return NULL;
    size_t x = 0;
    for (; *v >= '0' && *v <= '9'; v++) {
        x = x * 10 + (size_t)(*v - '0');
        if (x > NF_WORKLOAD_SIZE_MAX)
            return NULL;
    }
    if (*v || x == 0)
        return NULL;
    *size = x;
    return w;
}

/* ---- the runner ---- */
struct nf_workload_run {
    const nf_workload *w;
    nf_workload_params params;
    nf_mem_api mem;
    unsigned n;
    nf_wl_thread *threads;
    pthread_t *tids;
    pthread_barrier_t start, done;
    uint64_t round_ops; /* written before start, read after it */
    bool quit, init_failed;
};

typedef struct worker_arg {
    nf_workload_run *r;
    unsigned i;
} worker_arg;

static void *worker(void *v)
{
    nf_workload_run *r = ((worker_arg *)v)->r;
    nf_wl_thread *t = &r->threads[((worker_arg *)v)->i];
    if (r->params.pin) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((size_t)t->index % (size_t)(ncpu > 0 ? ncpu : 1), &set);
        sched_setaffinity(0, sizeof set, &set); /* best effort */
    }
    if (!r->w->init(t))
        __atomic_store_n(&r->init_failed, true, __ATOMIC_RELAXED);
    pthread_barrier_wait(&r->done); /* set up */
    for (;;) {
        pthread_barrier_wait(&r->start);
        if (r->quit)
            break;
        if (t->state)
            r->w->step(t, r->round_ops);
        pthread_barrier_wait(&r->done);
    }
    if (t->state)
        r->w->fini(t);
    t->state = NULL;
    return NULL;
}

nf_workload_run *nf_workload_start(const nf_workload *w, const nf_workload_params *p, const nf_mem_api *m)
{
    if (!w || !p || !m || p->threads == 0 || p->threads > 1024) {
        errno = EINVAL;
        return NULL;
    }
    nf_workload_run *r = calloc(1, sizeof *r);
    worker_arg *args = calloc(p->threads, sizeof *args);
    if (!r || !args)
        goto fail;
    r->w = w;
    r->params = *p;
    if (!r->params.seed)
        r->params.seed = 1;
    r->mem = *m;
    r->n = p->threads;
    r->threads = calloc(r->n, sizeof *r->threads);
    r->tids = calloc(r->n, sizeof *r->tids);
    if (!r->threads || !r->tids)
        goto fail;
    pthread_barrier_init(&r->start, NULL, r->n + 1);
    pthread_barrier_init(&r->done, NULL, r->n + 1);
    for (unsigned i = 0; i < r->n; i++) {
        nf_wl_thread *t = &r->threads[i];
        t->index = i;
        t->params = &r->params;
        t->mem = &r->mem;
        t->rng = nf_wl_mix(r->params.seed * 0x100000001b3ULL + i);
        t->next_id = (uint64_t)i << 48;
        args[i] = (worker_arg){r, i};
        if (pthread_create(&r->tids[i], NULL, worker, &args[i]) != 0)
            abort(); /* the barriers count on every thread */
    }
    pthread_barrier_wait(&r->done);
    free(args);
    if (r->init_failed) {
        nf_workload_finish(r, NULL);
        errno = ENOMEM;
        return NULL;
    }
    return r;
fail:
    if (r) {
        free(r->threads);
        free(r->tids);
    }
    free(r);
    free(args);
    errno = ENOMEM;
    return NULL;
}

uint64_t nf_workload_round(nf_workload_run *r, uint64_t ops_per_thread)
{
    uint64_t before = 0, after = 0;
    for (unsigned i = 0; i < r->n; i++)
        before += r->threads[i].ops;
    r->round_ops = ops_per_thread;
    pthread_barrier_wait(&r->start);
    pthread_barrier_wait(&r->done);
    if (r->w->between)
        r->w->between(r->threads, r->n);
    for (unsigned i = 0; i < r->n; i++)
        after += r->threads[i].ops;
    return after - before;
}

int nf_workload_finish(nf_workload_run *r, nf_workload_result *out)
{
    r->quit = true;
    pthread_barrier_wait(&r->start);
    nf_workload_result res = {0};
    for (unsigned i = 0; i < r->n; i++) {
        pthread_join(r->tids[i], NULL);
        res.ops += r->threads[i].ops;
        res.checksum += r->threads[i].checksum;
        res.corrupt += r->threads[i].corrupt;
        res.failed += r->threads[i].failed;
        if (r->threads[i].bad_size && !res.bad_size) {
            res.bad_offset = r->threads[i].bad_offset;
            res.bad_size = r->threads[i].bad_size;
        }
    }
    pthread_barrier_destroy(&r->start);
    pthread_barrier_destroy(&r->done);
    free(r->threads);
    free(r->tids);
    free(r);
    if (out)
        *out = res;
    return res.corrupt || res.failed ? -1 : 0;
}

int nf_workload_run_ops(const nf_workload *w, const nf_workload_params *p, const nf_mem_api *m, uint64_t ops_per_thread,
                        uint64_t round_ops, nf_workload_result *out)
{
    nf_workload_run *r = nf_workload_start(w, p, m);
    if (!r)
        return -1;
    if (!round_ops)
        round_ops = ops_per_thread;
    for (uint64_t done = 0; done < ops_per_thread; done += round_ops)
        nf_workload_round(r, ops_per_thread - done < round_ops ? ops_per_thread - done : round_ops);
    return nf_workload_finish(r, out);
}
