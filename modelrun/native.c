/* native.c: the same client and allocator on the real page source, in a
 * child: what the kernel itself counts, for the fidelity checks.
 *
 * The span measured is the model run's: from the heap's creation to the
 * client's return. minflt is getrusage(RUSAGE_SELF) of the child (every
 * thread of it) over that span. Peak RSS: the child resets its RSS high
 * water mark (writing 5 to /proc/self/clear_refs sets VmHWM to the RSS
 * now) and reads VmRSS, then VmHWM at the end; the growth is the peak the
 * span added. Both still hold what the model does not see (the worker
 * thread's stack, the workload's bookkeeping in the process's malloc, code
 * pages run for the first time in the child): the fidelity check measures
 * that with a zero-operation run and subtracts it.
 */
#include "child.h"

#include "notfree/modelrun.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

typedef struct native_job {
    const nf_modelrun_config *cfg;
    nf_modelrun_client client;
    void *arg;
} native_job;

typedef struct native_reply {
    int rc;
    nf_modelrun_native fig;
    char err[256];
} native_reply;

/* A "Name:   N kB" line of /proc/self/status, in KiB; 0 if absent. */
static uint64_t status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    size_t n = strlen(name);
    unsigned long long v = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, name, n) && line[n] == ':') {
            sscanf(line + n + 1, "%llu", &v);
            break;
        }
    fclose(f);
    return v;
}

static int reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static uint64_t minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_minflt;
}

static void native_child(void *arg, void *rep, size_t n)
{
    native_job *j = arg;
    native_reply *r = rep;
    (void)n;
    const nf_allocator *A = j->cfg->alloc;
    int hwm_ok = reset_hwm() == 0;
    uint64_t rss0 = status_kib("VmRSS");
    uint64_t f0 = minflt();
    nf_heap *h = A->create(NULL);
    if (!h) {
        r->rc = nf_modelrun_errf(r->err, sizeof r->err, "%s cannot create a heap", A->name);
        return;
    }
    nf_mem_heap_ctx hc;
    nf_mem_api api = nf_mem_heap(&hc, A, h);
    r->fig.ops = j->client(j->arg, &api);
    r->fig.minflt = minflt() - f0;
    uint64_t hwm = status_kib("VmHWM");
    r->fig.hwm_kib = hwm_ok && hwm >= rss0 ? hwm - rss0 : 0;
    nf_alloc_stats st;
    if (A->stats(h, &st) == 0 && (st.available & NF_STAT_PAGE_CALLS))
        memcpy(r->fig.page_calls, st.page_calls, sizeof r->fig.page_calls);
    A->destroy(h);
    r->rc = r->fig.ops < 0 ? nf_modelrun_errf(r->err, sizeof r->err, "the client failed natively on %s", A->name) : 0;
}

int nf_modelrun_native_run(const nf_modelrun_config *cfg, nf_modelrun_client client, void *arg, nf_modelrun_native *out,
                           char *err, size_t errcap)
{
    native_job j = {cfg, client, arg};
    native_reply r;
    memset(&r, 0, sizeof r);
    if (nf_modelrun_in_child(native_child, &j, &r, sizeof r, err, errcap) != 0)
        return -1;
    if (r.rc != 0)
        return nf_modelrun_errf(err, errcap, "%s", r.err);
    *out = r.fig;
    return 0;
}
