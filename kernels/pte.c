/* pte.c: changing a leaf of a process's table: the shootdowns (TLB entry,
 * live mapping) and the accounting (frame references, swap slots, RSS)
 * that go with it. */
#include "model_impl.h"

void nf_pte_flush(nf_model *m, nf_model_proc *p, uint64_t va)
{
    if (m->cfg.tlb && (p == m->cur || nf_tlb_geometry(m->cfg.tlb)->asid))
        nf_tlb_invalidate_page(m->cfg.tlb, nf_asid(p), va);
    if (m->live.on && p == m->cur)
        nf_live_unmap(m, va);
}

void nf_pte_zap(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte)
{
    uint64_t e = *pte;
    if (e == 0)
        return;
    if (e & PTE_SWAP) {
        nf_swap_put(m, (uint32_t)PTE_PFN(e));
        p->swap--;
    } else if (e & PTE_P) {
        uint32_t pfn = (uint32_t)PTE_PFN(e);
        nf_pte_flush(m, p, va);
        if (pfn == ZERO_PFN) {
            p->zero_mapped--;
        } else {
            p->rss--;
            nf_frame_put(m, pfn);
        }
    }
    nf_pt_note_set(m, pte, e, 0);
    *pte = 0;
}
