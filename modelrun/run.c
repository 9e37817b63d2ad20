/* run.c: one client on one allocator's heap on a live model process with
 * one preset's TLB (nf_modelrun_one), and several presets each in a child
 * of its own (nf_modelrun_presets).
 *
 * The heap is created after live mode starts, so the allocator's own
 * metadata (which our allocators keep in memory from the page source) is
 * seen by the model too. Figures are read when the client returns, before
 * the heap is destroyed: "final" is what the allocator keeps after the
 * client freed everything.
 */
#include "child.h"
#include "watch.h"

#include "notfree/clock.h"
#include "notfree/tlb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_FRAMES ((size_t)1 << 20) /* 4 GiB of model memory, sparse: real only where touched */

const char *nf_modelrun_refuse(const nf_allocator *a)
{
    if (!strcmp(a->name, "system"))
        return "the system allocator is the process's own malloc: it takes no page source, so the "
               "model cannot see its memory (run it with `notfree compare`)";
    return NULL;
}

static void figures_take(nf_modelrun_figures *o, nf_model *m, nf_model_proc *p, const nf_tlb *t,
                         const nf_watch_pages *w)
{
    nf_model_proc_counters pc;
    nf_model_counters mc;
    nf_model_proc_counters_get(p, &pc);
    nf_model_counters_get(m, &mc);
    const nf_tlb_stats *ts = nf_tlb_get_stats(t);
    o->minor_faults = pc.minor_faults;
    o->major_faults = pc.major_faults;
    o->cow_faults = pc.cow_faults;
    o->zero_page_maps = pc.zero_page_maps;
    /* cow_faults and zero_page_maps are subsets of minor_faults (model.h);
     * the rest took a fresh zeroed frame (or reused a write-protected one,
     * which needs a fork: none here). */
    o->demand_zero = pc.minor_faults - pc.cow_faults - pc.zero_page_maps;
    o->swap_ins = mc.swap_ins;
    o->pt_pages_peak = w->pt_peak;
    o->pt_pages_final = pc.pt_pages;
    o->vmas_peak = w->vmas_peak;
    o->vmas_final = pc.vmas;
    o->rss_peak = w->rss_peak;
    o->rss_final = pc.rss_pages;
    o->vsz_peak = w->vsz_peak;
    o->vsz_final = pc.vsz_pages;
    for (int k = 0; k < NF_PAGE_CALL_COUNT; k++) {
        o->page_calls[k] = w->ps.calls[k];
        o->page_bytes[k] = w->ps.bytes[k];
    }
    o->tlb_lookups = ts->lookups;
    o->l1_misses = ts->misses[0];
    o->l2_hits = ts->hits[1];
    o->l2_misses = ts->misses[1];
    o->walks = mc.walks;
    o->walk_refs = mc.walk_refs;
    o->traps = mc.live_traps;
}

int nf_modelrun_one(const nf_modelrun_config *cfg, const char *preset, nf_modelrun_client client, void *arg,
                    nf_modelrun_figures *out, char *err, size_t errcap)
{
    const nf_allocator *A = cfg->alloc;
    const char *why = nf_modelrun_refuse(A);
    if (why)
        return nf_modelrun_errf(err, errcap, "%s", why);
    memset(out, 0, sizeof *out);
    snprintf(out->preset, sizeof out->preset, "%s", preset);
    nf_tlb_geom g;
    if (nf_tlb_preset(preset, &g, err, errcap) != 0)
        return -1;
    nf_tlb *t = nf_tlb_create(&g, err, errcap);
    if (!t)
        return -1;
    nf_model_config mcfg = {.frames = cfg->frames ? cfg->frames : DEFAULT_FRAMES, .overcommit = 1, .live = 1, .tlb = t};
    nf_model *m = nf_model_create(&mcfg);
    nf_model_proc *p = m ? nf_model_proc_create(m, A->name) : NULL;
    int rc = -1;
    if (!p) {
        nf_modelrun_errf(err, errcap, "cannot create the model: %s", strerror(errno));
        goto out;
    }
    if (nf_model_live_start(m, p, 0) != 0) {
        nf_modelrun_errf(err, errcap, "cannot start live mode: %s", strerror(errno));
        goto out;
    }
    nf_watch_pages w;
    nf_watch_pages_init(&w, p);
    double t0 = nf_now_s();
    nf_heap *h = A->create(&w.ps);
    if (!h) {
        nf_modelrun_errf(err, errcap, "%s cannot create a heap on the model: %s", A->name, strerror(errno));
        nf_model_live_stop(m);
        goto out;
    }
    nf_mem_heap_ctx hc;
    nf_mem_api api = nf_mem_heap(&hc, A, h);
    out->ops = client(arg, &api);
    out->wall_s = nf_now_s() - t0;
    nf_watch_sample(&w);
    figures_take(out, m, p, t, &w);
    A->destroy(h);
    nf_model_live_stop(m);
    if (out->ops < 0)
        nf_modelrun_errf(err, errcap, "the client failed on %s (a damaged block or a failed allocation)", A->name);
    else
        rc = 0;
out:
    nf_model_destroy(m);
    nf_tlb_destroy(t);
    return rc;
}

/* What a child sends back: its status, figures and reason. */
typedef struct reply {
    int rc;
    nf_modelrun_figures fig;
    char err[256];
} reply;

typedef struct preset_job {
    const nf_modelrun_config *cfg;
    const char *preset;
    nf_modelrun_client client;
    void *arg;
} preset_job;

static void preset_child(void *arg, void *rep, size_t n)
{
    preset_job *j = arg;
    reply *r = rep;
    (void)n;
    r->rc = nf_modelrun_one(j->cfg, j->preset, j->client, j->arg, &r->fig, r->err, sizeof r->err);
}

int nf_modelrun_presets(const nf_modelrun_config *cfg, const char *const *presets, size_t npresets,
                        nf_modelrun_client client, void *arg, nf_modelrun_figures *out, char *err, size_t errcap)
{
    for (size_t i = 0; i < npresets; i++) {
        preset_job j = {cfg, presets[i], client, arg};
        reply r;
        memset(&r, 0, sizeof r);
        if (nf_modelrun_in_child(preset_child, &j, &r, sizeof r, err, errcap) != 0)
            return -1;
        if (r.rc != 0)
            return nf_modelrun_errf(err, errcap, "%s", r.err);
        out[i] = r.fig;
    }
    return 0;
}
