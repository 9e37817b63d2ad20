/* watch.h: the model page source with the gauges' peaks kept (watch.c).
 * Internal to modelrun/. */
#ifndef NF_MODELRUN_WATCH_H
#define NF_MODELRUN_WATCH_H

#include "notfree/model.h"
#include "notfree/modelrun.h"
#include "notfree/pages.h"

/* ps first: the page source's operations get &ps and cast back. The
 * model's own operations read ps.impl (the proc) and count into ps. */
typedef struct nf_watch_pages {
    nf_pages ps;
    const nf_pages_ops *inner; /* the model's operations */
    nf_model_proc *p;
    uint64_t rss_peak, vsz_peak, pt_peak, vmas_peak;
} nf_watch_pages;

void nf_watch_pages_init(nf_watch_pages *w, nf_model_proc *p);
/* Take the gauges now into the peaks (also done around every call). */
void nf_watch_sample(nf_watch_pages *w);

#endif
