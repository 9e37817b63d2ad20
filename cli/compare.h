/* cli/compare.h: the pieces of `notfree compare` (cmd_compare.c), one
 * concept per file:
 *   compare_alloc.c     which allocators: known names, NAME=/path.so, the
 *                       library path and the Debian package behind each
 *   compare_run.c       one timed run of the worker under LD_PRELOAD, with
 *                       a timeout (killed past it), wait4 rusage, steal
 *   compare_syscalls.c  the system-call counter (seccomp filter + ptrace)
 *   compare_table.c     medians, the terminal table
 *   compare_json.c      results/compare-<host>-<stamp>.json, rewritten
 *                       atomically after every run
 *
 * Glossary
 *   worker   notfree-workload, the small program each run executes (built
 *            beside notfree in cli/); it runs one workload through the
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
#ifndef NOTFREE_CLI_COMPARE_H
#define NOTFREE_CLI_COMPARE_H

#include <limits.h>
#include <stdio.h>

/* The system calls counted, in this order everywhere. */
enum { NF_CMP_NSYS = 6 };
extern const char *const nf_cmp_sys_names[NF_CMP_NSYS];

typedef struct nf_cmp_alloc {
    char name[64];
    char path[PATH_MAX];   /* the allocator's library (glibc: libc.so.6) */
    int preload;           /* preload path (0 for glibc) */
    char package[64];      /* the Debian package, or "notfree" / "user" */
    char version[64];      /* dpkg-query's, or "" */
    int available;
    char reason[PATH_MAX + 128];   /* why not available: what to install or build */
} nf_cmp_alloc;

/* The names `--allocators` knows, in the default order. */
extern const char *const nf_cmp_known[];
extern const unsigned nf_cmp_nknown;

/* Resolves one list item (a known name or NAME=/path/to/lib.so) into *a;
 * a missing library is available = 0 with the reason (for NAME=/path: the
 * dlopen error, tried in a child). Returns -1 (and a message in err) when
 * the item is neither. */
int nf_cmp_alloc_resolve(const char *item, nf_cmp_alloc *a, char *err, size_t errlen);
/* Runs worker --probe under a's preload: does malloc resolve into a's
 * library? Returns 0 yes (or a is not preloaded), 1 no (the worker's reason
 * in err: not an allocator), -1 the probe could not tell (reason in err). */
int nf_cmp_alloc_probe(const char *worker, const nf_cmp_alloc *a, char *err, size_t errlen);
/* The directory of the running notfree binary (the build dir). */
void nf_cmp_exe_dir(char *buf, size_t len);

/* One execution of the worker. */
typedef struct nf_cmp_job {
    const char *worker;          /* path of notfree-workload */
    const nf_cmp_alloc *alloc;
    const char *workload;
    unsigned threads;
    unsigned long long ops;      /* per thread */
    double timeout_s;
    int verify;                  /* the verification run (worker --verify) */
} nf_cmp_job;

typedef struct nf_cmp_result {
    int ok;
    char error[512];
    double wall_s, cpu_s, ops_per_s, steal_s, seconds;
    long peak_rss_kib;           /* the worker's VmHWM; -1 when it did not say */
    long final_rss_kib, minflt, majflt;
    unsigned long long ops;
    unsigned long long bad_offset, bad_size;   /* verify: the first damaged block (size 0: none) */
    int disturbed;               /* steal_s > NF_CMP_STEAL_FRACTION * wall_s */
} nf_cmp_result;

#define NF_CMP_STEAL_FRACTION 0.05

/* The worker's argv for j (numbers formatted into bufs). */
void nf_cmp_argv(const nf_cmp_job *j, char **argv, size_t cap, char bufs[][64]);
/* In a child before exec: LD_PRELOAD set to preload, or removed when
 * NULL (glibc); MALLOC_PERTURB_ and NOTFREE_STATS removed; the child
 * is killed if notfree dies. */
void nf_cmp_child_env(const char *preload);
/* Parses the worker's line into r (ops, seconds, final and peak RSS, the
 * first damaged block); returns the number of the seven required fields
 * read (7 when complete), with corrupt/failed/mapped. */
int nf_cmp_parse_line(const char *line, nf_cmp_result *r, unsigned long long *corrupt,
                      unsigned long long *failed, int *mapped);

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

/* ---- table (compare_table.c) ---- */
typedef struct nf_cmp_record {
    unsigned alloc, workload, threads, rep;   /* alloc, workload: indexes */
    nf_cmp_result r;
    int counted;                               /* syscalls filled */
    long long syscalls[NF_CMP_NSYS];
    unsigned long long count_ops;              /* ops of the counting run */
    int verified;                              /* the verification run of this triple ran here */
    nf_cmp_result verify;                      /* its result (verify.ok, error, bad_offset) */
} nf_cmp_record;

typedef struct nf_cmp_session {
    nf_cmp_alloc *allocs;
    unsigned nallocs;
    const char **workloads;
    unsigned long long *ops;                   /* per workload, per thread */
    unsigned nworkloads;
    unsigned *threads;
    unsigned nthreads;
    unsigned reps;
    double timeout_s;
    nf_cmp_record *recs;
    unsigned nrecs;
    char count_error[256];                     /* why syscalls are missing, if they are */
    char warnings[4][256];
    unsigned nwarnings;
} nf_cmp_session;

void nf_cmp_table(FILE *f, const nf_cmp_session *s);
/* Writes the session to path atomically (path.tmp, then rename). */
int nf_cmp_write_json(const char *path, const nf_cmp_session *s);

/* ---- the entry for `notfree run` ---- */
/* A quick comparison (every available allocator, three workloads, one and
 * two threads, one repetition, short runs) under results_dir, with its
 * table and charts: well under 3 minutes on 2 cores. Returns 0 when every
 * run ended ok, 1 when one failed, 2 when it could not run. */
int nf_compare_quick(const char *results_dir);

#endif
