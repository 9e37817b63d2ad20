/* compare/table.c: the terminal table of `notfree compare`, printed from
 * the summary (summary.c). One row per workload, thread count and
 * allocator:
 *   Mops/s      median over the repetitions that ended ok, with the
 *               spread (max - min) / median
 *   time        the allocator's time per operation over glibc's (median
 *               ops/s of glibc over the allocator's; 1.00 is glibc, more
 *               is slower). Without glibc available: over the first
 *               available allocator's (the summary's baseline).
 *   peak RSS    median peak RSS in MiB (the worker's own VmHWM), and
 *               over glibc's
 *   final RSS   median final RSS in MiB (the worker's, after its last round)
 *   minflt      median minor faults
 *   p99, max    malloc and free latency of single calls (the samples of the
 *               ok runs together; latency.h): the 99th percentile and the
 *               slowest sampled call, in us
 *   per Mop     system calls per million operations, from the counting run
 * A row that failed says why (a failed verification run: the first
 * changed byte of the first damaged block); a disturbed run (steal over 5% of its wall
 * time) is marked with '!'. */
#include "compare.h"

#include <math.h>
#include <string.h>

void nf_cmp_table(FILE *f, const nf_cmp_session *s)
{
    nf_cmp_summary sum;
    if (nf_cmp_summarize(s, &sum) != 0) {
        fprintf(f, "notfree compare: no table: out of memory\n");
        return;
    }
    const char *bname = sum.has_baseline ? s->allocs[sum.baseline].name : s->nallocs ? s->allocs[0].name : "glibc";
    /* Two header lines, each column's words stacked; widths as the rows'. */
    char over[16];
    snprintf(over, sizeof over, "/%.6s", bname);
    int ww = 17; /* the workload column: 17, or the longest name (trace:<file>) */
    for (unsigned w = 0; w < s->nworkloads; w++)
        ww = (int)strlen(s->workloads[w]) > ww ? (int)strlen(s->workloads[w]) : ww;
    fprintf(f, "\n%-*s %3s %-10s %8s %7s %6s %9s %7s %10s %8s %7s %8s | per million ops:", ww, "workload", "thr",
            "allocator", "Mops/s", "spread", "time", "peak RSS", "peak", "final RSS", "minflt", "p99", "max");
    for (unsigned k = 0; k < NF_CMP_NSYS; k++)
        fprintf(f, " %8s", nf_cmp_sys_names[k]);
    fprintf(f, "\n%-*s %3s %-10s %8s %7s %6s %9s %7s %10s %8s %7s %8s |%17s\n", ww, "", "", "", "(median)", "", over,
            "MiB", over, "MiB", "", "us", "us", "");
    int any_disturbed = 0;
    for (unsigned i = 0; i < sum.ncells; i++) {
        const nf_cmp_cell *c = &sum.cells[i];
        fprintf(f, "%-*s %3u %-10s ", ww, s->workloads[c->workload], c->threads, s->allocs[c->alloc].name);
        if (c->failed && c->n == 0) {
            fprintf(f, "FAILED (%d of %d runs): %s\n", c->failed, c->failed, c->error);
            continue;
        }
        any_disturbed |= c->disturbed;
        fprintf(f, c->ops_per_s < 1e5 ? "%8.4f %6.0f%% " : "%8.2f %6.0f%% ", c->ops_per_s / 1e6, c->spread * 100);
        if (!isnan(c->time_ratio))
            fprintf(f, "%6.2f", c->time_ratio);
        else
            fprintf(f, "%6s", "-");
        fprintf(f, "%c%9.1f ", c->disturbed ? '!' : ' ', c->peak_kib / 1024);
        if (!isnan(c->peak_ratio))
            fprintf(f, "%7.2f", c->peak_ratio);
        else
            fprintf(f, "%7s", "-");
        fprintf(f, " %10.1f %8.0f", c->final_kib / 1024, c->minflt);
        if (!isnan(c->lat_p99_ns))
            fprintf(f, " %7.2f %8.1f |", c->lat_p99_ns / 1e3, c->lat_max_ns / 1e3);
        else
            fprintf(f, " %7s %8s |", "-", "-");
        if (!isnan(nf_cmp_cell_per_mop(c, 0))) {
            for (unsigned k = 0; k < NF_CMP_NSYS; k++)
                fprintf(f, " %8.1f", nf_cmp_cell_per_mop(c, k));
        } else {
            fprintf(f, " %s", s->count_error[0] ? "not counted (see below)" : "not counted yet");
        }
        if (c->failed)
            fprintf(f, "  (%d runs failed: %s)", c->failed, c->error);
        fprintf(f, "\n");
    }
    nf_cmp_summary_free(&sum);
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
