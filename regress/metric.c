/* regress/metric.c: what a metric name means, from the names notfree's
 * benches and `notfree compare` write:
 *   lower is better, timed:  real_time, cpu_time, wall_s, cpu_s, ns_per_*,
 *                            *_ns_per_*, *_ms, *_us, us_per_*
 *   higher is better, timed: *_per_s, *_per_second (ops_per_s,
 *                            items_per_second, accesses_per_s)
 *   lower, timed (memory):   *rss_kib*
 *   lower, count:            faults_per_page, perf_faults_per_page,
 *                            minflt_per_op, *_per_mop (system calls per
 *                            million operations), traps_per_iteration,
 *                            walk_refs_per_access
 * Anything else is shown unjudged. */
#include "notfree/regress.h"

#include <string.h>

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static bool ends(const char *s, const char *p)
{
    size_t n = strlen(s), k = strlen(p);
    return n >= k && strcmp(s + n - k, p) == 0;
}

nf_rg_metric nf_rg_metric_of(const char *name)
{
    nf_rg_metric timed_low = {NF_RG_TIMED, -1, 0, "slower", "faster"};
    nf_rg_metric timed_high = {NF_RG_TIMED, +1, 0, "slower", "faster"};
    nf_rg_metric memory = {NF_RG_TIMED, -1, 0, "bigger", "smaller"};
    nf_rg_metric info = {NF_RG_INFO, 0, 0, "-", "-"};
    if (strstr(name, "rss_kib"))
        return memory;
    /* Counts: the floor is one event per million operations, or its
     * equivalent per page / per op / per access. */
    if (ends(name, "_per_mop"))
        return (nf_rg_metric){NF_RG_COUNT, -1, 1.0, "more", "fewer"};
    if (!strcmp(name, "minflt_per_op") || !strcmp(name, "walk_refs_per_access"))
        return (nf_rg_metric){NF_RG_COUNT, -1, 1e-6, "more", "fewer"};
    if (ends(name, "faults_per_page") || !strcmp(name, "traps_per_iteration"))
        return (nf_rg_metric){NF_RG_COUNT, -1, 1e-3, "more", "fewer"};
    if (!strcmp(name, "real_time") || !strcmp(name, "cpu_time") || !strcmp(name, "wall_s") || !strcmp(name, "cpu_s") ||
        starts(name, "ns_per_") || strstr(name, "_ns_per_") || starts(name, "us_per_") || ends(name, "_ms") ||
        ends(name, "_us"))
        return timed_low;
    if (ends(name, "_per_s") || ends(name, "_per_second"))
        return timed_high;
    return info;
}
