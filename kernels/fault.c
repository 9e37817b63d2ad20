/* fault.c: the MMU's side of an access and the page-fault handler.
 *
 * An access: TLB lookup (a read hit is done); otherwise walk the table,
 * fault if the leaf does not allow it, set accessed (and dirty for a
 * store), count the walk and fill the TLB. A store that hits the TLB
 * checks the leaf's write and dirty bits without counting a walk (the
 * model's TLB keeps tags, not permissions; hardware would fault or assist
 * on the cached entry).
 *
 * The fault handler serves, as the kernel does: demand-zero (a zeroed
 * frame for a store, the zero page for a load), write-protect faults
 * (copy a shared frame: COW; reuse an exclusive one), swap-in (major) and
 * THP (a 2 MiB leaf in a VM_HUGE region that is aligned and empty: the
 * huge zero page for a load, 512 fresh frames for a store; a store to the
 * huge zero page replaces it with fresh frames, or splits it when there
 * is no room). Every fault it serves is a minor fault except swap-ins;
 * zero_page_maps counts the 4K and the huge zero page's mappings.
 *
 * Simplifications against the kernel: no swap cache, so a swap-in always
 * makes a private, writable, dirty copy and drops one reference to the
 * slot (procs sharing a slot after fork each read their own copy); THP
 * needs 512 free frames and never reclaims for them (it falls back to 4K).
 */
#include "model_impl.h"

#include <string.h>

static const char *const result_names[] = {
    "ok", "segv_maperr", "segv_accerr", "segv_guard", "killed",
};

const char *nf_model_result_name(nf_model_result r)
{
    return (unsigned)r < sizeof result_names / sizeof *result_names ? result_names[r] : "?";
}

/* ---- helpers ---- */

static void map_new_anon(nf_model *m, nf_model_proc *p, const nf_vma *v, uint64_t va, uint32_t pfn)
{
    nf_frame *f = &m->fr[pfn];
    f->ref = 1;
    f->owner = p->id;
    f->va = va & ~(uint64_t)(NF_MODEL_PAGE - 1);
    if (v->flags & VM_LOCKED)
        f->flags |= FRF_MLOCK;
    else
        nf_lru_add(m, pfn);
}

static uint64_t leaf_bits(const nf_vma *v, bool writable)
{
    uint64_t b = PTE_P | PTE_A;
    if (v->flags & VM_READ)
        b |= PTE_US;
    if (writable && (v->flags & VM_WRITE))
        b |= PTE_RW | PTE_D;
    return b;
}

/* A stack below its VMA: grow it, or say why not. */
static nf_model_result stack_grow(nf_model_proc *p, uint64_t va, nf_vma **out)
{
    size_t i = 0;
    while (i < p->nvma && p->vma[i].end <= va)
        i++;
    if (i == p->nvma || !(p->vma[i].flags & VM_GROWSDOWN))
        return NF_MODEL_SEGV_MAPERR;
    nf_vma *v = &p->vma[i];
    uint64_t page = va & ~(uint64_t)(NF_MODEL_PAGE - 1);
    if (v->end - page > NF_MODEL_STACK_LIMIT)
        return v->end - page <= NF_MODEL_STACK_LIMIT + NF_MODEL_GUARD_GAP ? NF_MODEL_SEGV_GUARD : NF_MODEL_SEGV_MAPERR;
    if (i > 0 && p->vma[i - 1].end + NF_MODEL_GUARD_GAP > page)
        return NF_MODEL_SEGV_GUARD;
    uint64_t pages = (v->start - page) / NF_MODEL_PAGE;
    if (nf_commit_charge(p->m, p, pages) != 0)
        return NF_MODEL_SEGV_MAPERR;
    v->start = page;
    *out = v;
    return NF_MODEL_OK;
}

/* The PD entry of the aligned 2 MiB region at lo (its tables exist). */
static uint64_t *pd_entry(nf_model *m, const nf_model_proc *p, uint64_t lo)
{
    uint64_t *root = (uint64_t *)nf_frame_mem(m, p->root);
    uint64_t *pdp = (uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(root[(lo >> 39) & 511]));
    uint64_t *pd = (uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(pdp[(lo >> 30) & 511]));
    return &pd[(lo >> 21) & 511];
}

/* Room for a 2 MiB page: THP never reclaims (it falls back to 4K). */
static bool huge_room(const nf_model *m) { return m->nframes - m->frames_used >= 512 + 16; }

/* Fill the deposit node t of the region at lo with 512 fresh zeroed
 * frames (huge_room() checked: no reclaim) and make *pde the writable
 * 2 MiB leaf naming it. */
static void huge_fill(nf_model *m, nf_model_proc *p, const nf_vma *v, uint64_t lo, uint64_t *t, uint64_t *pde)
{
    uint32_t node = (uint32_t)(((uint8_t *)t - m->pool) / NF_MODEL_PAGE);
    uint64_t bits = leaf_bits(v, true);
    for (unsigned i = 0; i < 512; i++) {
        uint32_t pfn = nf_frame_alloc_zeroed(m, p, FR_ANON);
        map_new_anon(m, p, v, lo + (uint64_t)i * NF_MODEL_PAGE, pfn);
        t[i] = PTE_MK(pfn, bits);
    }
    m->fr[node].used = 512;
    *pde = PTE_MK(node, bits | PTE_PS);
    p->rss += 512;
}

/* The region at lo lies in v and may take a 2 MiB page. */
static bool huge_fits(const nf_vma *v, uint64_t lo)
{
    return (v->flags & VM_HUGE) && lo >= v->start && lo + NF_MODEL_HUGE_PAGE <= v->end;
}

/* THP: a 2 MiB leaf for the aligned region around va, if it fits and is
 * empty. A load maps the huge zero page: the deposit's 512 entries name
 * the zero frame, read-only, so no frame is used and RSS is unchanged (as
 * the kernel's do_huge_pmd_anonymous_page with use_zero_page, its
 * default). A store maps 512 fresh frames. Returns OK when mapped,
 * SEGV_MAPERR (as "no") to fall back. */
static nf_model_result huge_fault(nf_model *m, nf_model_proc *p, const nf_vma *v, uint64_t va, bool write)
{
    uint64_t lo = va & ~(uint64_t)(NF_MODEL_HUGE_PAGE - 1);
    if (!huge_fits(v, lo))
        return NF_MODEL_SEGV_MAPERR;
    /* the PD entry must be empty: look one 4K below the PD level */
    uint64_t *pde = nf_pt_ensure(m, p, lo); /* creates PML4..PD and a PT: the deposit */
    if (!pde)
        return p->alive ? NF_MODEL_SEGV_MAPERR : NF_MODEL_KILLED;
    uint32_t node = (uint32_t)(((uint8_t *)pde - m->pool) / NF_MODEL_PAGE);
    if (m->fr[node].used != 0)
        return NF_MODEL_SEGV_MAPERR; /* some 4K pages exist already */
    uint64_t *t = (uint64_t *)nf_frame_mem(m, node);
    uint64_t *e = pd_entry(m, p, lo);
    if (!write) {
        uint64_t bits = leaf_bits(v, false);
        for (unsigned i = 0; i < 512; i++)
            t[i] = PTE_MK(ZERO_PFN, bits);
        m->fr[node].used = 512;
        *e = PTE_MK(node, bits | PTE_PS);
        p->zero_mapped += 512;
        p->c.zero_page_maps++;
        m->c.zero_page_maps++;
        return NF_MODEL_OK;
    }
    if (!huge_room(m))
        return NF_MODEL_SEGV_MAPERR;
    huge_fill(m, p, v, lo, t, e);
    return NF_MODEL_OK;
}

/* A 2 MiB leaf that maps the huge zero page (its deposit names frame 0;
 * a huge leaf maps the zero frame in all 512 entries or in none). */
static bool huge_is_zero(const nf_model *m, uint64_t pde)
{
    return PTE_PFN(((const uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(pde)))[0]) == ZERO_PFN;
}

/* A store to the huge zero page: replace it with a fresh 2 MiB page when
 * there is room (the kernel's do_huge_zero_wp_pmd, Linux 6.13 and later);
 * false to fall back to splitting it into 512 zero-page PTEs, the first of
 * which the store then copies (4K). */
static bool huge_zero_write(nf_model *m, nf_model_proc *p, const nf_vma *v, uint64_t va, uint64_t *pde)
{
    uint64_t lo = va & ~(uint64_t)(NF_MODEL_HUGE_PAGE - 1);
    if (!huge_fits(v, lo) || !(v->flags & VM_WRITE) || !huge_room(m))
        return false;
    nf_pte_flush(m, p, lo);
    if (m->live.on && p == m->cur)
        for (unsigned i = 1; i < 512; i++)
            nf_live_unmap(m, lo + (uint64_t)i * NF_MODEL_PAGE);
    huge_fill(m, p, v, lo, (uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(*pde)), pde);
    p->zero_mapped -= 512;
    return true;
}

/* ---- the fault handler ---- */

nf_model_result nf_fault(nf_model *m, nf_model_proc *p, uint64_t va, bool write)
{
    nf_vma *v = nf_vma_find(p, va);
    if (!v) {
        nf_model_result r = stack_grow(p, va, &v);
        if (r != NF_MODEL_OK)
            return r;
    }
    if (write ? !(v->flags & VM_WRITE) : !(v->flags & VM_READ))
        return NF_MODEL_SEGV_ACCERR;
    uint64_t page = va & ~(uint64_t)(NF_MODEL_PAGE - 1);
    bool huge;
    uint64_t *pte = nf_pt_lookup(m, p, page, &huge);
    if (pte && huge) {
        if (write && huge_is_zero(m, *pte) && huge_zero_write(m, p, v, page, pte)) {
            p->c.minor_faults++;
            m->c.minor_faults++;
            return NF_MODEL_OK;
        }
        nf_huge_split(m, p, page, pte);
        pte = NULL;
    }
    if ((!pte || *pte == 0) && (v->flags & VM_HUGE)) {
        nf_model_result r = huge_fault(m, p, v, page, write);
        if (r == NF_MODEL_OK || r == NF_MODEL_KILLED) {
            if (r == NF_MODEL_OK) {
                p->c.minor_faults++;
                m->c.minor_faults++;
            }
            return r;
        }
    }
    if (!pte || *pte == 0) {
        pte = nf_pt_ensure(m, p, page);
        if (!pte)
            return NF_MODEL_KILLED;
    }
    uint64_t e = *pte;
    if (e == 0) {
        if (!write) { /* the zero page, read-only */
            nf_pt_note_set(m, pte, 0, 1);
            *pte = PTE_MK(ZERO_PFN, leaf_bits(v, false));
            p->zero_mapped++;
            p->c.zero_page_maps++;
            m->c.zero_page_maps++;
        } else {
            uint32_t pfn = nf_frame_alloc_zeroed(m, p, FR_ANON);
            if (pfn == NIL || !p->alive) {
                if (pfn != NIL)
                    nf_frame_free(m, pfn);
                return NF_MODEL_KILLED;
            }
            map_new_anon(m, p, v, page, pfn);
            nf_pt_note_set(m, pte, 0, 1);
            *pte = PTE_MK(pfn, leaf_bits(v, true));
            p->rss++;
        }
        p->c.minor_faults++;
        m->c.minor_faults++;
        return NF_MODEL_OK;
    }
    if (e & PTE_SWAP) { /* major: read it back, a private copy */
        uint32_t slot = (uint32_t)PTE_PFN(e);
        uint32_t pfn = nf_frame_alloc(m, p, FR_ANON);
        if (pfn == NIL || !p->alive) {
            if (pfn != NIL)
                nf_frame_free(m, pfn);
            return NF_MODEL_KILLED;
        }
        if (nf_swap_read(m, slot, pfn) != 0) {
            nf_frame_free(m, pfn);
            return NF_MODEL_SEGV_MAPERR; /* SIGBUS, really */
        }
        map_new_anon(m, p, v, page, pfn);
        nf_swap_put(m, slot);
        *pte = PTE_MK(pfn, leaf_bits(v, true));
        p->swap--;
        p->rss++;
        p->c.major_faults++;
        m->c.major_faults++;
        m->c.swap_ins++;
        return NF_MODEL_OK;
    }
    /* present */
    if (!write || (e & PTE_RW)) { /* stale TLB or a missing user bit */
        nf_pte_flush(m, p, page);
        *pte = e | leaf_bits(v, false) | (write ? PTE_D : 0);
        return NF_MODEL_OK;
    }
    uint32_t src = (uint32_t)PTE_PFN(e);
    nf_pte_flush(m, p, page);
    if (src != ZERO_PFN && m->fr[src].ref == 1) { /* exclusive: reuse */
        *pte = (e & ~PTE_COW) | PTE_RW | PTE_D | PTE_A;
        p->c.minor_faults++;
        m->c.minor_faults++;
        return NF_MODEL_OK;
    }
    if (src != ZERO_PFN)
        m->fr[src].flags |= FRF_PIN;
    uint32_t pfn = src == ZERO_PFN ? nf_frame_alloc_zeroed(m, p, FR_ANON) : nf_frame_alloc(m, p, FR_ANON);
    if (src != ZERO_PFN)
        m->fr[src].flags &= (uint8_t)~FRF_PIN;
    if (pfn == NIL || !p->alive) {
        if (pfn != NIL)
            nf_frame_free(m, pfn);
        return NF_MODEL_KILLED;
    }
    e = *pte; /* the killer may have taken the sharer, not this entry */
    if (src == ZERO_PFN) {
        p->zero_mapped--;
        p->rss++;
    } else {
        memcpy(nf_frame_mem(m, pfn), nf_frame_mem(m, src), NF_MODEL_PAGE);
        nf_frame_put(m, src);
        p->c.cow_faults++;
        m->c.cow_faults++;
    }
    map_new_anon(m, p, v, page, pfn);
    *pte = PTE_MK(pfn, leaf_bits(v, true));
    p->c.minor_faults++;
    m->c.minor_faults++;
    return NF_MODEL_OK;
}

/* ---- accesses ---- */

/* The MMU after a walk that found a usable leaf: count the walk (PWCs)
 * and fill the TLB. */
static inline void count_walk(nf_model *m, nf_model_proc *p, uint64_t va, bool huge)
{
    m->c.walks++;
    if (m->cfg.tlb) {
        nf_page_size sz = huge ? NF_PG_2M : NF_PG_4K;
        m->c.walk_refs += nf_tlb_walk_fill(m->cfg.tlb, nf_asid(p), va, sz);
    } else {
        m->c.walk_refs += huge ? 3 : 4;
    }
}

/* A fault, or a TLB hit whose leaf does not allow the store. Out of line:
 * the walk path below stays small. */
__attribute__((noinline)) static nf_model_result access_fault(nf_model *m, nf_model_proc *p, uint64_t va, bool write,
                                                              int tlb_hit)
{
    bool huge;
    uint64_t *pte;
    if (tlb_hit) {
        pte = nf_pt_leaf(m, p, va, &huge);
        const uint64_t need = PTE_P | PTE_US | PTE_RW | PTE_D;
        if (pte && (*pte & need) == need)
            return NF_MODEL_OK;
        nf_tlb_invalidate_page(m->cfg.tlb, nf_asid(p), va);
    }
    pte = nf_pt_leaf(m, p, va, &huge);
    uint64_t need = PTE_P | PTE_US | (write ? PTE_RW : 0);
    if (!pte || (*pte & need) != need || (*pte & PTE_SWAP)) {
        nf_model_result r = nf_fault(m, p, va, write);
        if (r != NF_MODEL_OK) {
            if (r != NF_MODEL_KILLED) {
                p->c.segv++;
                m->c.segv++;
                p->c.last_segv = r;
                p->c.last_segv_addr = va;
            }
            return r;
        }
        pte = nf_pt_leaf(m, p, va, &huge);
    }
    *pte |= PTE_A | (write ? PTE_D : 0);
    count_walk(m, p, va, huge);
    return NF_MODEL_OK;
}

nf_model_result nf_access_slow(nf_model *m, nf_model_proc *p, uint64_t va, bool write, int tlb_hit)
{
    if (!tlb_hit) { /* a TLB miss: walk; fault only if the leaf does not allow it */
        bool huge;
        uint64_t *pte = nf_pt_leaf(m, p, va, &huge);
        uint64_t need = PTE_P | PTE_US | (write ? PTE_RW : 0);
        if (pte && (*pte & (need | PTE_SWAP)) == need) {
            *pte |= PTE_A | (write ? PTE_D : 0);
            count_walk(m, p, va, huge);
            return NF_MODEL_OK;
        }
    }
    return access_fault(m, p, va, write, tlb_hit);
}

nf_model_result nf_model_access(nf_model_proc *p, uint64_t va, int is_write)
{
    nf_model *m = p->m;
    if (__builtin_expect(p != m->cur || !p->alive, 0)) {
        if (!p->alive)
            return NF_MODEL_KILLED;
        nf_model_switch(p);
    }
    m->c.accesses++;
    int hit = 0;
    if (m->cfg.tlb) {
        hit = nf_tlb_lookup_va(m->cfg.tlb, nf_asid(p), va, NULL) != NF_TLB_MISS;
        if (hit && !is_write)
            return NF_MODEL_OK;
    }
    return nf_access_slow(m, p, va, is_write, hit);
}

void nf_access_prefetch(nf_model *m, nf_model_proc *p, uint64_t va)
{
    if (m->cfg.tlb)
        nf_tlb_prefetch(m->cfg.tlb, nf_asid(p), va);
    nf_pt_prefetch_leaf(m, p, va);
}

/* ---- data through the model ---- */

static nf_model_result copy(nf_model_proc *p, uint64_t va, void *buf, size_t n, bool write)
{
    nf_model *m = p->m;
    uint8_t *b = buf;
    while (n) {
        size_t off = va & (NF_MODEL_PAGE - 1), k = NF_MODEL_PAGE - off;
        if (k > n)
            k = n;
        nf_model_result r = nf_model_access(p, va, write);
        if (r != NF_MODEL_OK)
            return r;
        bool huge;
        uint64_t *pte = nf_pt_lookup(m, p, va, &huge);
        if (huge) { /* the deposit node lists the 4K frames */
            uint64_t *t = (uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(*pte));
            pte = &t[(va >> 12) & 511];
        }
        uint8_t *mem = (uint8_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(*pte)) + off;
        if (write)
            memcpy(mem, b, k);
        else
            memcpy(b, mem, k);
        b += k;
        va += k;
        n -= k;
    }
    return NF_MODEL_OK;
}

nf_model_result nf_model_write(nf_model_proc *p, uint64_t va, const void *src, size_t n)
{
    return copy(p, va, (void *)src, n, true);
}

nf_model_result nf_model_read(nf_model_proc *p, uint64_t va, void *dst, size_t n) { return copy(p, va, dst, n, false); }
