/* tests/shim/probe.c: a program of test benches that exercise each part
 * of the C shim; tests/shim/shim_test.sh runs it and checks the JSON.
 * Each bench leaves a figure that only a working shim can produce. */
#include "notfree/bench.h"
#include "notfree/context.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* Args + ArgNames + range(i): counter sum = a + b. */
static void t_args(nf_state *st, void *user)
{
    (void)user;
    NF_BENCH_LOOP(st) nf_clobber_memory();
    nf_state_counter(st, "sum", (double)(nf_state_range(st, 0) + nf_state_range(st, 1)), NF_COUNTER_DEFAULT);
}

/* The user pointer arrives; counter flags are applied by libbenchmark. */
static void t_counters(nf_state *st, void *user)
{
    int64_t n = 0;
    NF_BENCH_LOOP(st)
    {
        n++;
        nf_do_not_optimize(n);
    }
    nf_state_counter(st, "user", (double)*(const int *)user, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "per_iter", 2.0 * (double)n, NF_COUNTER_AVG_ITERATIONS);
    nf_state_counter(st, "inverted", 4.0, NF_COUNTER_INVERT);
    nf_state_counter(st, "loops", (double)n, NF_COUNTER_DEFAULT);
    nf_state_items_processed(st, n * 10);
    nf_state_bytes_processed(st, n * 4096);
    nf_state_label(st, "probe-label");
}

/* Manual time: every iteration reports exactly 1 ms. */
static void t_manual(nf_state *st, void *user)
{
    (void)user;
    NF_BENCH_LOOP(st) nf_state_set_iteration_time(st, 0.001);
}

/* PauseTiming: a 20 ms sleep outside the timed region per iteration. */
static void t_pause(nf_state *st, void *user)
{
    (void)user;
    NF_BENCH_LOOP(st)
    {
        nf_state_pause(st);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        nf_state_resume(st);
    }
}

/* Threads: each thread reports its index; the shim pinned it. */
static void t_threads(nf_state *st, void *user)
{
    (void)user;
    NF_BENCH_LOOP(st) nf_clobber_memory();
    nf_state_counter(st, "index_sum", (double)nf_state_thread_index(st), NF_COUNTER_DEFAULT);
    nf_state_counter(st, "nthreads", (double)nf_state_threads(st), NF_COUNTER_AVG_THREADS);
}

/* Range: counter n = the one argument. */
static void t_range(nf_state *st, void *user)
{
    (void)user;
    NF_BENCH_LOOP(st) nf_clobber_memory();
    nf_state_counter(st, "n", (double)nf_state_range(st, 0), NF_COUNTER_DEFAULT);
}

/* Asking for an argument the bench lacks ends the run with an error. */
static void t_badrange(nf_state *st, void *user)
{
    (void)user;
    nf_state_counter(st, "n", (double)nf_state_range(st, 3), NF_COUNTER_DEFAULT);
    NF_BENCH_LOOP(st) nf_clobber_memory();
}

static void t_skip(nf_state *st, void *user)
{
    (void)user;
    nf_state_skip_with_error(st, "probe: skipped on purpose");
    NF_BENCH_LOOP(st) nf_clobber_memory();
}

/* Slow on purpose: the interrupt tests signal the run while it sleeps
 * here, after t/args has finished. */
static void t_slow(nf_state *st, void *user)
{
    (void)user;
    NF_BENCH_LOOP(st)
    {
        for (int i = 0; i < 3000; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

static double stat_max(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

int main(int argc, char **argv)
{
    static const int user_value = 1234;
    static const int64_t ab[] = {3, 5};
    static const char *const names[] = {"a", "b"};
    nf_bench *b = nf_bench_register("t/args", t_args, NULL);
    nf_bench_args(b, ab, 2);
    nf_bench_arg_names(b, names, 2);
    nf_bench_iterations(b, 10);

    b = nf_bench_register("t/counters", t_counters, (void *)&user_value);
    nf_bench_iterations(b, 1000);

    b = nf_bench_register("t/manual", t_manual, NULL);
    nf_bench_use_manual_time(b);
    nf_bench_unit(b, NF_UNIT_MS);
    nf_bench_iterations(b, 5);

    b = nf_bench_register("t/pause", t_pause, NULL);
    nf_bench_use_real_time(b);
    nf_bench_unit(b, NF_UNIT_MS);
    nf_bench_iterations(b, 3);

    b = nf_bench_register("t/threads", t_threads, NULL);
    nf_bench_thread_range(b, 1, 2);
    nf_bench_iterations(b, 100);

    b = nf_bench_register("t/stats", t_manual, NULL);
    nf_bench_use_manual_time(b);
    nf_bench_repetitions(b, 3);
    nf_bench_iterations(b, 2);
    nf_bench_statistic(b, "max", stat_max);

    b = nf_bench_register("t/range", t_range, NULL);
    nf_bench_range_multiplier(b, 4);
    nf_bench_range(b, 1, 16);
    nf_bench_min_time(b, 0.01);

    nf_bench_register("t/skip", t_skip, NULL);
    nf_bench_arg(nf_bench_register("t/badrange", t_badrange, NULL), 1);

    nf_bench_iterations(nf_bench_register("t/slow", t_slow, NULL), 1);

    nf_context_unavailable("t/never", "probe: this bench is listed as unavailable on purpose");
    return nf_bench_main(argc, argv);
}
