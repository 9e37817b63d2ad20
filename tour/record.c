/* tour/record.c: what a step records. Each call adds to the step's JSON
 * and prints one indented line, so the tour narrates as it measures. */
#include "tour.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "notfree/json.h"

const char *nf_tour_verdict_name(nf_tour_verdict_kind v)
{
    switch (v) {
    case NF_TOUR_HOLDS:
        return "holds";
    case NF_TOUR_NUANCE:
        return "holds, with a nuance";
    case NF_TOUR_NOT_HERE:
        return "does not hold here";
    case NF_TOUR_SKIPPED:
        return "skipped";
    default:
        return "no verdict";
    }
}

void nf_tour_did(nf_tour_run *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(r->did, nf_json_string(buf));
    printf("    did: %s\n", buf);
    fflush(stdout);
}

void nf_tour_figure(nf_tour_run *r, const char *name, double value, const char *unit, const char *source)
{
    json_t *f = json_object();
    if (isfinite(value))
        nf_json_set_real(f, "value", value);
    else {
        json_object_set_new(f, "value", json_null());
        nf_json_set_str(f, "unavailable", "not measured: see the step's reasoning");
    }
    nf_json_set_str(f, "unit", unit);
    nf_json_set_str(f, "source", source);
    json_object_set_new(r->figures, name, f);
    if (isfinite(value))
        printf("    %-34s %14.6g %-8s (%s)\n", name, value, unit, source);
    else
        printf("    %-34s %14s %-8s (%s)\n", name, "unavailable", unit, source);
    fflush(stdout);
}

void nf_tour_invariant(nf_tour_run *r, const char *name, int ok, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_t *i = json_object();
    json_object_set_new(i, "ok", json_boolean(ok));
    nf_json_set_str(i, "detail", buf);
    json_object_set_new(r->invariants, name, i);
    printf("    invariant %s: %s (%s)\n", name, ok ? "ok" : "BROKEN", buf);
    fflush(stdout);
}

static void set_verdict(nf_tour_run *r, nf_tour_verdict_kind v, const char *fmt, va_list ap)
{
    if (r->verdict != NF_TOUR_PENDING)
        return; /* the first verdict stands */
    r->verdict = v;
    vsnprintf(r->reasoning, sizeof r->reasoning, fmt, ap);
}

void nf_tour_verdict(nf_tour_run *r, nf_tour_verdict_kind v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_verdict(r, v, fmt, ap);
    va_end(ap);
}

void nf_tour_skip(nf_tour_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_verdict(r, NF_TOUR_SKIPPED, fmt, ap);
    va_end(ap);
}

void nf_tour_chart(nf_tour_run *r, const char *path)
{
    json_array_append_new(r->charts, nf_json_string(path));
    printf("    chart: %s\n", path);
}
