/* regress/load.c: a results file read into series (rows x metrics x
 * samples), for both kinds notfree writes:
 *   bench:   Google Benchmark JSON ({context, benchmarks}); a row is a
 *            run_name, its samples the "iteration" entries (one per
 *            repetition); aggregates (_mean, _median, ...) are skipped,
 *            errored entries too. real_time and cpu_time are taken in ns.
 *   compare: {context, runs}; a row is allocator/workload/threads (or
 *            workload/threads), its samples the reps that ended ok; derived
 *            per-operation figures: minflt_per_op and <syscall>_per_mop.
 */
#include "notfree/regress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nf_rg_kind_name(nf_rg_kind k) { return k == NF_RG_BENCH ? "bench" : "compare"; }

static nf_rg_series *series_get(nf_rg_file *f, const char *row, const char *metric)
{
    for (size_t i = f->n; i-- > 0;)
        if (!strcmp(f->s[i].metric, metric) && !strcmp(f->s[i].row, row))
            return &f->s[i];
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 32;
        nf_rg_series *s = realloc(f->s, cap * sizeof *s);
        if (!s)
            return NULL;
        f->s = s;
        f->cap = cap;
    }
    nf_rg_series *s = &f->s[f->n];
    memset(s, 0, sizeof *s);
    s->row = strdup(row);
    s->metric = strdup(metric);
    if (!s->row || !s->metric) {
        free(s->row);
        free(s->metric);
        return NULL;
    }
    f->n++;
    return s;
}

static int add(nf_rg_file *f, const char *row, const char *metric, double v)
{
    nf_rg_series *s = series_get(f, row, metric);
    if (!s)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

/* Google Benchmark's bookkeeping fields: numbers, but not figures. */
static bool bookkeeping(const char *key)
{
    static const char *const keys[] = {
        "family_index", "per_family_instance_index", "repetitions", "repetition_index", "threads", "iterations"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

static double unit_to_ns(const char *u)
{
    if (!u || !strcmp(u, "ns"))
        return 1;
    if (!strcmp(u, "us"))
        return 1e3;
    if (!strcmp(u, "ms"))
        return 1e6;
    if (!strcmp(u, "s"))
        return 1e9;
    return 0;
}

static int load_bench(nf_rg_file *f, const json_t *benches, char *err, size_t cap)
{
    size_t i;
    const json_t *b;
    json_array_foreach(benches, i, b)
    {
        if (!json_is_object(b))
            continue;
        const char *type = json_string_value(json_object_get(b, "run_type"));
        if (type && strcmp(type, "iteration") != 0)
            continue;
        if (json_is_true(json_object_get(b, "error_occurred")))
            continue;
        const char *row = json_string_value(json_object_get(b, "run_name"));
        if (!row)
            row = json_string_value(json_object_get(b, "name"));
        if (!row) {
            snprintf(err, cap, "%s: benchmarks[%zu] has no name", f->name, i);
            return -1;
        }
        double scale = unit_to_ns(json_string_value(json_object_get(b, "time_unit")));
        if (scale == 0) {
            snprintf(err, cap, "%s: benchmarks[%zu] has an unknown time_unit", f->name, i);
            return -1;
        }
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)b, key, v)
        {
            if (!json_is_number(v) || bookkeeping(key))
                continue;
            double x = json_number_value(v);
            if (!strcmp(key, "real_time") || !strcmp(key, "cpu_time"))
                x *= scale;
            if (add(f, row, key, x) != 0) {
                snprintf(err, cap, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

/* Operations of one run: context.workloads[name].ops_per_thread x threads;
 * 0 when the context does not say. */
static double run_ops(const json_t *ctx, const char *workload, double threads)
{
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(ctx, "workloads"), i, w)
    {
        const char *n = json_string_value(json_object_get(w, "name"));
        if (n && !strcmp(n, workload))
            return json_number_value(json_object_get(w, "ops_per_thread")) * threads;
    }
    return 0;
}

static int load_compare(nf_rg_file *f, const json_t *ctx, const json_t *runs, const nf_rg_load_opts *o, char *err,
                        size_t cap)
{
    static const char *const figures[] = {"wall_s", "cpu_s", "ops_per_s", "peak_rss_kib", "final_rss_kib"};
    size_t i;
    const json_t *r;
    json_array_foreach(runs, i, r)
    {
        if (!json_is_true(json_object_get(r, "ok")))
            continue;
        const char *alloc = json_string_value(json_object_get(r, "allocator"));
        const char *wl = json_string_value(json_object_get(r, "workload"));
        const json_t *th = json_object_get(r, "threads");
        if (!alloc || !wl || !json_is_integer(th)) {
            snprintf(err, cap, "%s: runs[%zu] lacks allocator, workload or threads", f->name, i);
            return -1;
        }
        char row[512];
        if (o && o->without_allocator)
            snprintf(row, sizeof row, "%s/%lldt", wl, json_integer_value(th));
        else
            snprintf(row, sizeof row, "%s/%s/%lldt", alloc, wl, json_integer_value(th));
        int bad = 0;
        for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++) {
            const json_t *v = json_object_get(r, figures[k]);
            if (json_is_number(v))
                bad |= add(f, row, figures[k], json_number_value(v));
        }
        double ops = run_ops(ctx, wl, (double)json_integer_value(th));
        const json_t *mf = json_object_get(r, "minflt");
        if (ops > 0 && json_is_number(mf))
            bad |= add(f, row, "minflt_per_op", json_number_value(mf) / ops);
        const char *sys;
        const json_t *c;
        json_object_foreach((json_t *)json_object_get(r, "syscalls"), sys, c)
        {
            char m[96];
            snprintf(m, sizeof m, "%s_per_mop", sys);
            if (ops > 0 && json_is_number(c))
                bad |= add(f, row, m, json_number_value(c) / ops * 1e6);
        }
        if (bad) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
    }
    return 0;
}

int nf_rg_load_json(json_t *root, const char *name, const nf_rg_load_opts *o, nf_rg_file *f, char *err, size_t cap)
{
    memset(f, 0, sizeof *f);
    f->root = root;
    snprintf(f->name, sizeof f->name, "%s", name);
    const json_t *ctx = json_object_get(root, "context");
    const json_t *benches = json_object_get(root, "benchmarks");
    const json_t *runs = json_object_get(root, "runs");
    f->box = json_object_get(ctx, "notfree");
    if (!json_is_object(f->box))
        f->box = NULL;
    int rc;
    if (json_is_array(benches)) {
        f->kind = NF_RG_BENCH;
        rc = load_bench(f, benches, err, cap);
    } else if (json_is_array(runs)) {
        f->kind = NF_RG_COMPARE;
        rc = load_compare(f, ctx, runs, o, err, cap);
    } else {
        snprintf(err, cap, "%s: unknown kind: neither a bench file (benchmarks[]) nor a comparison (runs[])", name);
        rc = -1;
    }
    if (rc == 0 && f->n == 0) {
        snprintf(err, cap, "%s: no rows (no %s that ended ok)", name,
                 f->kind == NF_RG_BENCH ? "iteration entries" : "runs");
        rc = -1;
    }
    if (rc != 0)
        nf_rg_free(f);
    return rc;
}

/* Google Benchmark writes a non-finite figure as a bare NaN, -nan, inf or
 * Infinity (a counter's coefficient of variation over a mean of 0, say),
 * which is not JSON and which jansson refuses. Outside strings, each such
 * word becomes null: the figure is then unavailable, not a number. Returns
 * a new text (malloc'd; *n updated), or NULL. */
static char *nonfinite_to_null(const char *t, size_t *n)
{
    static const char *const words[] = {"-Infinity", "Infinity", "-NaN", "NaN", "-nan", "nan", "-inf", "inf"};
    char *out = malloc(2 * *n + 1); /* "nan" -> "null" grows by at most 1 in 3 */
    if (!out)
        return NULL;
    size_t o = 0;
    bool in_str = false;
    for (size_t i = 0; i < *n; i++) {
        char c = t[i];
        if (in_str) {
            out[o++] = c;
            if (c == '\\' && i + 1 < *n)
                out[o++] = t[++i];
            else if (c == '"')
                in_str = false;
            continue;
        }
        in_str = c == '"';
        size_t k, w = 0;
        for (k = 0; k < sizeof words / sizeof *words; k++) {
            w = strlen(words[k]);
            if (i + w <= *n && !memcmp(t + i, words[k], w))
                break;
        }
        if (k < sizeof words / sizeof *words) {
            memcpy(out + o, "null", 4);
            o += 4;
            i += w - 1;
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    *n = o;
    return out;
}

/* The whole file, NUL-terminated (malloc'd), or NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *b = realloc(buf, cap *= 2);
        if (!b)
            free(buf);
        buf = b;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        errno = bad ? EIO : ENOMEM;
        return NULL;
    }
    *len = n;
    return buf;
}

int nf_rg_load(const char *path, const nf_rg_load_opts *o, nf_rg_file *f, char *err, size_t cap)
{
    json_error_t je;
    memset(f, 0, sizeof *f);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        snprintf(err, cap, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    char *clean = nonfinite_to_null(text, &len);
    free(text);
    if (!clean) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    json_t *root = json_loadb(clean, len, JSON_REJECT_DUPLICATES, &je);
    free(clean);
    if (!root) {
        snprintf(err, cap, "%s: not JSON: %s (line %d)", path, je.text, je.line);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, cap, "%s: unknown kind: the document is not an object", path);
        return -1;
    }
    return nf_rg_load_json(root, path, o, f, err, cap);
}

void nf_rg_free(nf_rg_file *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->s[i].row);
        free(f->s[i].metric);
        free(f->s[i].v);
    }
    free(f->s);
    json_decref(f->root);
    memset(f, 0, sizeof *f);
}
