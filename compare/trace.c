/* compare/trace.c: `notfree compare --trace FILE`: a recorded allocation
 * trace (notfree/trace.h) as one more workload, trace:<file name>, after
 * the others. The worker replays it (notfree-workload --trace FILE): at
 * T threads, T copies of the trace at once, one per thread, each in the
 * trace's own global order (nf_trace_bench), through the process's
 * malloc, as every other workload; so it sits in the same table, JSON and
 * charts. One operation is one replayed call; the operations of a run are
 * the trace's events, whatever --scale says. */
#include "compare.h"

#include "notfree/trace.h"

#include <string.h>

int nf_cmp_plan_trace(const char *path, char *name, size_t namelen, unsigned long long *ops, char *err, size_t len)
{
    nf_trace *t = NULL;
    char why[512];
    if (nf_trace_load(path, &t, why, sizeof why) != 0) {
        snprintf(err, len, "--trace %.1000s: %s", path, why);
        return 2;
    }
    if (!t->nevents) {
        nf_trace_free(t);
        snprintf(err, len, "--trace %.1000s: the trace has no events", path);
        return 2;
    }
    const char *base = strrchr(path, '/');
    snprintf(name, namelen, "trace:%.200s", base ? base + 1 : path);
    *ops = t->nevents;
    nf_trace_free(t);
    return 0;
}
