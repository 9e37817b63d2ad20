/* compare/compare.h: the comparison library behind `notfree compare`
 * (cli/cmd_compare.c parses the flags; this library plans, runs and
 * reports), also used by `notfree check`, `notfree run` and the tests.
 * One concept per file:
 *   alloc.c     which allocators: known names, NAME=/path.so, the library
 *               path and the Debian package behind each
 *   locate.c    where the worker, the probe, the drop-ins and the chart
 *               scripts are, in the build tree or the install tree
 *   ismalloc.c  is a library really the malloc (EXE --whoami under it)
 *   plan.c      the session from the options: allocators, workloads,
 *               threads, the worker, the results file
 *   session.c   the runs, in their order, with counting and verification
 *   run.c       one timed run of the worker under LD_PRELOAD, with a
 *               timeout (killed past it), wait4 rusage, steal
 *   syscalls.c  the system-call counter (seccomp filter + ptrace)
 *   summary.c   the one aggregation: medians, spreads, the baseline and
 *               the ratios, which the table, the JSON and the charts use
 *   table.c     the terminal table
 *   json.c      results/compare-<host>-<stamp>.json (jansson), rewritten
 *               atomically after every run
 *   trace.c     --trace FILE: a recorded trace as one more workload
 *   worker.c    notfree-workload, the program each run executes
 *   owner.c     inside it: which library serves malloc (owner.h)
 *   timeline.c  RSS and VSZ over a run, sampled by the parent (timeline.h)
 *   latency.c   the run's malloc and free latency histograms (latency.h),
 *               sampled in the worker by lat_sampler.c
 *
 * Glossary
 *   worker   notfree-workload, the small program each run executes (built
 *            in compare/, installed beside notfree); it runs one workload through the
 *            process's malloc and prints one line.
 *   run      one execution of the worker: one allocator, one workload, one
 *            thread count, one repetition.
 *   count    the separate, untimed execution that counts system calls for
 *            an (allocator, workload, threads) triple; its counts go into
 *            every run of that triple.
 *   verify   the separate, untimed execution (worker --verify) that fills
 *            every byte of every block and checks all of it at free; when
 *            it finds a damaged byte, every run of its triple is not ok.
 */
#ifndef NOTFREE_COMPARE_COMPARE_H
#define NOTFREE_COMPARE_COMPARE_H

#include "latency.h"
#include "timeline.h"

#include <limits.h>
#include <stdio.h>

/* The system calls counted, in this order everywhere. */
enum { NF_CMP_NSYS = 6 };
extern const char *const nf_cmp_sys_names[NF_CMP_NSYS];

typedef struct nf_cmp_alloc {
    char name[64];
    char path[PATH_MAX]; /* the allocator's library (glibc: libc.so.6) */
    int preload;         /* preload path (0 for glibc) */
    char package[64];    /* the Debian package, or "notfree" / "user" */
    char version[64];    /* dpkg-query's, or "" */
    int available;
    char reason[PATH_MAX + 128]; /* why not available: what to install or build */
} nf_cmp_alloc;

/* The names `--allocators` knows, in the default order. */
extern const char *const nf_cmp_known[];
extern const unsigned nf_cmp_nknown;

/* Resolves one list item (a known name or NAME=/path/to/lib.so) into *a;
 * a missing library is available = 0 with the reason (for NAME=/path: the
 * dlopen error, tried in a child). Returns -1 (and a message in err) when
 * the item is neither. */
int nf_cmp_alloc_resolve(const char *item, nf_cmp_alloc *a, char *err, size_t errlen);
/* nf_cmp_is_malloc(worker, a's library): 0 yes (or a is not preloaded),
 * 1 no (the reason in err: not an allocator), -1 could not tell. */
int nf_cmp_alloc_probe(const char *worker, const nf_cmp_alloc *a, char *err, size_t errlen);

/* ---- is this library the malloc (ismalloc.c) ---- */
/* Runs `exe --whoami path` under LD_PRELOAD=path (exe: notfree-workload
 * or notfree-probe). 0: malloc resolves into path; 1: it does not, or path
 * does not load (why: the dynamic linker's reason, or where malloc
 * resolves instead); -1: exe gave no answer within timeout_s (why). */
int nf_cmp_is_malloc(const char *exe, const char *path, double timeout_s, char *why, size_t len);

/* ---- where notfree's pieces are (locate.c) ---- */
/* The directory of the running notfree binary (the build or bin dir). */
void nf_cmp_exe_dir(char *buf, size_t len);
/* A program of notfree's (name), from the environment variable env when
 * set, else <exe dir>/<build_subdir>/name (build tree), else beside the
 * binary (install tree). 0 found (path in buf); -1 not found (buf: the
 * build-tree path, or env's). */
int nf_cmp_locate_program(const char *name, const char *build_subdir, const char *env, char *buf, size_t len);
/* Is name a drop-in of ours (a registered allocator with a process-wide
 * heap, built as libnotfree-<name>.so)? */
int nf_cmp_is_dropin(const char *name);
/* libnotfree-<name>.so in the build tree, else the install tree's libdir.
 * 0 found; -1 not (buf: the build-tree path). */
int nf_cmp_locate_dropin(const char *name, char *buf, size_t len);
/* A library of ours (file) in the build tree's build_subdir, else the
 * install tree's libdir. 0 found; -1 not (buf: the build-tree path). */
int nf_cmp_locate_library(const char *file, const char *build_subdir, char *buf, size_t len);
/* The chart scripts' directory ($NOTFREE_PLOTS_DIR, the installed
 * share/notfree/plots, the source tree's plots). 0 found; -1 not. */
int nf_cmp_locate_plots(char *buf, size_t len);

/* One execution of the worker. */
typedef struct nf_cmp_job {
    const char *worker; /* path of notfree-workload */
    const nf_cmp_alloc *alloc;
    const char *workload;
    unsigned threads;
    unsigned long long ops; /* per thread */
    double timeout_s;
    int verify;                /* the verification run (worker --verify) */
    nf_cmp_timeline *timeline; /* RSS sampled into it (timeline.h); NULL: not sampled */
    unsigned latency_every;    /* worker --latency-every (latency.h); 0: not sampled */
    const char *trace;         /* a trace workload: the file (worker --trace), else NULL */
} nf_cmp_job;

typedef struct nf_cmp_result {
    int ok;
    char error[512];
    double wall_s, cpu_s, ops_per_s, steal_s, seconds;
    long peak_rss_kib; /* the worker's VmHWM; -1 when it did not say */
    long final_rss_kib, minflt, majflt;
    unsigned long long ops;
    unsigned long long bad_offset, bad_size; /* verify: the first damaged block (size 0: none) */
    int disturbed;                           /* steal_s > NF_CMP_STEAL_FRACTION * wall_s */
    double t_start, t_end;                   /* the workload's window (worker's CLOCK_MONOTONIC); 0 0 unknown */
    nf_cmp_latency latency;                  /* latency.have: sampled */
} nf_cmp_result;

#define NF_CMP_STEAL_FRACTION 0.05

/* The worker's argv for j (numbers formatted into bufs: 3 of them). */
void nf_cmp_argv(const nf_cmp_job *j, char **argv, size_t cap, char bufs[][64]);
/* In a child before exec: LD_PRELOAD set to preload, or removed when
 * NULL (glibc); MALLOC_PERTURB_ and NOTFREE_STATS removed; the child
 * is killed if notfree dies. */
void nf_cmp_child_env(const char *preload);
/* Parses the worker's line into r (ops, seconds, final and peak RSS, the
 * first damaged block); returns the number of the seven required fields
 * read (7 when complete), with corrupt/failed/mapped. */
int nf_cmp_parse_line(const char *line, nf_cmp_result *r, unsigned long long *corrupt, unsigned long long *failed,
                      int *mapped);

/* A timed run; fills r (r->ok, r->error). Returns 0 when the run ended
 * (whatever its verdict), -1 when it could not be started. */
int nf_cmp_run(const nf_cmp_job *j, nf_cmp_result *r);

/* Counts the system calls of argv (run with envp) between its two marker
 * calls (getppid, which the worker makes before it starts the workload
 * and after its last round; the whole process when it makes none),
 * with preload as in nf_cmp_child_env.
 * counts[] by nf_cmp_sys_names; *out_line gets the child's first stdout
 * line when out_line is not NULL. Returns 0, or -1 with a reason in err. */
int nf_cmp_count_syscalls(char *const argv[], const char *preload, double timeout_s, long long counts[NF_CMP_NSYS],
                          char *out_line, size_t out_len, char *err, size_t errlen);
/* The method, for the JSON context and the help. */
extern const char nf_cmp_syscall_method[];

/* ---- a comparison: its runs (session.c) ---- */
typedef struct nf_cmp_record {
    unsigned alloc, workload, threads, rep; /* alloc, workload: indexes */
    nf_cmp_result r;
    int counted; /* syscalls filled */
    long long syscalls[NF_CMP_NSYS];
    unsigned long long count_ops; /* ops of the counting run */
    int verified;                 /* the verification run of this triple ran here */
    nf_cmp_result verify;         /* its result (verify.ok, error, bad_offset) */
    int sampled;                  /* timeline holds this record's samples: */
    nf_cmp_timeline timeline;     /* its own run's (--timeline), else its verification run's */
} nf_cmp_record;

typedef struct nf_cmp_session {
    nf_cmp_alloc *allocs;
    unsigned nallocs;
    const char **workloads;
    unsigned long long *ops; /* per workload, per thread */
    unsigned nworkloads;
    unsigned *threads;
    unsigned nthreads;
    unsigned reps;
    double timeout_s;
    int timeline;           /* --timeline: the timed runs sampled too */
    unsigned latency_every; /* latency.h; 0: no latency sampling */
    nf_cmp_record *recs;
    unsigned nrecs;
    char count_error[256]; /* why syscalls are missing, if they are */
    char warnings[4][256];
    unsigned nwarnings;
    const char *trace; /* --trace FILE: the last workload replays it; else NULL */
} nf_cmp_session;

/* ---- the one aggregation (summary.c) ---- */
/* One (allocator, workload, threads) cell over its repetitions. Medians
 * are over the runs that ended ok (n of them); spread is (max - min) /
 * median of ops/s. The ratios are over the baseline's cell of the same
 * workload and threads: time = baseline ops/s over this one's (above 1:
 * slower), peak = this peak RSS over the baseline's; NAN when either side
 * has no ok run (or a zero). */
typedef struct nf_cmp_cell {
    unsigned alloc, workload, threads; /* alloc, workload: indexes; threads: the count */
    int n, failed, disturbed;
    double ops_per_s, spread, peak_kib, final_kib, minflt;
    double time_ratio, peak_ratio;
    /* Latency (latency.h) of the ok runs' samples together, and the
     * medians of the timeline figures (timeline.h) over the ok runs; NAN
     * when there are none. */
    double lat_p99_ns, lat_max_ns, mean_rss_kib, above90;
    const char *error;            /* the last failed run's, when failed */
    const nf_cmp_record *counted; /* the counting run's record, or NULL */
} nf_cmp_cell;

/* The baseline is glibc when it is available, else the first available
 * allocator. cells: every available allocator's cell that has a run,
 * by workload, then thread count, then allocator (the table's order). */
typedef struct nf_cmp_summary {
    int has_baseline;
    unsigned baseline; /* index into the session's allocs */
    nf_cmp_cell *cells;
    unsigned ncells;
} nf_cmp_summary;

/* 0, or -1 (out of memory; *out empty). */
int nf_cmp_summarize(const nf_cmp_session *s, nf_cmp_summary *out);
void nf_cmp_summary_free(nf_cmp_summary *sum);
/* System calls of kind k per million operations in c, or NAN when not counted. */
double nf_cmp_cell_per_mop(const nf_cmp_cell *c, unsigned k);
/* The malloc and free samples of c's ok runs together into *all (latency.c);
 * returns how many runs had samples. */
int nf_cmp_cell_latency(const nf_cmp_session *s, const nf_cmp_cell *c, nf_hist *all);
/* The record whose timeline stands for r's run (timeline.c): r itself when
 * its own run was sampled (--timeline), else its triple's verification
 * run's, kept in the first repetition's record; NULL when there is none. */
const nf_cmp_record *nf_cmp_timeline_of(const nf_cmp_session *s, const nf_cmp_record *r);

/* ---- reports ---- */
void nf_cmp_table(FILE *f, const nf_cmp_session *s);
/* Writes the session ({context, runs, summary}) to path atomically. */
int nf_cmp_write_json(const char *path, const nf_cmp_session *s);

/* ---- plan and run (plan.c, session.c) ---- */
/* What `notfree compare` was asked (the CLI parses the flags into it). */
typedef struct nf_cmp_options {
    const char *allocators, *workloads, *threads; /* comma lists; NULL: the defaults */
    const char *out;                              /* the JSON file; NULL: results/compare-<host>-<stamp>.json */
    const char *results;                          /* the directory for the default name */
    unsigned reps;
    double timeout_s, scale;
    int timeline;           /* --timeline */
    unsigned latency_every; /* --latency-every (0: off) */
    const char *trace;      /* a trace file added as the workload trace:<name>; NULL: none */
} nf_cmp_options;

/* A planned comparison: the session and the storage it points into. */
typedef struct nf_cmp_plan {
    nf_cmp_session s;
    unsigned navail; /* allocators available */
    char worker[PATH_MAX];
    char path[PATH_MAX]; /* the JSON file */
    const char *wnames[64];
    unsigned long long wops[64];
    unsigned threads[32];
    char lists[3][1024];  /* the lists, split in place */
    char trace_name[256]; /* "trace:<file name>" */
} nf_cmp_plan;

/* A whole number from lo to hi (no sign, nothing after it) into *out;
 * 0, or -1. */
int nf_cmp_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* Plans o into p: resolves and checks the allocators (a NAME=/path that
 * does not load or is not an allocator is refused), the workloads and
 * their operations, the threads, the worker, the results file. Names the
 * unavailable allocators and the warnings on stderr. Returns 0; 2 bad
 * input (err, and *hint set when --help would help); 1 cannot run (err:
 * nothing available, the results directory). nf_cmp_plan_free after. */
int nf_cmp_plan_make(const nf_cmp_options *o, nf_cmp_plan *p, char *err, size_t len, int *hint);
/* --trace FILE (trace.c): loads and checks it; its workload's name
 * ("trace:<file name>") into name, its operations per thread (the
 * trace's events: --scale does not apply) into *ops. 0; 2 not a valid
 * trace (err, with the byte offset). */
int nf_cmp_plan_trace(const char *path, char *name, size_t namelen, unsigned long long *ops, char *err, size_t len);
void nf_cmp_plan_free(nf_cmp_plan *p);
/* Runs every run of the plan in order, the JSON rewritten after each,
 * progress on stderr. Returns 0 every run ok, 1 one failed, -1 the JSON
 * could not be written at the start (errno). */
int nf_cmp_session_run(nf_cmp_plan *p);

/* ---- the entry for `notfree run` ---- */
/* A quick comparison (every available allocator, three workloads, one and
 * two threads, one repetition, short runs) under results_dir, with its
 * table and charts: well under 3 minutes on 2 cores. Returns 0 when every
 * run ended ok, 1 when one failed, 2 when it could not run. */
int nf_compare_quick(const char *results_dir);

#endif
