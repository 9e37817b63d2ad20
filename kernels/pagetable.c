/* pagetable.c: the x86-64 4-level page table (PML4, PDP, PD, PT).
 *
 * Each node is one frame of the pool: 512 64-bit entries, read and written
 * in place. Upper entries carry PTE_TABLE; leaves carry the page's bits.
 * A 2 MiB (THP) leaf is a PD entry with PTE_PS. Departure from x86: its
 * address field names the PT node that a split would install (the
 * kernel's deposited page table), whose 512 PTEs already map the 512
 * frames, which need not be contiguous in the pool. Splitting is clearing
 * PTE_PS. That node counts as a page-table page, as the kernel's deposit
 * does.
 *
 * Invariant: fr[node].used = number of non-zero entries of the node.
 */
#include "model_impl.h"

#include <string.h>

static inline uint64_t *node_of(const nf_model *m, uint64_t entry)
{
    return (uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(entry));
}

static inline unsigned idx(uint64_t va, int level) /* level 3 = PML4 .. 0 = PT */
{
    return (unsigned)(va >> (12 + 9 * level)) & 511u;
}

uint64_t *nf_pt_lookup(const nf_model *m, const nf_model_proc *p, uint64_t va, bool *huge)
{
    *huge = false;
    if (p->root == NIL)
        return NULL;
    uint64_t *t = (uint64_t *)nf_frame_mem(m, p->root);
    for (int level = 3; level > 0; level--) {
        uint64_t *e = &t[idx(va, level)];
        if (!(*e & PTE_P))
            return NULL;
        if (level == 1 && (*e & PTE_PS)) {
            *huge = true;
            return e;
        }
        t = node_of(m, *e);
    }
    return &t[idx(va, 0)];
}

uint64_t *nf_pt_pd_slow(const nf_model *m, nf_model_proc *p, uint64_t va)
{
    if (p->root == NIL)
        return NULL;
    uint64_t *t = (uint64_t *)nf_frame_mem(m, p->root);
    for (int level = 3; level > 1; level--) {
        uint64_t e = t[idx(va, level)];
        if (!(e & PTE_P))
            return NULL;
        t = node_of(m, e);
    }
    p->pd_key = va >> 30;
    p->pd = t;
    return t;
}

void nf_pt_note_set(nf_model *m, uint64_t *pte, uint64_t old, uint64_t new_)
{
    if ((old != 0) == (new_ != 0))
        return;
    uint32_t node = (uint32_t)(((uint8_t *)pte - m->pool) / NF_MODEL_PAGE);
    if (new_)
        m->fr[node].used++;
    else
        m->fr[node].used--;
}

static uint32_t new_node(nf_model *m, nf_model_proc *p)
{
    uint32_t pfn = nf_frame_alloc_zeroed(m, p, FR_PT);
    if (pfn == NIL)
        return NIL;
    m->fr[pfn].ref = 1;
    p->pt++;
    return pfn;
}

uint64_t *nf_pt_ensure(nf_model *m, nf_model_proc *p, uint64_t va)
{
    if (p->root == NIL)
        return NULL;
    for (;;) {
        uint64_t *t = (uint64_t *)nf_frame_mem(m, p->root);
        int level = 3;
        for (; level > 0; level--) {
            uint64_t *e = &t[idx(va, level)];
            if (!(*e & PTE_P))
                break;
            if (level == 1 && (*e & PTE_PS))
                return NULL; /* caller splits first */
            t = node_of(m, *e);
        }
        if (level == 0)
            return &t[idx(va, 0)];
        /* A missing table: allocating may reclaim or kill, so start over. */
        uint32_t pfn = new_node(m, p);
        if (pfn == NIL || !p->alive) {
            if (pfn != NIL) {
                nf_frame_free(m, pfn);
                p->pt--;
            }
            return NULL;
        }
        uint64_t *e = &t[idx(va, level)];
        if (*e & PTE_P) { /* cannot happen (reclaim frees no table), but be safe */
            nf_frame_free(m, pfn);
            p->pt--;
            continue;
        }
        nf_pt_note_set(m, e, 0, PTE_TABLE);
        *e = PTE_MK(pfn, PTE_TABLE);
    }
}

/* Recursive range walk. Returns true when the node became empty. */
void nf_huge_split(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pde)
{
    uint64_t e = *pde;
    uint64_t *t = node_of(m, e);
    uint64_t bits = e & (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_COW);
    for (unsigned i = 0; i < 512; i++)
        t[i] = (t[i] & PTE_ADDR) | bits;
    *pde = e & ~PTE_PS;
    nf_pte_flush(m, p, va & ~(uint64_t)(NF_MODEL_HUGE_PAGE - 1));
}

static bool range_rec(nf_model *m, nf_model_proc *p, uint64_t *t, int level, uint64_t base, uint64_t start,
                      uint64_t end, nf_pt_fn fn, void *u, unsigned flags)
{
    bool free_empty = flags & NF_PTR_FREE_EMPTY;
    uint64_t span = 1ull << (12 + 9 * level);
    for (unsigned i = idx(start > base ? start : base, level); i < 512; i++) {
        uint64_t lo = base + (uint64_t)i * span;
        if (lo >= end)
            break;
        uint64_t *e = &t[i];
        if (*e == 0)
            continue;
        if (level == 1 && (*e & PTE_PS) && (flags & NF_PTR_SPLIT))
            nf_huge_split(m, p, lo, e);
        if (level == 0 || (level == 1 && (*e & PTE_PS))) {
            fn(m, p, lo, e, u);
            continue;
        }
        if (!(*e & PTE_P))
            continue;
        uint64_t *child = node_of(m, *e);
        bool empty = range_rec(m, p, child, level - 1, lo, start, end, fn, u, flags);
        if (empty && free_empty) {
            p->pd_key = UINT64_MAX;
            nf_frame_free(m, (uint32_t)PTE_PFN(*e));
            p->pt--;
            nf_pt_note_set(m, e, *e, 0);
            *e = 0;
        }
    }
    uint32_t node = (uint32_t)(((uint8_t *)t - m->pool) / NF_MODEL_PAGE);
    return m->fr[node].used == 0;
}

void nf_pt_range(nf_model *m, nf_model_proc *p, uint64_t start, uint64_t end, nf_pt_fn fn, void *u, unsigned flags)
{
    if (p->root == NIL || start >= end)
        return;
    range_rec(m, p, (uint64_t *)nf_frame_mem(m, p->root), 3, 0, start, end, fn, u, flags);
}

static void free_rec(nf_model *m, nf_model_proc *p, uint32_t node, int level)
{
    uint64_t *t = (uint64_t *)nf_frame_mem(m, node);
    if (level > 0)
        for (unsigned i = 0; i < 512; i++)
            if ((t[i] & PTE_P) && !(level == 1 && (t[i] & PTE_PS)))
                free_rec(m, p, (uint32_t)PTE_PFN(t[i]), level - 1);
    nf_frame_free(m, node);
    p->pt--;
}

void nf_pt_free_all(nf_model *m, nf_model_proc *p)
{
    if (p->root == NIL)
        return;
    p->pd_key = UINT64_MAX;
    free_rec(m, p, p->root, 3);
    p->root = NIL;
}
