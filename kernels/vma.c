/* vma.c: the address space: VMAs, placement, mmap, munmap, mprotect, brk,
 * madvise, mlock, and the commit charge of overcommit.
 *
 * Overcommit (vm.overcommit_memory), on the pages of private writable
 * mappings (VM_ACCOUNT; MAP_NORESERVE skips it except in mode 2):
 *   0  heuristic: refuse one request larger than RAM + swap
 *   1  always grant
 *   2  strict: refuse when committed + request > swap + RAM * ratio / 100
 * Refusals are ENOMEM, as mmap, brk and fork give them.
 */
#include "model_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PG ((uint64_t)NF_MODEL_PAGE)
#define PAGES(len) (((len) + PG - 1) / PG)

uint64_t nf_commit_limit(const nf_model *m)
{
    unsigned ratio = m->cfg.overcommit_ratio ? m->cfg.overcommit_ratio : 50;
    return m->nslots + (uint64_t)m->nframes * ratio / 100;
}

int nf_commit_charge(nf_model *m, nf_model_proc *p, uint64_t pages)
{
    if (m->cfg.overcommit == 0 && pages > (uint64_t)m->nframes + m->nslots)
        return -1;
    if (m->cfg.overcommit == 2 && m->committed + pages > nf_commit_limit(m))
        return -1;
    m->committed += pages;
    p->committed += pages;
    return 0;
}

void nf_commit_uncharge(nf_model *m, nf_model_proc *p, uint64_t pages)
{
    m->committed -= pages;
    p->committed -= pages;
}

/* ---- the sorted VMA array ---- */

nf_vma *nf_vma_find(nf_model_proc *p, uint64_t va)
{
    if (p->vhint < p->nvma && va >= p->vma[p->vhint].start && va < p->vma[p->vhint].end)
        return &p->vma[p->vhint];
    size_t lo = 0, hi = p->nvma;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->vma[mid].end <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->nvma && va >= p->vma[lo].start) {
        p->vhint = lo;
        return &p->vma[lo];
    }
    return NULL;
}

static size_t first_ending_after(const nf_model_proc *p, uint64_t va)
{
    size_t i = 0;
    while (i < p->nvma && p->vma[i].end <= va)
        i++;
    return i;
}

static int vma_insert_at(nf_model_proc *p, size_t i, nf_vma v)
{
    if (p->nvma == p->vcap) {
        size_t cap = p->vcap ? p->vcap * 2 : 16;
        nf_vma *n = realloc(p->vma, cap * sizeof *n);
        if (!n)
            return -1;
        p->vma = n;
        p->vcap = cap;
    }
    memmove(&p->vma[i + 1], &p->vma[i], (p->nvma - i) * sizeof *p->vma);
    p->vma[i] = v;
    p->nvma++;
    return 0;
}

static void vma_remove_at(nf_model_proc *p, size_t i)
{
    memmove(&p->vma[i], &p->vma[i + 1], (p->nvma - i - 1) * sizeof *p->vma);
    p->nvma--;
}

/* Make va a VMA boundary. */
static int vma_split(nf_model_proc *p, uint64_t va)
{
    size_t i = first_ending_after(p, va);
    if (i == p->nvma || p->vma[i].start >= va)
        return 0;
    nf_vma hi = p->vma[i];
    hi.start = va;
    p->vma[i].end = va;
    return vma_insert_at(p, i + 1, hi);
}

static void vma_merge(nf_model_proc *p)
{
    for (size_t i = 0; i + 1 < p->nvma;) {
        nf_vma *a = &p->vma[i], *b = &p->vma[i + 1];
        if (a->end == b->start && a->flags == b->flags && !(a->flags & VM_GROWSDOWN)) {
            a->end = b->end;
            vma_remove_at(p, i + 1);
        } else {
            i++;
        }
    }
    p->vhint = 0;
}

static bool range_ok(const nf_model *m, uint64_t addr, uint64_t len)
{
    return (addr & (PG - 1)) == 0 && len > 0 && addr >= m->va_base && addr + len <= m->va_base + m->va_size &&
           addr + len > addr;
}

static bool range_free(const nf_model_proc *p, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < p->nvma; i++) {
        const nf_vma *v = &p->vma[i];
        uint64_t vlo = v->start;
        if (v->flags & VM_GROWSDOWN) /* its growth room and guard gap */
            vlo = v->end - NF_MODEL_STACK_LIMIT - NF_MODEL_GUARD_GAP;
        if (vlo < hi && v->end > lo)
            return false;
    }
    return true;
}

/* Top-down first fit below mmap_base, as the kernel's default layout. */
static uint64_t place(const nf_model_proc *p, uint64_t len, uint64_t align)
{
    const nf_model *m = p->m;
    uint64_t top = p->mmap_base;
    for (;;) {
        if (top < len || top - len < p->brk_start + ((uint64_t)1 << 30))
            return NF_MODEL_FAILED; /* keep 1 GiB for brk */
        uint64_t lo = (top - len) & ~(align - 1);
        if (range_free(p, lo, lo + len))
            return lo;
        /* below the lowest VMA that overlaps */
        uint64_t next = lo;
        for (size_t i = 0; i < p->nvma; i++) {
            const nf_vma *v = &p->vma[i];
            uint64_t vlo = (v->flags & VM_GROWSDOWN) ? v->end - NF_MODEL_STACK_LIMIT - NF_MODEL_GUARD_GAP : v->start;
            if (vlo < lo + len && v->end > lo && vlo < next)
                next = vlo;
        }
        if (next >= top || next < m->va_base)
            return NF_MODEL_FAILED;
        top = next;
    }
}

/* ---- zapping ---- */

static void zap_fn(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte, void *u)
{
    (void)u;
    nf_pte_zap(m, p, va, pte);
}

static void zap(nf_model *m, nf_model_proc *p, uint64_t lo, uint64_t hi, bool free_tables)
{
    nf_pt_range(m, p, lo, hi, zap_fn, NULL, NF_PTR_SPLIT | (free_tables ? NF_PTR_FREE_EMPTY : 0));
}

static uint64_t vma_charge(const nf_vma *v) { return (v->flags & VM_ACCOUNT) ? (v->end - v->start) / PG : 0; }

static void unmap_range(nf_model *m, nf_model_proc *p, uint64_t lo, uint64_t hi)
{
    vma_split(p, lo);
    vma_split(p, hi);
    for (size_t i = 0; i < p->nvma;) {
        nf_vma *v = &p->vma[i];
        if (v->start >= lo && v->end <= hi) {
            zap(m, p, v->start, v->end, true);
            nf_commit_uncharge(m, p, vma_charge(v));
            vma_remove_at(p, i);
        } else {
            i++;
        }
    }
    p->vhint = 0;
}

void nf_vma_drop_all(nf_model *m, nf_model_proc *p)
{
    if (p->nvma)
        unmap_range(m, p, m->va_base, m->va_base + m->va_size);
}

/* Fault every page of [lo, hi) in, for write when the VMA is writable. */
static int populate(nf_model_proc *p, uint64_t lo, uint64_t hi, bool write)
{
    for (uint64_t va = lo; va < hi; va += PG) {
        nf_vma *v = nf_vma_find(p, va);
        bool w = write && v && (v->flags & VM_WRITE);
        if (nf_model_access(p, va, w) != NF_MODEL_OK)
            return -1;
    }
    return 0;
}

/* ---- the calls ---- */

uint64_t nf_model_mmap(nf_model_proc *p, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
    nf_model *m = p->m;
    if (!p->alive) {
        errno = ESRCH;
        return NF_MODEL_FAILED;
    }
    len = PAGES(len) * PG;
    if (len == 0 || len > m->va_size) {
        errno = EINVAL;
        return NF_MODEL_FAILED;
    }
    if (flags & NF_MODEL_MAP_FIXED) {
        if (!range_ok(m, addr, len)) {
            errno = EINVAL;
            return NF_MODEL_FAILED;
        }
    } else if (!(addr && range_ok(m, addr & ~(PG - 1), len) &&
                 range_free(p, addr & ~(PG - 1), (addr & ~(PG - 1)) + len))) {
        uint64_t align = (flags & NF_MODEL_MAP_HUGE) && len >= NF_MODEL_HUGE_PAGE ? NF_MODEL_HUGE_PAGE : PG;
        addr = place(p, len, align);
        if (addr == NF_MODEL_FAILED) {
            errno = ENOMEM;
            return NF_MODEL_FAILED;
        }
    } else {
        addr &= ~(PG - 1);
    }
    nf_vma v = {addr, addr + len, 0};
    if (prot & NF_MODEL_PROT_READ)
        v.flags |= VM_READ;
    if (prot & NF_MODEL_PROT_WRITE)
        v.flags |= VM_WRITE | VM_READ; /* x86: write implies read */
    if (flags & NF_MODEL_MAP_STACK)
        v.flags |= VM_GROWSDOWN;
    if (flags & NF_MODEL_MAP_LOCKED)
        v.flags |= VM_LOCKED;
    if (flags & NF_MODEL_MAP_HUGE)
        v.flags |= VM_HUGE;
    if ((v.flags & VM_WRITE) && (!(flags & NF_MODEL_MAP_NORESERVE) || m->cfg.overcommit == 2))
        v.flags |= VM_ACCOUNT;
    if (nf_commit_charge(m, p, vma_charge(&v)) != 0) {
        errno = ENOMEM;
        return NF_MODEL_FAILED;
    }
    if (flags & NF_MODEL_MAP_FIXED)
        unmap_range(m, p, addr, addr + len);
    size_t i = first_ending_after(p, addr);
    if (vma_insert_at(p, i, v) != 0) {
        nf_commit_uncharge(m, p, vma_charge(&v));
        errno = ENOMEM;
        return NF_MODEL_FAILED;
    }
    vma_merge(p);
    if (flags & (NF_MODEL_MAP_POPULATE | NF_MODEL_MAP_LOCKED))
        populate(p, addr, addr + len, true);
    return addr;
}

int nf_model_munmap(nf_model_proc *p, uint64_t addr, uint64_t len)
{
    nf_model *m = p->m;
    len = PAGES(len) * PG;
    if (!range_ok(m, addr, len)) {
        errno = EINVAL;
        return -1;
    }
    unmap_range(m, p, addr, addr + len);
    return 0;
}

/* Every VMA of [lo, hi) after splitting at both ends; -1 (ENOMEM) if a
 * page of the range is unmapped. */
static int cover(nf_model_proc *p, uint64_t lo, uint64_t hi, size_t *first, size_t *last)
{
    if (vma_split(p, lo) != 0 || vma_split(p, hi) != 0)
        return -1;
    size_t i = first_ending_after(p, lo), j = i;
    uint64_t at = lo;
    while (j < p->nvma && p->vma[j].start < hi) {
        if (p->vma[j].start != at)
            return -1;
        at = p->vma[j].end;
        j++;
    }
    if (at < hi)
        return -1;
    *first = i;
    *last = j;
    return 0;
}

static void prot_fn(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte, void *u)
{
    unsigned fl = *(unsigned *)u;
    uint64_t e = *pte;
    if (!(e & PTE_P))
        return;
    uint64_t n = e;
    if (fl & VM_READ)
        n |= PTE_US;
    else
        n &= ~PTE_US;
    if (!(fl & VM_WRITE))
        n &= ~PTE_RW;
    if (n != e) {
        nf_pte_flush(m, p, va);
        *pte = n;
    }
}

int nf_model_mprotect(nf_model_proc *p, uint64_t addr, uint64_t len, unsigned prot)
{
    nf_model *m = p->m;
    len = PAGES(len) * PG;
    size_t i, j;
    if (!range_ok(m, addr, len) || cover(p, addr, addr + len, &i, &j) != 0) {
        errno = range_ok(m, addr, len) ? ENOMEM : EINVAL;
        return -1;
    }
    unsigned fl = 0;
    if (prot & NF_MODEL_PROT_READ)
        fl |= VM_READ;
    if (prot & NF_MODEL_PROT_WRITE)
        fl |= VM_WRITE | VM_READ;
    uint64_t charge = 0;
    for (size_t k = i; k < j; k++)
        if ((fl & VM_WRITE) && !(p->vma[k].flags & VM_ACCOUNT))
            charge += (p->vma[k].end - p->vma[k].start) / PG;
    if (nf_commit_charge(m, p, charge) != 0) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t k = i; k < j; k++) {
        nf_vma *v = &p->vma[k];
        v->flags = (v->flags & ~(unsigned)(VM_READ | VM_WRITE)) | fl;
        if (fl & VM_WRITE)
            v->flags |= VM_ACCOUNT;
        nf_pt_range(m, p, v->start, v->end, prot_fn, &fl, NF_PTR_SPLIT);
    }
    vma_merge(p);
    return 0;
}

uint64_t nf_model_brk(nf_model_proc *p, uint64_t newbrk)
{
    nf_model *m = p->m;
    if (newbrk < p->brk_start || !p->alive)
        return p->brk;
    uint64_t oldtop = PAGES(p->brk - p->brk_start) * PG + p->brk_start;
    uint64_t newtop = PAGES(newbrk - p->brk_start) * PG + p->brk_start;
    if (newtop > oldtop) {
        if (!range_free(p, oldtop, newtop + PG)) /* a page of room above, as the kernel keeps */
            return p->brk;
        nf_vma v = {oldtop, newtop, VM_READ | VM_WRITE | VM_ACCOUNT};
        if (nf_commit_charge(m, p, vma_charge(&v)) != 0)
            return p->brk;
        if (vma_insert_at(p, first_ending_after(p, oldtop), v) != 0) {
            nf_commit_uncharge(m, p, vma_charge(&v));
            return p->brk;
        }
        vma_merge(p);
    } else if (newtop < oldtop) {
        unmap_range(m, p, newtop, oldtop);
    }
    p->brk = newbrk;
    return p->brk;
}

/* ---- madvise ---- */

static void lazy_fn(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte, void *u)
{
    (void)u;
    uint64_t e = *pte;
    if (e & PTE_SWAP) {
        nf_pte_zap(m, p, va, pte);
        return;
    }
    uint32_t pfn = (uint32_t)PTE_PFN(e);
    if (!(e & PTE_P) || pfn == ZERO_PFN || m->fr[pfn].ref != 1)
        return;
    nf_pte_flush(m, p, va);
    *pte = e & ~PTE_D;
    m->fr[pfn].flags |= FRF_LAZY;
}

static int set_flag(nf_model_proc *p, uint64_t lo, uint64_t hi, unsigned set, unsigned clear)
{
    size_t i, j;
    if (cover(p, lo, hi, &i, &j) != 0) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t k = i; k < j; k++)
        p->vma[k].flags = (p->vma[k].flags | set) & ~clear;
    return 0;
}

int nf_model_madvise(nf_model_proc *p, uint64_t addr, uint64_t len, int advice)
{
    nf_model *m = p->m;
    len = PAGES(len) * PG;
    if (!range_ok(m, addr, len)) {
        errno = EINVAL;
        return -1;
    }
    uint64_t lo = addr, hi = addr + len;
    size_t i, j;
    switch (advice) {
    case NF_MODEL_MADV_DONTNEED:
    case NF_MODEL_MADV_FREE:
        if (cover(p, lo, hi, &i, &j) != 0) {
            errno = ENOMEM;
            return -1;
        }
        for (size_t k = i; k < j; k++)
            if (p->vma[k].flags & VM_LOCKED) {
                errno = EINVAL;
                return -1;
            }
        if (advice == NF_MODEL_MADV_DONTNEED)
            zap(m, p, lo, hi, false);
        else
            nf_pt_range(m, p, lo, hi, lazy_fn, NULL, NF_PTR_SPLIT);
        break;
    case NF_MODEL_MADV_HUGEPAGE:
        if (set_flag(p, lo, hi, VM_HUGE, 0) != 0)
            return -1;
        break;
    case NF_MODEL_MADV_NOHUGEPAGE:
        if (set_flag(p, lo, hi, 0, VM_HUGE) != 0)
            return -1;
        break;
    case NF_MODEL_MADV_POPULATE_WRITE:
        if (cover(p, lo, hi, &i, &j) != 0) {
            errno = ENOMEM;
            return -1;
        }
        if (populate(p, lo, hi, true) != 0) {
            errno = p->alive ? EFAULT : ENOMEM;
            return -1;
        }
        break;
    default:
        errno = EINVAL;
        return -1;
    }
    vma_merge(p);
    return 0;
}

/* ---- mlock ---- */

static void lock_fn(nf_model *m, nf_model_proc *p, uint64_t va, uint64_t *pte, void *u)
{
    (void)p;
    (void)va;
    bool lock = *(bool *)u;
    uint64_t e = *pte;
    uint32_t pfn = (uint32_t)PTE_PFN(e);
    if (!(e & PTE_P) || pfn == ZERO_PFN)
        return;
    nf_frame *f = &m->fr[pfn];
    if (lock && !(f->flags & FRF_MLOCK)) {
        if (f->flags & FRF_LRU)
            nf_lru_del(m, pfn);
        f->flags |= FRF_MLOCK;
    } else if (!lock && (f->flags & FRF_MLOCK)) {
        f->flags &= (uint8_t)~FRF_MLOCK;
        nf_lru_add(m, pfn);
    }
}

int nf_model_mlock(nf_model_proc *p, uint64_t addr, uint64_t len)
{
    uint64_t lo = addr & ~(PG - 1), hi = PAGES(addr + len) * PG;
    if (!range_ok(p->m, lo, hi - lo) || set_flag(p, lo, hi, VM_LOCKED, 0) != 0) {
        if (!range_ok(p->m, lo, hi - lo))
            errno = EINVAL;
        return -1;
    }
    if (populate(p, lo, hi, true) != 0) {
        errno = ENOMEM;
        return -1;
    }
    bool lock = true;
    nf_pt_range(p->m, p, lo, hi, lock_fn, &lock, NF_PTR_SPLIT);
    vma_merge(p);
    return 0;
}

int nf_model_munlock(nf_model_proc *p, uint64_t addr, uint64_t len)
{
    uint64_t lo = addr & ~(PG - 1), hi = PAGES(addr + len) * PG;
    if (!range_ok(p->m, lo, hi - lo) || set_flag(p, lo, hi, 0, VM_LOCKED) != 0) {
        if (!range_ok(p->m, lo, hi - lo))
            errno = EINVAL;
        return -1;
    }
    bool lock = false;
    nf_pt_range(p->m, p, lo, hi, lock_fn, &lock, NF_PTR_SPLIT);
    vma_merge(p);
    return 0;
}
