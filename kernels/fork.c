/* fork.c: a child address space sharing every page copy-on-write.
 *
 * The child gets the parent's VMAs (mlock is not inherited, as in the
 * kernel) and its own tables. Each present private page is mapped in both
 * and write-protected in both (PTE_COW when the VMA is writable), its
 * frame's reference count raised; the first write in either proc is a COW
 * fault that copies one frame (or reuses it when the other side already
 * let go). Swap entries are shared by raising the slot's count. THP leaves
 * are split first (the kernel shares them whole; a simplification). The
 * parent's TLB entries for the pages made read-only are shot down.
 */
#include "model_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fork_ctx {
    nf_model_proc *child;
    bool failed;
};

static void copy_fn(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte, void *u)
{
    struct fork_ctx *c = u;
    if (c->failed)
        return;
    nf_model_proc *ch = c->child;
    uint64_t *dst = nf_pt_ensure(m, ch, va);
    if (!dst) {
        c->failed = true;
        return;
    }
    uint64_t e = *pte; /* re-read: the allocation may have reclaimed it */
    if (e == 0)
        return;
    if (e & PTE_SWAP) {
        m->slot_ref[PTE_PFN(e)]++;
        ch->swap++;
    } else {
        uint32_t pfn = (uint32_t)PTE_PFN(e);
        if (e & PTE_RW) {
            nf_pte_flush(m, p, va);
            e = (e & ~PTE_RW) | PTE_COW;
            *pte = e;
        }
        if (pfn == ZERO_PFN) {
            ch->zero_mapped++;
        } else {
            m->fr[pfn].ref++;
            ch->rss++;
        }
    }
    nf_pt_note_set(m, dst, 0, e);
    *dst = e;
}

nf_model_proc *nf_model_fork(nf_model_proc *parent)
{
    nf_model *m = parent->m;
    if (!parent->alive) {
        errno = ESRCH;
        return NULL;
    }
    nf_model_proc *ch = nf_model_proc_create(m, parent->name);
    if (!ch)
        return NULL;
    ch->oom_adj = parent->oom_adj;
    ch->brk_start = parent->brk_start;
    ch->brk = parent->brk;
    ch->mmap_base = parent->mmap_base;
    uint64_t charge = parent->committed;
    if (nf_commit_charge(m, ch, charge) != 0) {
        nf_model_proc_exit(ch);
        errno = ENOMEM;
        return NULL;
    }
    ch->vma = malloc((parent->nvma ? parent->nvma : 1) * sizeof *ch->vma);
    if (!ch->vma) {
        nf_model_proc_exit(ch);
        errno = ENOMEM;
        return NULL;
    }
    memcpy(ch->vma, parent->vma, parent->nvma * sizeof *ch->vma);
    ch->nvma = ch->vcap = parent->nvma;
    for (size_t i = 0; i < ch->nvma; i++)
        ch->vma[i].flags &= ~(unsigned)VM_LOCKED;
    struct fork_ctx c = {ch, false};
    int adj = parent->oom_adj;
    parent->oom_adj = -1000; /* its tables are being walked: not a victim now */
    for (size_t i = 0; i < parent->nvma && !c.failed; i++)
        nf_pt_range(m, parent, parent->vma[i].start, parent->vma[i].end, copy_fn, &c, NF_PTR_SPLIT);
    parent->oom_adj = adj;
    if (c.failed || !ch->alive) {
        nf_model_proc_exit(ch);
        errno = ENOMEM;
        return NULL;
    }
    return ch;
}
