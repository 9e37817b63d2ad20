/* compare/latency.c: the worker's latency histograms, read from its output
 * and written into the results (latency.h). */
#include "latency.h"

#include "compare.h"

#include "notfree/json.h"

#include <stdio.h>
#include <string.h>

/* The text after "\n<key> " (or at the start of out), or NULL. */
static const char *line_after(const char *out, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = out; (p = strstr(p, key)); p += k)
        if ((p == out || p[-1] == '\n') && p[k] == ' ')
            return p + k + 1;
    return NULL;
}

void nf_cmp_latency_parse(const char *out, nf_cmp_latency *l)
{
    memset(l, 0, sizeof *l);
    const char *head = line_after(out, "latency"), *m = line_after(out, "latency_malloc"),
               *f = line_after(out, "latency_free");
    if (!head || !m || !f)
        return;
    if (sscanf(head, "every=%u sample_ns=%lf threads_s=%lf pair_plain_ns=%lf pair_sampled_ns=%lf", &l->every,
               &l->sample_ns, &l->threads_s, &l->pair_plain_ns, &l->pair_sampled_ns) != 5 ||
        nf_hist_parse(m, &l->malloc_h) != 0 || nf_hist_parse(f, &l->free_h) != 0) {
        memset(l, 0, sizeof *l);
        return;
    }
    l->have = 1;
    double samples = (double)(l->malloc_h.count + l->free_h.count);
    l->overhead = l->threads_s > 0 ? samples * l->sample_ns * 1e-9 / l->threads_s : 0;
    l->measured_overhead = l->pair_plain_ns > 0 ? (l->pair_sampled_ns - l->pair_plain_ns) / l->pair_plain_ns : 0;
}

void nf_cmp_latency_all(const nf_cmp_latency *l, nf_hist *all)
{
    *all = l->malloc_h;
    nf_hist_merge(all, &l->free_h);
}

json_t *nf_cmp_hist_json(const nf_hist *h)
{
    static const struct {
        const char *key;
        double p;
    } ps[] = {
        {"p50_ns", 50}, {"p90_ns", 90}, {"p99_ns", 99}, {"p99_9_ns", 99.9}, {"p99_99_ns", 99.99},
    };
    json_t *o = json_object();
    nf_json_set_int(o, "samples", (long long)h->count);
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        if (h->count)
            nf_json_set_int(o, ps[i].key, (long long)nf_hist_percentile(h, ps[i].p));
        else
            json_object_set_new(o, ps[i].key, json_null());
    if (h->count)
        nf_json_set_int(o, "max_ns", (long long)h->max);
    else
        json_object_set_new(o, "max_ns", json_null());
    return o;
}

json_t *nf_cmp_hist_cdf_json(const nf_hist *h)
{
    json_t *a = json_array();
    uint64_t seen = 0;
    for (unsigned i = 0; i < NF_HIST_BUCKETS && h->count; i++) {
        if (!h->counts[i])
            continue;
        seen += h->counts[i];
        uint64_t top = nf_hist_highest(i);
        json_t *pt = json_array();
        json_array_append_new(pt, json_integer((json_int_t)(top > h->max ? h->max : top)));
        json_array_append_new(pt, json_real((double)seen / (double)h->count));
        json_array_append_new(a, pt);
    }
    return a;
}

json_t *nf_cmp_latency_json(const nf_cmp_latency *l)
{
    if (!l->have)
        return json_null();
    json_t *o = json_object();
    nf_json_set_int(o, "sample_every", l->every);
    nf_json_set_real(o, "sample_ns", l->sample_ns);
    nf_json_set_real(o, "overhead_fraction", l->overhead);
    nf_json_set_str(o, "overhead_source",
                    "model: samples x sample_ns (the measured cost of one sample) / (seconds x threads)");
    nf_json_set_real(o, "measured_overhead_fraction", l->measured_overhead);
    nf_json_set_real(o, "pair_plain_ns", l->pair_plain_ns);
    nf_json_set_real(o, "pair_sampled_ns", l->pair_sampled_ns);
    nf_json_set_str(o, "measured_overhead_source",
                    "timing: malloc(64) + free pairs plain and sampled, best of 25 alternating blocks of 20000, "
                    "in the worker before the workload: (sampled - plain) / plain");
    nf_json_set_str(o, "source", "timing: the TSC read around single calls, calibrated against CLOCK_MONOTONIC");
    nf_hist all;
    nf_cmp_latency_all(l, &all);
    json_object_set_new(o, "malloc", nf_cmp_hist_json(&l->malloc_h));
    json_object_set_new(o, "free", nf_cmp_hist_json(&l->free_h));
    json_object_set_new(o, "all", nf_cmp_hist_json(&all));
    return o;
}

int nf_cmp_cell_latency(const nf_cmp_session *s, const nf_cmp_cell *c, nf_hist *all)
{
    nf_hist_init(all);
    int runs = 0;
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *r = &s->recs[i];
        if (r->alloc != c->alloc || r->workload != c->workload || r->threads != c->threads || !r->r.ok ||
            !r->r.latency.have)
            continue;
        nf_hist_merge(all, &r->r.latency.malloc_h);
        nf_hist_merge(all, &r->r.latency.free_h);
        runs++;
    }
    return runs;
}
