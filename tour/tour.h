/* tour/tour.h: `notfree tour`, the claims of "malloc Is Not Free" measured
 * one by one on this box, each with a verdict computed from the figures.
 *
 * Glossary
 *   step     one claim: a file tour/step_<name>.c with its plan (what it
 *            needs, what it does) and a run function that measures, then
 *            calls nf_tour_verdict with reasoning that cites the numbers.
 *   figure   one measurement: name, value, unit and its source (timing,
 *            rusage, perf, proc, cgroup, model, syscall counter).
 *   verdict  holds | holds, with a nuance | does not hold here; or skipped
 *            with the reason (a step never passes silently).
 *   child    a forked process a step measures in (fresh accounting, or
 *            an allocation that could hurt the box): registered, so the
 *            runner kills and reaps it on Ctrl-C.
 *   cgroup   a memory cgroup the tour made (v1 or v2, whichever the box
 *            has) with a limit far below MemAvailable: registered, removed
 *            after the step and on Ctrl-C.
 *
 * The tour never changes a global setting: no sysctl, no swapon, no THP
 * mode. Everything it makes (children, cgroups, files) is registered in
 * fixed arrays the SIGINT handler can walk without allocating.
 */
#ifndef NOTFREE_TOUR_H
#define NOTFREE_TOUR_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum nf_tour_verdict_kind {
    NF_TOUR_PENDING, /* no verdict yet: a bug in the step if it stays */
    NF_TOUR_HOLDS,
    NF_TOUR_NUANCE,   /* holds, with a nuance (the reasoning says which) */
    NF_TOUR_NOT_HERE, /* does not hold here (the reasoning says what does) */
    NF_TOUR_SKIPPED,  /* could not run on this box (the reason says why) */
} nf_tour_verdict_kind;

const char *nf_tour_verdict_name(nf_tour_verdict_kind v);

/* One step being run. Invariant: verdict is set exactly once (the
 * runner marks a step that set none as failed). */
typedef struct nf_tour_run {
    int quick;           /* --quick: smaller sizes, fewer repetitions */
    const char *exe_dir; /* where notfree and the tour's helpers are */
    json_t *figures;     /* {name: {value, unit, source}} */
    json_t *invariants;  /* {name: {ok, detail}} */
    json_t *did;         /* ["what was done", ...] */
    json_t *charts;      /* ["path", ...] */
    nf_tour_verdict_kind verdict;
    char reasoning[1024];
    const char *report_dir; /* where a chart may be written (next to the JSON) */
    const char *stamp;      /* the run's file stem, for chart names */
} nf_tour_run;

typedef struct nf_tour_step {
    int number;
    const char *name; /* --step NAME */
    const char *title;
    const char *claim; /* the article's claim, in our words */
    const char *needs; /* what the box must give (for --list) */
    void (*run)(nf_tour_run *r);
} nf_tour_step;

/* The steps in the article's order (tour/steps.c). */
extern const nf_tour_step nf_tour_steps[];
extern const unsigned nf_tour_nsteps;

/* ---- what a step records (tour/record.c); each also prints a line ---- */
void nf_tour_did(nf_tour_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A figure; value NAN is stored as null with "unavailable" (never 0). */
void nf_tour_figure(nf_tour_run *r, const char *name, double value, const char *unit, const char *source);
void nf_tour_invariant(nf_tour_run *r, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void nf_tour_verdict(nf_tour_run *r, nf_tour_verdict_kind v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nf_tour_skip(nf_tour_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nf_tour_chart(nf_tour_run *r, const char *path);

/* ---- children (tour/child.c) ---- */
/* Forks a child that runs fn(arg, fd) with fd the write end of a pipe
 * (its results, text), inside cgroup cg when cg is not NULL (joined before
 * fn runs), killed if notfree dies. Reads up to cap-1 bytes of what it
 * wrote into out, waits for it (killed after timeout_s) and returns its
 * wait status, or -1 with errno. Registered for Ctrl-C while it runs. */
typedef void (*nf_tour_child_fn)(void *arg, int fd);
struct nf_tour_cgroup;
int nf_tour_child(nf_tour_child_fn fn, void *arg, const struct nf_tour_cgroup *cg, double timeout_s, char *out,
                  size_t cap);
/* The child's helpers: printf to the result fd; minflt/majflt of self. */
void nf_tour_out(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long nf_tour_minflt(void);
long nf_tour_majflt(void);
/* A value "key=<number>" from a child's output; NAN if absent. */
double nf_tour_get(const char *out, const char *key);
/* The last "key=<number>" of a child's output; NAN if absent. */
double nf_tour_get_last(const char *out, const char *key);
/* A directory on a file system with a page cache (not tmpfs) for a
 * scratch file: $TMPDIR, /var/tmp or the current directory. -1 if none. */
int nf_tour_disk_dir(char *buf, size_t cap);
/* A scratch file whose pages are not in the page cache: with create,
 * written with len bytes (registered for removal) and synced first; then
 * its cached pages are dropped (POSIX_FADV_DONTNEED, this file only), so
 * the next reader takes major faults, charged to its own cgroup. 0 or -1. */
int nf_tour_cold_file(const char *path, size_t len, int create);
/* A child body (nf_tour_child) that maps a file read-only, madvises it and
 * reads one byte per page, passes times over; it prints
 * "pass<i>_major=<faults> pass<i>_ms=<ms>" per pass, then "sum=<n>", or
 * "failed=<errno>" when the file cannot be mapped. */
typedef struct nf_tour_file_read {
    const char *path;
    size_t len;
    int advice; /* MADV_* for the whole mapping */
    int passes; /* >= 1 */
} nf_tour_file_read;
void nf_tour_read_file(void *arg, int fd);

/* The registries the SIGINT handler walks. */
void nf_tour_register_pid(pid_t pid);
void nf_tour_unregister_pid(pid_t pid);
void nf_tour_register_file(const char *path); /* removed at exit or Ctrl-C */
void nf_tour_remove_file(const char *path);   /* unlink now, unregister */
void nf_tour_register_dir(const char *path);  /* rmdir at exit or Ctrl-C */
void nf_tour_unregister_dir(const char *path);
/* Kills and reaps every registered child, removes every registered file
 * and directory. Async-signal-safe (kill, waitpid, unlink, rmdir only). */
void nf_tour_cleanup_all(void);
/* Installs the SIGINT/SIGTERM handler: cleanup, then exit 130. */
void nf_tour_install_cleanup(void);

/* ---- memory cgroups (tour/cgroup.c) ---- */
typedef struct nf_tour_cgroup {
    int version;    /* 1 or 2 */
    char path[512]; /* the cgroup's directory */
    uint64_t limit; /* bytes */
} nf_tour_cgroup;
/* Makes a memory cgroup under the one this process is in, limited to
 * limit bytes, which must be below a quarter of MemAvailable. Returns 0,
 * or -1 with the reason in why (no memory controller, not writable...). */
int nf_tour_cgroup_make(nf_tour_cgroup *cg, const char *name, uint64_t limit, char *why, size_t whylen);
/* Moves the calling process into cg (a child, before it allocates). */
int nf_tour_cgroup_join(const nf_tour_cgroup *cg);
/* The cgroup's OOM kill count (v1 memory.oom_control, v2 memory.events); -1 unreadable. */
long nf_tour_cgroup_oom_kills(const nf_tour_cgroup *cg);
/* Removes it (after its processes are gone); retries briefly. */
void nf_tour_cgroup_remove(nf_tour_cgroup *cg);
/* For a step whose child may take `limit` bytes: a cgroup with that
 * limit when the box has one (*cg filled, returns 1), else 0 when the
 * limit is below a sixteenth of MemAvailable (the box is safe without;
 * said in the step's narrative), else -1 with the reason (skip). */
int nf_tour_guard(nf_tour_run *r, nf_tour_cgroup *cg, const char *name, uint64_t limit, char *why, size_t whylen);
/* Whether the box can give a memory cgroup, and why not (no cgroup made). */
int nf_tour_cgroup_possible(char *why, size_t whylen);

/* ---- the box (tour/box.c) ---- */
/* A field of /proc/meminfo in KiB; -1 if absent. */
long nf_tour_meminfo_kib(const char *field);
/* A field of /proc/<pid>/status ("self" for pid 0) in KiB; -1 if absent. */
long nf_tour_status_kib(pid_t pid, const char *field);
/* The first integer of a file; -1 on failure. */
long long nf_tour_read_ll(const char *path);
/* A median of n doubles (sorts v). */
double nf_tour_median(double *v, size_t n);

/* ---- the runner (tour/runner.c) ---- */
typedef struct nf_tour_options {
    int quick;
    const char *json_path;   /* NULL: results/tour-<host>-<UTC>.json */
    const char *report_path; /* NULL: no Markdown report */
    const char *only;        /* comma list of step names, or NULL */
} nf_tour_options;
/* Checks a comma list of step names; -1 and the bad name in bad. */
int nf_tour_check_steps(const char *list, char *bad, size_t badlen);
void nf_tour_list(FILE *f);
/* The Markdown report of doc ({context, steps}) at path, atomically (report.c). */
int nf_tour_write_report(const char *path, json_t *doc);
/* Runs the tour; 0 ok, 1 a step failed to give a verdict, 2 could not run. */
int nf_tour_main(const nf_tour_options *o);

/* The steps, one per file (step_<name>.c), listed in steps.c. */
void nf_tour_step_batches(nf_tour_run *r);
void nf_tour_step_threshold(nf_tour_run *r);
void nf_tour_step_virtual(nf_tour_run *r);
void nf_tour_step_overcommit(nf_tour_run *r);
void nf_tour_step_fault(nf_tour_run *r);
void nf_tour_step_tlb(nf_tour_run *r);
void nf_tour_step_shootdown(nf_tour_run *r);
void nf_tour_step_reclaim(nf_tour_run *r);
void nf_tour_step_oom(nf_tour_run *r);
void nf_tour_step_mlock(nf_tour_run *r);
void nf_tour_step_fork(nf_tour_run *r);
void nf_tour_step_stack(nf_tour_run *r);
void nf_tour_step_control(nf_tour_run *r);

#endif
