/* regress/report_json.c: the diff as JSON, every figure the text shows
 * plus the reasons; unavailable figures are null. */
#include "notfree/regress.h"

#include <math.h>

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, nf_json_string(v[i]));
    return a;
}

json_t *nf_rg_report_json(const nf_rg_diff *d)
{
    json_t *o = json_object();
    json_t *files = json_object();
    nf_json_set_str(files, "old", d->old->name);
    nf_json_set_str(files, "new", d->new_->name);
    nf_json_set_str(files, "kind", nf_rg_kind_name(d->old->kind));
    json_object_set_new(o, "files", files);
    nf_json_set_real(o, "alpha", d->opts.alpha);
    nf_json_set_real(o, "threshold_pct", d->opts.threshold);
    nf_json_set_real(o, "count_tolerance_pct", d->opts.count_tol);
    json_t *rows = json_array();
    for (size_t i = 0; i < d->n; i++) {
        const nf_rg_line *l = &d->lines[i];
        json_t *r = json_object();
        nf_json_set_str(r, "row", l->row);
        nf_json_set_str(r, "metric", l->metric);
        nf_json_set_str(r, "better", l->m.better < 0 ? "lower" : l->m.better > 0 ? "higher" : NULL);
        nf_json_set_str(r, "method",
                        l->m.cls == NF_RG_TIMED   ? "mann-whitney"
                        : l->m.cls == NF_RG_COUNT ? "count tolerance"
                                                  : NULL);
        nf_json_set_int(r, "n_old", (long long)l->n_old);
        nf_json_set_int(r, "n_new", (long long)l->n_new);
        nf_json_set_real(r, "old_median", l->old_med);
        nf_json_set_real(r, "new_median", l->new_med);
        nf_json_set_real(r, "change_pct", l->change);
        nf_json_set_real(r, "spread_old_pct", l->spread_old);
        nf_json_set_real(r, "spread_new_pct", l->spread_new);
        nf_json_set_real(r, "u", l->tested ? l->mwu.u : NAN);
        nf_json_set_real(r, "p", l->tested ? l->mwu.p : NAN);
        if (l->tested)
            json_object_set_new(r, "p_exact", json_boolean(l->mwu.exact));
        else
            json_object_set_new(r, "p_exact", json_null());
        bool hl = l->tested && l->m.cls == NF_RG_TIMED;
        nf_json_set_real(r, "hl_shift", hl ? l->hl.shift : NAN);
        nf_json_set_real(r, "hl_ci_level", hl ? l->hl.level : NAN);
        nf_json_set_real(r, "hl_ci_lo_pct", l->hl_lo_pct);
        nf_json_set_real(r, "hl_ci_hi_pct", l->hl_hi_pct);
        nf_json_set_str(r, "verdict", nf_rg_verdict_word(l));
        json_object_set_new(r, "regression", json_boolean(l->verdict == NF_V_WORSE));
        nf_json_set_str(r, "why", l->why);
        json_array_append_new(rows, r);
    }
    json_object_set_new(o, "rows", rows);
    json_object_set_new(o, "only_old", strings(d->only_old, d->n_only_old));
    json_object_set_new(o, "only_new", strings(d->only_new, d->n_only_new));
    nf_json_set_int(o, "regressions", d->regressions);
    return o;
}
