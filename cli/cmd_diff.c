/* cli/cmd_diff.c: `notfree diff OLD.json NEW.json`: parse, load both, check
 * the box, judge, report. The statistics and verdicts live in regress/. */
#include "commands.h"
#include "diff.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NF_SOURCE_DIR
#define NF_SOURCE_DIR "."
#endif

void nf_cmd_diff_help(FILE *f)
{
    fprintf(f, "usage: notfree diff [flags] OLD.json NEW.json\n"
               "       notfree diff [flags] --baseline [NAME] NEW.json\n\n"
               "Compares two results files of one kind: Google Benchmark JSON from `notfree\n"
               "run`/`bench` (rows are run_names, samples the repetitions) or `notfree compare`\n"
               "JSON (rows are allocator/workload/threads, samples the reps). For each row and\n"
               "metric: the medians, the change, a two-sided Mann-Whitney U p-value (exact for\n"
               "small samples, normal with tie correction for large), the Hodges-Lehmann shift\n"
               "with its (1 - alpha) interval, and a verdict: slower/faster (bigger/smaller for\n"
               "RSS, more/fewer for counts), same, or inconclusive (too few reps, a spread wider\n"
               "than the change, or a change the test cannot confirm).\n\n"
               "A timed metric regresses when p < alpha AND it moved more than the threshold the\n"
               "bad way (time, ns_per_*, *_ms, RSS: up; *_per_s: down). Counts (faults_per_page,\n"
               "minflt_per_op, <syscall>_per_mop) are deterministic or nearly: they regress when\n"
               "worse by more than the count tolerance AND by more than one per million\n"
               "operations (its equivalent per page or per op). Other metrics are shown, unjudged.\n"
               "Rows present in one file only are listed. Files from different boxes (CPU model,\n"
               "kernel release, hypervisor, THP mode, notfree version) are refused.\n\n"
               "  --alpha A            significance level (default 0.01)\n"
               "  --threshold P        smallest change that counts, percent (default 5)\n"
               "  --count-tolerance P  for counts, percent (default 10)\n"
               "  --metric RE          only metrics matching RE (POSIX extended)\n"
               "  --filter RE          only rows matching RE\n"
               "  --format F           text (default), json, markdown\n"
               "  --chart FILE         a chart of the changes and intervals (.png or .svg, gnuplot)\n"
               "  --force              judge files from different boxes anyway\n"
               "  --baseline [NAME]    OLD is the baseline NAME (default: default) of NEW's box,\n"
               "                       saved by `notfree baseline save`\n"
               "  --results DIR        where baselines are (default: results)\n\n"
               "Exit: 0 no regression, 1 at least one regression, 2 bad input (unreadable, not\n"
               "JSON, unknown kind, no rows in common, different boxes) with the reason.\n");
}

static int bad(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "notfree %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

void nf_diff_flags_init(nf_diff_flags *f)
{
    memset(f, 0, sizeof *f);
    nf_rg_opts_default(&f->opts);
    f->format = "text";
}

void nf_diff_flags_free(nf_diff_flags *f)
{
    if (f->has_metric)
        regfree(&f->metric_re);
    if (f->has_filter)
        regfree(&f->filter_re);
    f->has_metric = f->has_filter = false;
}

static int number(const char *cmd, const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end != v && *end == '%' && strcmp(flag, "--alpha") != 0)
        end++;
    if (end == v || *end || !(x >= lo && x <= hi)) {
        bad(cmd, "%s: '%s' is not a number from %g to %g", flag, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int regex(const char *cmd, const char *flag, const char *v, regex_t *re)
{
    int rc = regcomp(re, v, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        bad(cmd, "%s '%s': %s", flag, v, msg);
        return -1;
    }
    return 0;
}

int nf_diff_flag(const char *cmd, int argc, char **argv, int *i, nf_diff_flags *f)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--force")) {
        f->force = true;
        return 1;
    }
    static const char *const with_value[] = {"--alpha",  "--threshold", "--count-tolerance", "--metric", "--filter",
                                             "--format", "--chart"};
    size_t k, n = sizeof with_value / sizeof *with_value, len = 0;
    for (k = 0; k < n; k++) {
        len = strlen(with_value[k]);
        if (!strncmp(a, with_value[k], len) && (a[len] == '\0' || a[len] == '='))
            break;
    }
    if (k == n)
        return 0;
    const char *flag = with_value[k], *v = a[len] == '=' ? a + len + 1 : NULL;
    if (!v) {
        if (*i + 1 >= argc) {
            bad(cmd, "%s needs a value", flag);
            return -1;
        }
        v = argv[++*i];
    }
    if (!strcmp(flag, "--alpha"))
        return number(cmd, flag, v, 1e-9, 0.5, &f->opts.alpha) ? -1 : 1;
    if (!strcmp(flag, "--threshold"))
        return number(cmd, flag, v, 0, 1e6, &f->opts.threshold) ? -1 : 1;
    if (!strcmp(flag, "--count-tolerance"))
        return number(cmd, flag, v, 0, 1e6, &f->opts.count_tol) ? -1 : 1;
    if (!strcmp(flag, "--metric")) {
        if (f->has_metric)
            regfree(&f->metric_re);
        f->has_metric = regex(cmd, flag, v, &f->metric_re) == 0;
        return f->has_metric ? 1 : -1;
    }
    if (!strcmp(flag, "--filter")) {
        if (f->has_filter)
            regfree(&f->filter_re);
        f->has_filter = regex(cmd, flag, v, &f->filter_re) == 0;
        return f->has_filter ? 1 : -1;
    }
    if (!strcmp(flag, "--format")) {
        if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "markdown")) {
            bad(cmd, "--format: '%s' is not text, json or markdown", v);
            return -1;
        }
        f->format = v;
        return 1;
    }
    size_t l = strlen(v);
    if (l < 5 || (strcmp(v + l - 4, ".png") && strcmp(v + l - 4, ".svg"))) {
        bad(cmd, "--chart: '%s' must end in .png or .svg", v);
        return -1;
    }
    f->chart = v;
    return 1;
}

int nf_diff_judge(const char *cmd, const nf_rg_file *old, const nf_rg_file *new_, nf_diff_flags *f, const char *chart,
                  json_t **verdict)
{
    char why[2048];
    if (old->kind != new_->kind)
        return bad(cmd, "%s is a %s file, %s a %s file: nothing to match", old->name, nf_rg_kind_name(old->kind),
                   new_->name, nf_rg_kind_name(new_->kind));
    if (!f->same_box && nf_rg_box_differs(old->box, new_->box, why, sizeof why) > 0) {
        if (!f->force)
            return bad(cmd,
                       "%s and %s come from different boxes (%s): absolute figures do not "
                       "compare; --force to judge them anyway",
                       old->name, new_->name, why);
        fprintf(stderr, "notfree %s: warning: different boxes (%s), judged anyway (--force)\n", cmd, why);
    }
    f->opts.metric_re = f->has_metric ? &f->metric_re : NULL;
    f->opts.filter_re = f->has_filter ? &f->filter_re : NULL;
    nf_rg_diff d;
    if (nf_rg_diff_run(old, new_, &f->opts, &d, why, sizeof why) != 0)
        return bad(cmd, "%s", why);
    json_t *j = nf_rg_report_json(&d);
    if (!strcmp(f->format, "json")) {
        json_dumpf(j, stdout, NF_JSON_FLAGS | JSON_INDENT(2));
        fputc('\n', stdout);
    } else if (!strcmp(f->format, "markdown")) {
        nf_rg_report_markdown(stdout, &d);
    } else {
        nf_rg_report_text(stdout, &d);
    }
    if (chart) {
        if (nf_rg_report_chart(&d, chart, NF_SOURCE_DIR "/plots", why, sizeof why) != 0)
            fprintf(stderr, "notfree %s: %s\n", cmd, why);
        else if (strcmp(f->format, "json") != 0)
            printf("chart: %s\n", chart);
    }
    if (verdict)
        *verdict = j;
    else
        json_decref(j);
    int rc = d.regressions ? 1 : 0;
    nf_rg_diff_free(&d);
    return rc;
}

int nf_baseline_path(char *buf, size_t cap, const char *results, const json_t *box, const char *name)
{
    char key[160];
    if (nf_rg_box_key(box, key, sizeof key) != 0)
        return -1;
    int n = snprintf(buf, cap, "%s/baselines/%s/%s.json", results, key, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* --baseline takes a NAME when the next word is not a flag and not the last
 * file (NEW.json comes last). */
int nf_cmd_diff(int argc, char **argv)
{
    nf_diff_flags fl;
    nf_diff_flags_init(&fl);
    const char *files[2] = {NULL, NULL}, *baseline = NULL, *results = "results";
    int nfiles = 0, rc = 2;
    for (int i = 1; i < argc; i++) {
        int t = nf_diff_flag("diff", argc, argv, &i, &fl);
        if (t < 0)
            goto out;
        if (t > 0)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--baseline")) {
            baseline = "default";
            if (i + 2 < argc && argv[i + 1][0] != '-')
                baseline = argv[++i];
        } else if (!strncmp(a, "--baseline=", 11)) {
            baseline = a + 11;
        } else if (!strcmp(a, "--results") || !strncmp(a, "--results=", 10)) {
            if (a[9] == '=')
                results = a + 10;
            else if (i + 1 < argc)
                results = argv[++i];
            else {
                bad("diff", "--results needs a value");
                goto out;
            }
        } else if (a[0] == '-' && a[1]) {
            bad("diff", "unknown flag '%s' (notfree diff --help)", a);
            goto out;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            bad("diff", "too many files: '%s' (OLD.json NEW.json, or --baseline NEW.json)", a);
            goto out;
        }
    }
    if (baseline ? nfiles != 1 : nfiles != 2) {
        bad("diff",
            baseline ? "--baseline takes one results file, NEW.json" : "needs two results files, OLD.json NEW.json");
        goto out;
    }
    nf_rg_file old, new_;
    char err[1024], bpath[4096];
    if (nf_rg_load(files[nfiles - 1], NULL, &new_, err, sizeof err) != 0) {
        bad("diff", "%s", err);
        goto out;
    }
    if (baseline) {
        if (nf_baseline_path(bpath, sizeof bpath, results, new_.box, baseline) != 0) {
            bad("diff", "%s: no box facts (context.notfree) to find its baseline by", new_.name);
            nf_rg_free(&new_);
            goto out;
        }
        if (access(bpath, R_OK) != 0) {
            bad("diff",
                "no baseline '%s' for this box (%s); `notfree baseline save FILE --name %s`, "
                "`notfree baseline list`",
                baseline, bpath, baseline);
            nf_rg_free(&new_);
            goto out;
        }
        files[0] = bpath;
    }
    if (nf_rg_load(files[0], NULL, &old, err, sizeof err) != 0) {
        bad("diff", "%s", err);
        nf_rg_free(&new_);
        goto out;
    }
    rc = nf_diff_judge("diff", &old, &new_, &fl, fl.chart, NULL);
    nf_rg_free(&old);
    nf_rg_free(&new_);
out:
    nf_diff_flags_free(&fl);
    return rc;
}
