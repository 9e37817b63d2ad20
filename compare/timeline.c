/* compare/timeline.c: RSS and VSZ over a run, sampled by the parent from
 * /proc/<pid>/statm, and the figures of a series (timeline.h). */
#include "timeline.h"

#include "compare.h"

#include "notfree/clock.h"
#include "notfree/json.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char nf_cmp_timeline_method[] =
    "the parent reads /proc/<pid>/statm (size and resident pages) of the worker at a fixed time interval "
    "(1 ms, doubled whenever 256 samples are kept, every other one dropped), while it waits for the worker's "
    "output: nothing runs in the measured process; time normalized to the worker's workload window";

enum { FIRST_INTERVAL_MS = 1 };

void nf_cmp_timeline_add(nf_cmp_timeline *tl, double t, long rss_kib, long vsz_kib)
{
    if (tl->n && t < tl->t[tl->n - 1] + 0.99 * tl->interval_s)
        return;               /* sooner than the interval (after thinning: between the kept ones) */
    if (tl->n == NF_TL_CAP) { /* thin to every other sample, twice the interval */
        int k = 0;
        for (int i = 0; i < tl->n; i += 2, k++) {
            tl->t[k] = tl->t[i];
            tl->rss_kib[k] = tl->rss_kib[i];
            tl->vsz_kib[k] = tl->vsz_kib[i];
        }
        tl->n = k;
        tl->interval_s *= 2;
        if (t < tl->t[k - 1] + 0.99 * tl->interval_s)
            return;
    }
    tl->t[tl->n] = t;
    tl->rss_kib[tl->n] = rss_kib;
    tl->vsz_kib[tl->n] = vsz_kib;
    tl->n++;
}

static void sample(nf_cmp_timeline *tl)
{
    double t = nf_now_s();
    char buf[128];
    ssize_t n = pread(tl->fd, buf, sizeof buf - 1, 0);
    long size, res;
    if (n > 0) {
        buf[n] = '\0';
        if (sscanf(buf, "%ld %ld", &size, &res) == 2) {
            long kib = sysconf(_SC_PAGESIZE) / 1024;
            nf_cmp_timeline_add(tl, t, res * kib, size * kib);
        }
    }
    tl->next_s = t + tl->interval_s;
    tl->cost_s += nf_now_s() - t;
}

void nf_cmp_timeline_start(nf_cmp_timeline *tl, pid_t pid)
{
    memset(tl, 0, sizeof *tl);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    tl->fd = open(path, O_RDONLY | O_CLOEXEC);
    tl->interval_s = FIRST_INTERVAL_MS * 1e-3;
    if (tl->fd >= 0)
        sample(tl);
}

int nf_cmp_timeline_due_ms(const nf_cmp_timeline *tl)
{
    double left = tl->next_s - nf_now_s();
    return left <= 0 ? 0 : (int)ceil(left * 1e3);
}

void nf_cmp_timeline_tick(nf_cmp_timeline *tl)
{
    if (tl->fd >= 0 && nf_now_s() >= tl->next_s)
        sample(tl);
}

void nf_cmp_timeline_stop(nf_cmp_timeline *tl, double t_start, double t_end)
{
    if (tl->fd >= 0)
        close(tl->fd);
    tl->fd = -1;
    tl->t_start = t_start;
    tl->t_end = t_end;
}

/* RSS at time t, linear between the samples lo..hi (t within them). */
static double rss_at(const nf_cmp_timeline *tl, int lo, int hi, double t)
{
    if (t <= tl->t[lo])
        return (double)tl->rss_kib[lo];
    for (int i = lo; i < hi; i++)
        if (t <= tl->t[i + 1]) {
            double f = (t - tl->t[i]) / (tl->t[i + 1] - tl->t[i]);
            return (double)tl->rss_kib[i] + f * (double)(tl->rss_kib[i + 1] - tl->rss_kib[i]);
        }
    return (double)tl->rss_kib[hi];
}

/* Time of the segment [a, b] (values ya, yb, linear) at or above y. */
static double time_above(double a, double b, double ya, double yb, double y)
{
    if (ya >= y && yb >= y)
        return b - a;
    if (ya < y && yb < y)
        return 0;
    double cross = a + (y - ya) / (yb - ya) * (b - a);
    return ya >= y ? cross - a : b - cross;
}

int nf_cmp_timeline_figures(const nf_cmp_timeline *tl, nf_cmp_tl_figures *f)
{
    memset(f, 0, sizeof *f);
    if (!(tl->t_end > tl->t_start))
        return -1;
    int lo = -1, hi = -1;
    for (int i = 0; i < tl->n; i++)
        if (tl->t[i] >= tl->t_start && tl->t[i] <= tl->t_end) {
            if (lo < 0)
                lo = i;
            hi = i;
        }
    f->samples = lo < 0 ? 0 : hi - lo + 1;
    if (f->samples < 2)
        return -1;
    double span = tl->t[hi] - tl->t[lo], area = 0, above = 0, peak = 0;
    for (int i = lo; i <= hi; i++)
        peak = fmax(peak, (double)tl->rss_kib[i]);
    for (int i = lo; i < hi; i++) {
        double a = tl->t[i], b = tl->t[i + 1], ya = (double)tl->rss_kib[i], yb = (double)tl->rss_kib[i + 1];
        area += (b - a) * (ya + yb) / 2;
        above += time_above(a, b, ya, yb, 0.9 * peak);
    }
    double len = tl->t_end - tl->t_start;
    f->mean_rss_kib = span > 0 ? area / span : (double)tl->rss_kib[lo];
    f->rss50_kib = rss_at(tl, lo, hi, tl->t_start + 0.5 * len);
    f->rss90_kib = rss_at(tl, lo, hi, tl->t_start + 0.9 * len);
    f->rss100_kib = (double)tl->rss_kib[hi];
    f->peak_kib = peak;
    f->above90 = span > 0 ? above / span : 1;
    return 0;
}

json_t *nf_cmp_timeline_json(const nf_cmp_timeline *tl, const char *source, int series)
{
    json_t *o = json_object();
    nf_json_set_str(o, "source", source);
    nf_json_set_real(o, "interval_s", tl->interval_s);
    nf_json_set_int(o, "samples", tl->n);
    nf_json_set_real(o, "sampling_cost_s", tl->cost_s);
    nf_cmp_tl_figures f;
    if (nf_cmp_timeline_figures(tl, &f) == 0) {
        nf_json_set_real(o, "mean_rss_kib", f.mean_rss_kib);
        nf_json_set_real(o, "rss_kib_at_50pct", f.rss50_kib);
        nf_json_set_real(o, "rss_kib_at_90pct", f.rss90_kib);
        nf_json_set_real(o, "rss_kib_at_100pct", f.rss100_kib);
        nf_json_set_real(o, "peak_sampled_rss_kib", f.peak_kib);
        nf_json_set_real(o, "above_90pct_of_peak", f.above90);
    } else {
        nf_json_set_str(o, "unavailable",
                        tl->n ? "fewer than two samples inside the workload's window"
                              : "no sample (the worker's statm could not be read)");
    }
    nf_json_set_str(o, "mapped_by_allocator", NULL);
    nf_json_set_str(o, "mapped_by_allocator_unavailable",
                    "the parent sees the kernel's view only (statm); the allocator's own mapped bytes are not sampled");
    if (series) {
        double len = tl->t_end - tl->t_start;
        json_t *t = json_array(), *rss = json_array(), *vsz = json_array();
        for (int i = 0; i < tl->n; i++) {
            json_array_append_new(t, json_real(len > 0 ? (tl->t[i] - tl->t_start) / len : 0));
            json_array_append_new(rss, json_integer(tl->rss_kib[i]));
            json_array_append_new(vsz, json_integer(tl->vsz_kib[i]));
        }
        json_object_set_new(o, "t", t);
        json_object_set_new(o, "rss_kib", rss);
        json_object_set_new(o, "vsz_kib", vsz);
    }
    return o;
}

const nf_cmp_record *nf_cmp_timeline_of(const nf_cmp_session *s, const nf_cmp_record *r)
{
    if (r->sampled)
        return r;
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *x = &s->recs[i];
        if (x->alloc == r->alloc && x->workload == r->workload && x->threads == r->threads && x->sampled && x->verified)
            return x;
    }
    return NULL;
}
