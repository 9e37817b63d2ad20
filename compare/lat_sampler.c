/* compare/lat_sampler.c: the sampling memory interface of the worker
 * (lat_sampler.h). Each worker thread takes a pair of histograms (malloc,
 * free) from a pool made before the run, on its first sample, so the
 * measured path never allocates. The counter's ticks become ns through a
 * 32.32 fixed-point factor calibrated against CLOCK_MONOTONIC. */
#include "lat_sampler.h"

#include "notfree/clock.h"
#include "notfree/histogram.h"

#include <stdlib.h>

enum { KIND_MALLOC, KIND_FREE };

static unsigned every;
static uint64_t ns_per_tick_q32; /* ns per tick << 32 */
static double sample_ns;
static double pair_plain_ns, pair_sampled_ns; /* measure_overhead's */
static nf_hist *pool;                         /* 2 per thread: malloc, free */
static unsigned pool_threads, pool_taken;

typedef struct lat_thread {
    nf_hist *h;       /* this thread's pair, or NULL before its first sample */
    unsigned left[2]; /* calls until the next sample, per kind (0: this one) */
    uint64_t rng;
    int started, overflow;
} lat_thread;

/* left starts at 1: a thread's first call of each kind takes the slow
 * path, which sets its gaps. */
static __thread lat_thread me = {.left = {1, 1}};

static unsigned next_gap(void)
{
    me.rng ^= me.rng << 13; /* xorshift64: a fresh gap per sample only */
    me.rng ^= me.rng >> 7;
    me.rng ^= me.rng << 17;
    return every / 2 + (unsigned)(me.rng % every) + 1; /* >= 1 */
}

/* The first call of a thread: its gaps (a thread-specific seed) and later
 * its histograms. */
static void thread_start(void)
{
    me.started = 1;
    me.rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&me;
    me.left[0] = next_gap();
    me.left[1] = next_gap();
}

static inline uint64_t to_ns(uint64_t ticks) { return (uint64_t)(((unsigned __int128)ticks * ns_per_tick_q32) >> 32); }

__attribute__((noinline)) static void record(unsigned kind, uint64_t ticks)
{
    if (!me.h && !me.overflow) {
        unsigned k = __atomic_fetch_add(&pool_taken, 1, __ATOMIC_RELAXED);
        if (k < pool_threads)
            me.h = &pool[2 * k];
        else
            me.overflow = 1; /* more threads than planned: their calls go unsampled */
    }
    if (me.h)
        nf_hist_record(&me.h[kind], to_ns(ticks));
    me.left[kind] = next_gap();
}

/* The slow paths: a thread's first call (its gaps), then every sample. */
__attribute__((noinline)) static void *malloc_sampled(size_t n)
{
    if (!me.started) {
        thread_start();
        return malloc(n);
    }
    uint64_t a = nf_ticks();
    void *p = malloc(n);
    uint64_t b = nf_ticks();
    record(KIND_MALLOC, b - a);
    return p;
}

__attribute__((noinline)) static void free_sampled(void *p)
{
    if (!me.started) {
        thread_start();
        free(p);
        return;
    }
    uint64_t a = nf_ticks();
    free(p);
    uint64_t b = nf_ticks();
    record(KIND_FREE, b - a);
}

/* The fast paths: one decrement of a thread-local count (a sub on
 * memory that sets the flags) and the call. */
static void *s_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (__builtin_expect(--me.left[KIND_MALLOC] != 0, 1))
        return malloc(n);
    return malloc_sampled(n);
}

static void s_free(void *ctx, void *p)
{
    (void)ctx;
    if (__builtin_expect(--me.left[KIND_FREE] != 0, 1)) {
        free(p);
        return;
    }
    free_sampled(p);
}

static void s_trim(void *ctx) { nf_mem_libc.trim(ctx); }
static void *s_realloc(void *ctx, void *p, size_t n) { return nf_mem_libc.realloc(ctx, p, n); }
static void *s_calloc(void *ctx, size_t n, size_t size) { return nf_mem_libc.calloc(ctx, n, size); }
static void *s_memalign(void *ctx, size_t a, size_t n) { return nf_mem_libc.memalign(ctx, a, n); }

static const nf_mem_api sampled = {
    .malloc = s_malloc,
    .free = s_free,
    .trim = s_trim,
    .ctx = NULL,
    .realloc = s_realloc,
    .calloc = s_calloc,
    .memalign = s_memalign,
};

/* ns per tick over about 5 ms of spinning on both clocks. */
static void calibrate(void)
{
    double n0 = nf_now_ns();
    uint64_t k0 = nf_ticks();
    double n1;
    while ((n1 = nf_now_ns()) - n0 < 5e6)
        ;
    uint64_t k1 = nf_ticks();
    double per = k1 > k0 ? (n1 - n0) / (double)(k1 - k0) : 1;
    ns_per_tick_q32 = (uint64_t)(per * 4294967296.0);
}

static __attribute__((noinline)) void empty_call(void) { __asm__ __volatile__("" ::: "memory"); }

/* What one sample adds: the counter pair and the record around an empty
 * call, the median of 15 batches of 1000. */
static void measure_sample_cost(void)
{
    nf_hist h;
    double batch[15];
    for (int b = 0; b < 15; b++) {
        nf_hist_init(&h);
        double t0 = nf_now_ns();
        for (int i = 0; i < 1000; i++) {
            uint64_t a = nf_ticks();
            empty_call();
            uint64_t c = nf_ticks();
            nf_hist_record(&h, to_ns(c - a));
        }
        batch[b] = (nf_now_ns() - t0) / 1000;
    }
    for (int i = 1; i < 15; i++) /* insertion sort of 15 */
        for (int j = i; j > 0 && batch[j] < batch[j - 1]; j--) {
            double x = batch[j];
            batch[j] = batch[j - 1];
            batch[j - 1] = x;
        }
    sample_ns = batch[7];
}

/* ns per malloc(64) + free pair through api, best of the blocks. */
static double pair_ns(const nf_mem_api *api, double best)
{
    enum { PAIRS = 20000 };
    double t0 = nf_now_ns();
    for (int i = 0; i < PAIRS; i++) {
        void *p = api->malloc(api->ctx, 64);
        __asm__ __volatile__("" : : "r"(p) : "memory");
        api->free(api->ctx, p);
    }
    double ns = (nf_now_ns() - t0) / PAIRS;
    return ns < best ? ns : best;
}

/* The overhead measured: malloc(64) + free pairs, the cheapest op an
 * allocator has, through the plain interface and the sampling one in
 * alternating blocks, the best block of each (the least disturbed on a
 * shared box). This thread's samples are dropped after; its histograms
 * are the pool's last pair, beyond the workload threads'. */
static void measure_overhead(void)
{
    enum { BLOCKS = 25 };
    double plain = 1e30, sampled_best = 1e30;
    for (int b = 0; b < BLOCKS; b++) { /* which goes first alternates too */
        if (b % 2)
            plain = pair_ns(&nf_mem_libc, plain);
        sampled_best = pair_ns(&sampled, sampled_best);
        if (b % 2 == 0)
            plain = pair_ns(&nf_mem_libc, plain);
    }
    pair_plain_ns = plain;
    pair_sampled_ns = sampled_best;
    if (me.h) {
        nf_hist_init(&me.h[0]);
        nf_hist_init(&me.h[1]);
    }
}

const nf_mem_api *nf_lat_sampler_start(unsigned n, unsigned threads)
{
    every = n ? n : 1;
    pool_threads = threads + 1; /* + this thread's, taken by measure_overhead */
    pool = calloc(2 * (size_t)pool_threads, sizeof *pool);
    if (!pool)
        return NULL;
    calibrate();
    measure_sample_cost();
    measure_overhead();
    return &sampled;
}

void nf_lat_sampler_print(FILE *f, double threads_s)
{
    nf_hist all[2];
    nf_hist_init(&all[0]);
    nf_hist_init(&all[1]);
    unsigned used = pool_taken < pool_threads ? pool_taken : pool_threads;
    for (unsigned t = 0; t < used; t++)
        for (unsigned k = 0; k < 2; k++)
            nf_hist_merge(&all[k], &pool[2 * t + k]);
    fprintf(f, "latency every=%u sample_ns=%.2f threads_s=%.6f pair_plain_ns=%.3f pair_sampled_ns=%.3f\n", every,
            sample_ns, threads_s, pair_plain_ns, pair_sampled_ns);
    static char buf[1 << 16];
    for (int k = 0; k < 2; k++) {
        nf_hist_format(&all[k], buf, sizeof buf);
        fprintf(f, "latency_%s %s\n", k ? "free" : "malloc", buf);
    }
}
