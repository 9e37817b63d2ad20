/* watch.c: the model page source, with the peaks of RSS, VSZ, page-table
 * pages and VMAs kept.
 *
 * Why sampling around the page-source calls is enough: between two calls
 * only accesses happen, and an access can only raise RSS and page-table
 * pages (a fault maps a frame and maybe a table; with no swap configured
 * nothing is reclaimed), never lower them, and cannot change VSZ or the
 * VMAs. Every decrease happens inside a call (munmap, madvise, a shrinking
 * break), so the gauges just before each call, just after it and at the
 * end of the run bound every peak exactly.
 */
#include "watch.h"

static nf_watch_pages *W(nf_pages *ps) { return (nf_watch_pages *)ps; }

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

void nf_watch_sample(nf_watch_pages *w)
{
    nf_model_proc_counters c;
    nf_model_proc_counters_get(w->p, &c);
    w->rss_peak = max64(w->rss_peak, c.rss_pages);
    w->vsz_peak = max64(w->vsz_peak, c.vsz_pages);
    w->pt_peak = max64(w->pt_peak, c.pt_pages);
    w->vmas_peak = max64(w->vmas_peak, c.vmas);
}

static void *w_map(nf_pages *ps, size_t len, unsigned hints)
{
    nf_watch_sample(W(ps));
    void *r = W(ps)->inner->map(ps, len, hints);
    nf_watch_sample(W(ps));
    return r;
}

static int w_unmap(nf_pages *ps, void *addr, size_t len)
{
    nf_watch_sample(W(ps));
    int r = W(ps)->inner->unmap(ps, addr, len);
    nf_watch_sample(W(ps));
    return r;
}

static int w_advise(nf_pages *ps, void *addr, size_t len, nf_advice a)
{
    nf_watch_sample(W(ps));
    int r = W(ps)->inner->advise(ps, addr, len, a);
    nf_watch_sample(W(ps));
    return r;
}

static int w_lock(nf_pages *ps, void *addr, size_t len)
{
    nf_watch_sample(W(ps));
    int r = W(ps)->inner->lock(ps, addr, len);
    nf_watch_sample(W(ps));
    return r;
}

static int w_unlock(nf_pages *ps, void *addr, size_t len)
{
    nf_watch_sample(W(ps));
    int r = W(ps)->inner->unlock(ps, addr, len);
    nf_watch_sample(W(ps));
    return r;
}

static int w_protect(nf_pages *ps, void *addr, size_t len, unsigned prot)
{
    nf_watch_sample(W(ps));
    int r = W(ps)->inner->protect(ps, addr, len, prot);
    nf_watch_sample(W(ps));
    return r;
}

static void *w_grow(nf_pages *ps, intptr_t delta)
{
    nf_watch_sample(W(ps));
    void *r = W(ps)->inner->grow(ps, delta);
    nf_watch_sample(W(ps));
    return r;
}

static const nf_pages_ops watch_ops = {
    .name = "model",
    .map = w_map,
    .unmap = w_unmap,
    .advise = w_advise,
    .lock = w_lock,
    .unlock = w_unlock,
    .protect = w_protect,
    .grow = w_grow,
};

void nf_watch_pages_init(nf_watch_pages *w, nf_model_proc *p)
{
    *w = (nf_watch_pages){.p = p};
    nf_model_pages_init(&w->ps, p);
    w->inner = w->ps.ops;
    w->ps.ops = &watch_ops;
    nf_watch_sample(w);
}
