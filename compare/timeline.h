/* compare/timeline.h: the worker's RSS and VSZ over time (timeline.c).
 *
 * How: the parent samples, not the worker. While it waits for a run's
 * output (run.c's poll loop) it reads /proc/<pid>/statm of the worker at a
 * fixed interval of time: nothing runs in the measured process, no thread
 * of ours shares its allocator or its CPUs' caches, and statm takes no
 * lock of the worker's mm (the kernel reads two counters). The cost is in
 * the parent: one pread of an fd kept open, measured per run (cost_s).
 * The interval starts at 1 ms; when the buffer fills, every other sample
 * is dropped and the interval doubles, so a run of any length keeps
 * between NF_TL_CAP/2 and NF_TL_CAP evenly spaced samples.
 *
 * Glossary
 *   window   the workload's part of the run, from the worker's t_start to
 *            t_end (its line, on the same CLOCK_MONOTONIC): process start,
 *            thread setup and the final cleanup are outside it.
 *   normalized time  (t - t_start) / (t_end - t_start): 0 the workload's
 *            start, 1 its last round's end; samples outside [0, 1] are
 *            start-up and exit.
 *   figures  over the samples inside the window, RSS taken as linear
 *            between samples: the time-weighted mean RSS, the RSS at 50%,
 *            90% and 100% of the window (interpolated; 100%: the last
 *            sample in it), the peak sample, and the fraction of the
 *            window's time spent at or above 90% of that peak.
 */
#ifndef NOTFREE_COMPARE_TIMELINE_H
#define NOTFREE_COMPARE_TIMELINE_H

#include <jansson.h>
#include <sys/types.h>

enum { NF_TL_CAP = 256 };

/* Invariants: n <= NF_TL_CAP; t[] increases; samples are interval_s apart
 * (the last interval: earlier ones were thinned to it). */
typedef struct nf_cmp_timeline {
    int n;
    double t[NF_TL_CAP]; /* CLOCK_MONOTONIC, s */
    long rss_kib[NF_TL_CAP], vsz_kib[NF_TL_CAP];
    double interval_s, next_s; /* the interval now; the next sample's time */
    double t_start, t_end;     /* the window (worker's clock); t_end <= t_start: unknown */
    double cost_s;             /* parent time spent sampling */
    int fd;                    /* /proc/<pid>/statm while sampling, else -1 */
} nf_cmp_timeline;

/* Starts sampling pid (one sample now). */
void nf_cmp_timeline_start(nf_cmp_timeline *tl, pid_t pid);
/* Milliseconds until the next sample is due (0 when it is), for poll. */
int nf_cmp_timeline_due_ms(const nf_cmp_timeline *tl);
/* Takes a sample when one is due. */
void nf_cmp_timeline_tick(nf_cmp_timeline *tl);
/* Stops (closes the file); the window from the worker's line. */
void nf_cmp_timeline_stop(nf_cmp_timeline *tl, double t_start, double t_end);
/* Appends one sample (what tick does after reading statm; the tests feed
 * synthetic series through it); one sooner than the interval after the
 * last is dropped. */
void nf_cmp_timeline_add(nf_cmp_timeline *tl, double t, long rss_kib, long vsz_kib);

typedef struct nf_cmp_tl_figures {
    int samples; /* inside the window; the figures need 2 */
    double mean_rss_kib, rss50_kib, rss90_kib, rss100_kib, peak_kib;
    double above90; /* fraction of the window at >= 90% of peak */
} nf_cmp_tl_figures;

/* 0, or -1 when the window is unknown or holds fewer than two samples. */
int nf_cmp_timeline_figures(const nf_cmp_timeline *tl, nf_cmp_tl_figures *f);

/* The run's "timeline" object: source (what was sampled), the method, the
 * figures, and with series the samples (t normalized, rss_kib, vsz_kib). */
json_t *nf_cmp_timeline_json(const nf_cmp_timeline *tl, const char *source, int series);
/* The method, for the JSON and the help. */
extern const char nf_cmp_timeline_method[];

#endif
