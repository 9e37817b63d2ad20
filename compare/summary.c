/* compare/summary.c: the one aggregation of a comparison. Medians over
 * the repetitions that ended ok, the spread of ops/s, the baseline and
 * the ratios to it, computed once here: the terminal table prints them,
 * the JSON carries them as its "summary" block, and the chart extraction
 * (plots/compare_extract.sh) only reshapes that block. */
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_REPS = 1000 }; /* --reps' bound: the medians see every repetition */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static nf_cmp_cell cell_of(const nf_cmp_session *s, unsigned a, unsigned w, unsigned t, double (*buf)[MAX_REPS])
{
    nf_cmp_cell c = {.alloc = a,
                     .workload = w,
                     .threads = t,
                     .time_ratio = NAN,
                     .peak_ratio = NAN,
                     .lat_p99_ns = NAN,
                     .lat_max_ns = NAN,
                     .mean_rss_kib = NAN,
                     .above90 = NAN};
    double *ops = buf[0], *peak = buf[1], *fin = buf[2], *flt = buf[3], *mean = buf[4], *above = buf[5];
    int ntl = 0;
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *r = &s->recs[i];
        if (r->alloc != a || r->workload != w || r->threads != t)
            continue;
        if (r->counted && !c.counted)
            c.counted = r;
        if (!r->r.ok) {
            c.failed++;
            c.error = r->r.error;
            continue;
        }
        if (c.n >= MAX_REPS)
            continue;
        c.disturbed |= r->r.disturbed;
        ops[c.n] = r->r.ops_per_s;
        peak[c.n] = (double)r->r.peak_rss_kib;
        fin[c.n] = (double)r->r.final_rss_kib;
        flt[c.n] = (double)r->r.minflt;
        c.n++;
        const nf_cmp_record *tr = nf_cmp_timeline_of(s, r);
        nf_cmp_tl_figures f;
        if (tr && nf_cmp_timeline_figures(&tr->timeline, &f) == 0) {
            mean[ntl] = f.mean_rss_kib;
            above[ntl++] = f.above90;
        }
    }
    if (ntl) {
        c.mean_rss_kib = median(mean, ntl);
        c.above90 = median(above, ntl);
    }
    if (c.n) {
        c.ops_per_s = median(ops, c.n); /* sorts ops */
        c.spread = c.ops_per_s > 0 ? (ops[c.n - 1] - ops[0]) / c.ops_per_s : 0;
        c.peak_kib = median(peak, c.n);
        c.final_kib = median(fin, c.n);
        c.minflt = median(flt, c.n);
        nf_hist *all = malloc(sizeof *all);                                 /* 9 KiB: not on the stack of every cell */
        if (all && nf_cmp_cell_latency(s, &c, all) > 0 && all->count > 0) { /* no samples: NAN, not 0 */
            c.lat_p99_ns = (double)nf_hist_percentile(all, 99);
            c.lat_max_ns = (double)all->max;
        }
        free(all);
    }
    return c;
}

int nf_cmp_summarize(const nf_cmp_session *s, nf_cmp_summary *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned a = 0; a < s->nallocs && !out->has_baseline; a++)
        if (!strcmp(s->allocs[a].name, "glibc") && s->allocs[a].available) {
            out->baseline = a;
            out->has_baseline = 1;
        }
    for (unsigned a = 0; a < s->nallocs && !out->has_baseline; a++)
        if (s->allocs[a].available) {
            out->baseline = a;
            out->has_baseline = 1;
        }
    size_t cap = (size_t)s->nallocs * s->nworkloads * s->nthreads;
    double(*buf)[MAX_REPS] = malloc(6 * sizeof *buf);
    out->cells = calloc(cap ? cap : 1, sizeof *out->cells);
    if (!buf || !out->cells) {
        free(buf);
        free(out->cells);
        out->cells = NULL;
        return -1;
    }
    for (unsigned w = 0; w < s->nworkloads; w++)
        for (unsigned t = 0; t < s->nthreads; t++) {
            nf_cmp_cell b = {0};
            if (out->has_baseline)
                b = cell_of(s, out->baseline, w, s->threads[t], buf);
            for (unsigned a = 0; a < s->nallocs; a++) {
                if (!s->allocs[a].available)
                    continue;
                nf_cmp_cell c = cell_of(s, a, w, s->threads[t], buf);
                if (c.n == 0 && c.failed == 0)
                    continue; /* not run yet */
                if (b.n && c.n && c.ops_per_s > 0)
                    c.time_ratio = b.ops_per_s / c.ops_per_s;
                if (b.n && c.n && b.peak_kib > 0)
                    c.peak_ratio = c.peak_kib / b.peak_kib;
                out->cells[out->ncells++] = c;
            }
        }
    free(buf);
    return 0;
}

void nf_cmp_summary_free(nf_cmp_summary *sum)
{
    free(sum->cells);
    sum->cells = NULL;
    sum->ncells = 0;
}

double nf_cmp_cell_per_mop(const nf_cmp_cell *c, unsigned k)
{
    if (!c->counted || !c->counted->count_ops || k >= NF_CMP_NSYS)
        return NAN;
    return (double)c->counted->syscalls[k] * 1e6 / (double)c->counted->count_ops;
}
