/* cli/compare_table.c: the terminal table of `notfree compare`. One row
 * per workload, thread count and allocator:
 *   Mops/s      median over the repetitions that ended ok, with the
 *               spread (max - min) / median
 *   time        the allocator's time per operation over glibc's (median
 *               ops/s of glibc over the allocator's; 1.00 is glibc, more
 *               is slower). Without glibc in the list: over the first
 *               allocator's.
 *   peak RSS    median peak RSS in MiB (the worker's own VmHWM), and
 *               over glibc's
 *   final RSS   median final RSS in MiB (the worker's, after its last round)
 *   minflt      median minor faults
 *   per Mop     system calls per million operations, from the counting run
 * A row that failed says why (a failed verification run: the first
 * changed byte of the first damaged block); a disturbed run (steal over 5% of its wall
 * time) is marked with '!'. */
#include "compare.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct cell {
    int n, failed, disturbed;
    double ops_per_s, spread, peak, final, minflt;
    const char *error;
    const nf_cmp_record *counted;
} cell;

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static cell cell_of(const nf_cmp_session *s, unsigned a, unsigned w, unsigned t)
{
    cell c = {0};
    double ops[256], peak[256], fin[256], flt[256];
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
        if (c.n >= 256)
            continue;
        c.disturbed |= r->r.disturbed;
        ops[c.n] = r->r.ops_per_s;
        peak[c.n] = (double)r->r.peak_rss_kib;
        fin[c.n] = (double)r->r.final_rss_kib;
        flt[c.n] = (double)r->r.minflt;
        c.n++;
    }
    if (c.n) {
        c.ops_per_s = median(ops, c.n);   /* sorts ops */
        c.spread = c.ops_per_s > 0 ? (ops[c.n - 1] - ops[0]) / c.ops_per_s : 0;
        c.peak = median(peak, c.n);
        c.final = median(fin, c.n);
        c.minflt = median(flt, c.n);
    }
    return c;
}

void nf_cmp_table(FILE *f, const nf_cmp_session *s)
{
    unsigned base = 0;
    for (unsigned a = 0; a < s->nallocs; a++)
        if (!strcmp(s->allocs[a].name, "glibc") && s->allocs[a].available) {
            base = a;
            break;
        }
    const char *bname = s->nallocs ? s->allocs[base].name : "glibc";
    /* Two header lines, each column's words stacked; widths as the rows'. */
    char over[16];
    snprintf(over, sizeof over, "/%.6s", bname);
    fprintf(f, "\n%-17s %3s %-10s %8s %7s %6s %9s %7s %10s %8s | per million ops:", "workload", "thr",
            "allocator", "Mops/s", "spread", "time", "peak RSS", "peak", "final RSS", "minflt");
    for (unsigned k = 0; k < NF_CMP_NSYS; k++)
        fprintf(f, " %8s", nf_cmp_sys_names[k]);
    fprintf(f, "\n%-17s %3s %-10s %8s %7s %6s %9s %7s %10s %8s |%17s\n", "", "", "", "(median)", "",
            over, "MiB", over, "MiB", "", "");
    int any_disturbed = 0;
    for (unsigned w = 0; w < s->nworkloads; w++)
        for (unsigned t = 0; t < s->nthreads; t++) {
            cell b = cell_of(s, base, w, s->threads[t]);
            for (unsigned a = 0; a < s->nallocs; a++) {
                if (!s->allocs[a].available)
                    continue;
                cell c = cell_of(s, a, w, s->threads[t]);
                if (c.n == 0 && c.failed == 0)
                    continue;   /* not run yet */
                fprintf(f, "%-17s %3u %-10s ", s->workloads[w], s->threads[t], s->allocs[a].name);
                if (c.failed && c.n == 0) {
                    fprintf(f, "FAILED (%d of %d runs): %s\n", c.failed, c.failed, c.error);
                    continue;
                }
                any_disturbed |= c.disturbed;
                fprintf(f, c.ops_per_s < 1e5 ? "%8.4f %6.0f%% " : "%8.2f %6.0f%% ", c.ops_per_s / 1e6, c.spread * 100);
                if (b.n && c.ops_per_s > 0)
                    fprintf(f, "%6.2f", b.ops_per_s / c.ops_per_s);
                else
                    fprintf(f, "%6s", "-");
                fprintf(f, "%c%9.1f ", c.disturbed ? '!' : ' ', c.peak / 1024);
                if (b.n && b.peak > 0)
                    fprintf(f, "%7.2f", c.peak / b.peak);
                else
                    fprintf(f, "%7s", "-");
                fprintf(f, " %10.1f %8.0f |", c.final / 1024, c.minflt);
                if (c.counted && c.counted->count_ops) {
                    for (unsigned k = 0; k < NF_CMP_NSYS; k++)
                        fprintf(f, " %8.1f", (double)c.counted->syscalls[k] * 1e6 / (double)c.counted->count_ops);
                } else {
                    fprintf(f, " %s", s->count_error[0] ? "not counted (see below)" : "not counted yet");
                }
                if (c.failed)
                    fprintf(f, "  (%d runs failed: %s)", c.failed, c.error);
                fprintf(f, "\n");
            }
        }
    for (unsigned a = 0; a < s->nallocs; a++)
        if (!s->allocs[a].available)
            fprintf(f, "unavailable: %-10s %s\n", s->allocs[a].name, s->allocs[a].reason);
    fprintf(f, "time and RSS are over %s's (1.00 = %s; time above 1 is slower).", bname, bname);
    if (any_disturbed)
        fprintf(f, " '!': a repetition had steal time over %.0f%% of its wall time.", NF_CMP_STEAL_FRACTION * 100);
    fprintf(f, "\n");
    if (s->count_error[0])
        fprintf(f, "system calls: %s\n", s->count_error);
}
