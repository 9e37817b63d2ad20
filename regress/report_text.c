/* regress/report_text.c: the diff as a table for a terminal. */
#include "notfree/regress.h"

#include <math.h>
#include <string.h>

void nf_rg_fmt_pct(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "n/a");
    else
        snprintf(buf, cap, "%+.1f%%", v);
}

void nf_rg_fmt_interval(char *buf, size_t cap, const nf_rg_line *l)
{
    if (!l->tested || l->m.cls != NF_RG_TIMED)
        snprintf(buf, cap, "-");
    else if (isnan(l->hl_lo_pct))
        snprintf(buf, cap, "%+.4g [no %g%% CI]", l->hl.shift, l->hl.level * 100);
    else
        snprintf(buf, cap, "%+.1f%% [%+.1f, %+.1f]", l->hl.shift / fabs(l->old_med) * 100, l->hl_lo_pct, l->hl_hi_pct);
}

void nf_rg_fmt_p(char *buf, size_t cap, const nf_rg_line *l)
{
    if (l->tested)
        snprintf(buf, cap, "%.2g", l->mwu.p);
    else
        snprintf(buf, cap, "%s", l->m.cls == NF_RG_COUNT ? "count" : "-");
}

void nf_rg_report_text(FILE *f, const nf_rg_diff *d)
{
    const nf_rg_opts *o = &d->opts;
    fprintf(f, "old: %s (%s)\nnew: %s (%s)\n", d->old->name, nf_rg_kind_name(d->old->kind), d->new_->name,
            nf_rg_kind_name(d->new_->kind));
    fprintf(f,
            "timed metrics: two-sided Mann-Whitney U, alpha %g, threshold %g%%, HL shift with its "
            "%g%% interval; counts: medians, tolerance %g%% (not a test)\n",
            o->alpha, o->threshold, (1 - o->alpha) * 100, o->count_tol);
    const char *last = NULL;
    for (size_t i = 0; i < d->n; i++) {
        const nf_rg_line *l = &d->lines[i];
        if (!last || strcmp(last, l->row) != 0) {
            fprintf(f, "\n%s\n  %-22s %7s %12s %12s %8s %9s %26s %13s  %s\n", l->row, "metric", "n", "old median",
                    "new median", "change", "p", "HL shift [CI]", "spread o/n", "verdict");
            last = l->row;
        }
        char n[24], ch[24], p[24], ci[64], sp[32];
        snprintf(n, sizeof n, "%zu/%zu", l->n_old, l->n_new);
        nf_rg_fmt_pct(ch, sizeof ch, l->change);
        nf_rg_fmt_p(p, sizeof p, l);
        nf_rg_fmt_interval(ci, sizeof ci, l);
        snprintf(sp, sizeof sp, "%.1f%%/%.1f%%", l->spread_old, l->spread_new);
        fprintf(f, "  %-22s %7s %12.5g %12.5g %8s %9s %26s %13s  %s", l->metric, n, l->old_med, l->new_med, ch, p, ci,
                sp, nf_rg_verdict_word(l));
        if (l->verdict == NF_V_INCONCLUSIVE || l->verdict == NF_V_WORSE)
            fprintf(f, " (%s)", l->why);
        fputc('\n', f);
    }
    if (d->n_only_old) {
        fprintf(f, "\nonly in old (removed, not judged):");
        for (size_t i = 0; i < d->n_only_old; i++)
            fprintf(f, "\n  %s", d->only_old[i]);
        fputc('\n', f);
    }
    if (d->n_only_new) {
        fprintf(f, "\nonly in new (added, not judged):");
        for (size_t i = 0; i < d->n_only_new; i++)
            fprintf(f, "\n  %s", d->only_new[i]);
        fputc('\n', f);
    }
    unsigned inc = 0;
    for (size_t i = 0; i < d->n; i++)
        inc += d->lines[i].verdict == NF_V_INCONCLUSIVE;
    fprintf(f, "\nverdict: %u regression%s", d->regressions, d->regressions == 1 ? "" : "s");
    for (size_t i = 0, k = 0; i < d->n; i++) {
        const nf_rg_line *l = &d->lines[i];
        if (l->verdict == NF_V_WORSE)
            fprintf(f, "%s %s %s %+.1f%% %s", k++ ? "," : ":", l->row, l->metric, l->change, l->m.worse);
    }
    fprintf(f, "; %zu judged, %u inconclusive\n", d->n, inc);
}
