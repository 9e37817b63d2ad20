/* notfree/bench.h: the C face of Google Benchmark.
 *
 * Glossary
 *   bench   one registered benchmark family (a name, a C function, a user
 *           pointer, and its arguments); libbenchmark expands it into
 *           instances such as "fault/first_touch_write/64/manual_time".
 *   state   the per-thread, per-instance run state handed to the function.
 *   batch   a run of iterations the C loop executes without calling into
 *           C++: the measured loop costs one call per batch, not per
 *           iteration (see NF_BENCH_LOOP).
 *
 * Every entry point catches C++ exceptions: a failure inside libbenchmark
 * becomes SkipWithError on the state, or a clear abort for registration.
 */
#ifndef NOTFREE_BENCH_H
#define NOTFREE_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nf_bench nf_bench; /* a registered family (benchmark::internal::Benchmark) */
typedef struct nf_state nf_state; /* benchmark::State */
typedef void (*nf_bench_fn)(nf_state *st, void *user);
/* A custom statistic over the repetitions' values (mean, median, ...). */
typedef double (*nf_stat_fn)(const double *values, size_t n);

typedef enum nf_unit { NF_UNIT_NS, NF_UNIT_US, NF_UNIT_MS, NF_UNIT_S } nf_unit;

/* Counter flags: the same bits as benchmark::Counter::Flags. */
enum {
    NF_COUNTER_DEFAULT = 0,
    NF_COUNTER_RATE = 1 << 0,           /* divided by the run's duration */
    NF_COUNTER_AVG_THREADS = 1 << 1,    /* divided by the number of threads */
    NF_COUNTER_ITER_INVARIANT = 1 << 2, /* multiplied by the iterations */
    NF_COUNTER_AVG_ITERATIONS = 1 << 3, /* divided by the iterations */
    NF_COUNTER_INVERT = 1 << 31,        /* 1/x, applied last */
};

/* ---- registration (call before nf_bench_main) ---- */
nf_bench *nf_bench_register(const char *name, nf_bench_fn fn, void *user);
nf_bench *nf_bench_arg(nf_bench *b, int64_t x);
nf_bench *nf_bench_args(nf_bench *b, const int64_t *xs, size_t n);
nf_bench *nf_bench_range(nf_bench *b, int64_t lo, int64_t hi);
nf_bench *nf_bench_range_multiplier(nf_bench *b, int multiplier);
/* ranges: n pairs {lo, hi}, the cartesian product of their powers of 8 */
nf_bench *nf_bench_ranges(nf_bench *b, const int64_t (*lohi)[2], size_t n);
nf_bench *nf_bench_arg_name(nf_bench *b, const char *name);
nf_bench *nf_bench_arg_names(nf_bench *b, const char *const *names, size_t n);
nf_bench *nf_bench_threads(nf_bench *b, int n);
nf_bench *nf_bench_thread_range(nf_bench *b, int lo, int hi);
nf_bench *nf_bench_min_time(nf_bench *b, double seconds);
nf_bench *nf_bench_iterations(nf_bench *b, int64_t n);
nf_bench *nf_bench_repetitions(nf_bench *b, int n);
nf_bench *nf_bench_use_real_time(nf_bench *b);
nf_bench *nf_bench_use_manual_time(nf_bench *b);
nf_bench *nf_bench_unit(nf_bench *b, nf_unit u);
/* At most NF_STAT_MAX custom statistics in one process. */
#define NF_STAT_MAX 16
nf_bench *nf_bench_statistic(nf_bench *b, const char *name, nf_stat_fn fn);

/* ---- inside the bench function ---- */
/* Iterations to run now; 0 when the run is over (or was skipped). */
uint64_t nf_state_batch(nf_state *st);
/* The measured loop: `break` leaves only the inner loop; use
 * nf_state_skip_with_error and `return` to stop early. */
#define NF_BENCH_LOOP(st)                                           \
    for (uint64_t nf_n_, nf_i_; (nf_n_ = nf_state_batch(st)) != 0;) \
        for (nf_i_ = 0; nf_i_ < nf_n_; nf_i_++)

int64_t nf_state_range(const nf_state *st, size_t i);
int nf_state_thread_index(const nf_state *st);
int nf_state_threads(const nf_state *st);
int64_t nf_state_iterations(const nf_state *st); /* completed so far */
void nf_state_pause(nf_state *st);               /* PauseTiming */
void nf_state_resume(nf_state *st);              /* ResumeTiming */
void nf_state_set_iteration_time(nf_state *st, double seconds);
void nf_state_counter(nf_state *st, const char *name, double value, int flags);
void nf_state_items_processed(nf_state *st, int64_t n);
void nf_state_bytes_processed(nf_state *st, int64_t n);
void nf_state_label(nf_state *st, const char *label);
void nf_state_skip_with_error(nf_state *st, const char *msg);
int nf_state_error_occurred(const nf_state *st);

/* ---- optimisation barriers: what benchmark::DoNotOptimize and
 * ClobberMemory do, for C (GCC and Clang inline asm). ---- */
#define nf_do_not_optimize(v) __asm__ volatile("" : : "r,m"(v) : "memory")
#define nf_do_not_optimize_ptr(p) __asm__ volatile("" : "+r"(p) : : "memory")
static inline void nf_clobber_memory(void) { __asm__ volatile("" : : : "memory"); }

/* ---- results, as each run ends (for summaries and progress) ---- */
typedef struct nf_run_counter {
    const char *name;
    double value; /* after libbenchmark's flags were applied */
} nf_run_counter;

typedef struct nf_run_result {
    const char *name;      /* as emitted: "fault/populate/manual_time" */
    const char *aggregate; /* "" for one repetition, else "mean", "median", ... */
    const char *time_unit; /* "ns", "us", "ms", "s" */
    double real_time;      /* per iteration, in time_unit */
    double cpu_time;
    int64_t iterations;
    int64_t threads;
    int64_t repetition_index; /* -1 when not repeated */
    const char *label;
    int error;
    const char *error_message;
    size_t ncounters;
    const nf_run_counter *counters;
} nf_run_result;

typedef void (*nf_run_cb)(const nf_run_result *r, void *user);
/* Called for every run reported (iterations and aggregates), in order. */
void nf_bench_on_run(nf_run_cb cb, void *user);
/* Print "[k/N] name (elapsed)" to stderr as each bench instance ends. */
void nf_bench_set_progress(int on);

/* Called once nf_bench_main has parsed every flag and resolved the
 * benches to run (n of them), before it creates any file: a command that
 * must prepare (create a results directory) does it here, so that a bad
 * flag or filter leaves nothing behind. A non-zero return ends
 * nf_bench_main with that status, running nothing. */
typedef int (*nf_ready_cb)(size_t nbenches, void *user);
void nf_bench_on_ready(nf_ready_cb cb, void *user);

/* ---- running ----
 * Parses libbenchmark's flags and ours (--pin=CPU, --list, --help), runs
 * the registered benches pinned, and returns the process exit status:
 * 0 when every bench ran, 1 when one errored, the filter matched nothing
 * or --benchmark_out cannot be written, 2 on a bad flag (an invalid
 * --benchmark_filter regex among them). --benchmark_out is written
 * through notfree/outfile.h: a temporary file renamed at the end, closed
 * as a valid file marked "partial": true on SIGINT, SIGTERM or SIGHUP. */
int nf_bench_main(int argc, char **argv);

/* Registration hook for bench files: each bench file defines one
 * constructor-free function listed in benches/registry.c. */
typedef void (*nf_bench_registrar)(void);

#ifdef __cplusplus
}
#endif
#endif
