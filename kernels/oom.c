/* oom.c: the OOM killer.
 *
 * Called when a frame is needed, none is free and reclaim found nothing
 * (no swap left, or everything locked or pinned). The victim is the live
 * proc with the highest badness, as the kernel's oom_badness():
 *   rss + swap entries + page-table pages
 *   + oom_adj * (frames + swap slots) / 1000        (all in pages)
 * oom_adj -1000 exempts a proc. Ties go to the proc created last. The
 * victim is torn down in the model (its frames, slots and tables freed);
 * later accesses of it return NF_MODEL_KILLED. Nothing real is killed.
 */
#include "model_impl.h"

bool nf_oom_kill(nf_model *m)
{
    nf_model_proc *victim = NULL;
    int64_t best = 0;
    int64_t scale = (int64_t)m->nframes + m->nslots;
    for (size_t i = 0; i < m->nprocs; i++) {
        nf_model_proc *p = m->procs[i];
        if (!p->alive || p->oom_adj <= -1000)
            continue;
        int64_t score = (int64_t)(p->rss + p->swap + p->pt) + p->oom_adj * scale / 1000;
        if (!victim || score >= best) {
            victim = p;
            best = score;
        }
    }
    if (!victim)
        return false;
    nf_proc_teardown(m, victim);
    m->c.oom_kills++;
    return true;
}
