/* regress/report_markdown.c: the diff as a Markdown table (a pull
 * request's comment). */
#include "notfree/regress.h"

#include <math.h>

void nf_rg_report_markdown(FILE *f, const nf_rg_diff *d)
{
    const nf_rg_opts *o = &d->opts;
    fprintf(f,
            "**notfree diff** `%s` → `%s`: %u regression%s (U-test, alpha %g, threshold %g%%; "
            "counts: tolerance %g%%)\n\n",
            d->old->name, d->new_->name, d->regressions, d->regressions == 1 ? "" : "s", o->alpha, o->threshold,
            o->count_tol);
    fprintf(f, "| row | metric | n | old median | new median | change | p | HL shift [CI] | verdict |\n");
    fprintf(f, "|---|---|---|---:|---:|---:|---:|---|---|\n");
    for (size_t i = 0; i < d->n; i++) {
        const nf_rg_line *l = &d->lines[i];
        char ch[24], p[24], ci[64];
        nf_rg_fmt_pct(ch, sizeof ch, l->change);
        nf_rg_fmt_p(p, sizeof p, l);
        nf_rg_fmt_interval(ci, sizeof ci, l);
        const char *w = nf_rg_verdict_word(l);
        fprintf(f, "| `%s` | %s | %zu/%zu | %.5g | %.5g | %s | %s | %s | %s%s%s |\n", l->row, l->metric, l->n_old,
                l->n_new, l->old_med, l->new_med, ch, p, ci, l->verdict == NF_V_WORSE ? "**" : "", w,
                l->verdict == NF_V_WORSE ? "**" : "");
    }
    for (size_t i = 0; i < d->n_only_old; i++)
        fprintf(f, "%s`%s`", i ? ", " : "\nOnly in old: ", d->only_old[i]);
    if (d->n_only_old)
        fputc('\n', f);
    for (size_t i = 0; i < d->n_only_new; i++)
        fprintf(f, "%s`%s`", i ? ", " : "\nOnly in new: ", d->only_new[i]);
    if (d->n_only_new)
        fputc('\n', f);
}
