/* model.c: a model machine and its processes: create, destroy, switch,
 * counters, mincore. */
#include "model_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define DEFAULT_VA_BASE 0x100000000000ull
#define DEFAULT_VA_SIZE ((uint64_t)256 << 30)
#define BRK_OFFSET ((uint64_t)16 << 20) /* the break starts above a pretend text */

nf_model *nf_model_create(const nf_model_config *cfg)
{
    nf_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *cfg;
    m->memfd = m->swapfd = -1;
    if (m->cfg.overcommit < 0 || m->cfg.overcommit > 2) {
        free(m);
        errno = EINVAL;
        return NULL;
    }
    m->va_size = cfg->va_size ? cfg->va_size & ~(uint64_t)(NF_MODEL_HUGE_PAGE - 1) : DEFAULT_VA_SIZE;
    m->va_base = cfg->va_base ? cfg->va_base : DEFAULT_VA_BASE;
    if (m->va_size < ((uint64_t)2 << 30) || (m->va_base & (NF_MODEL_HUGE_PAGE - 1)) ||
        m->va_base + m->va_size > ((uint64_t)1 << 47)) {
        free(m);
        errno = EINVAL;
        return NULL;
    }
    if (nf_frames_init(m) != 0 || nf_swap_init(m) != 0)
        goto fail;
    if (cfg->live) {
        /* the reservation: address space only, 2 MiB aligned */
        size_t len = m->va_size + NF_MODEL_HUGE_PAGE;
        void *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED)
            goto fail;
        uintptr_t a = ((uintptr_t)r + NF_MODEL_HUGE_PAGE - 1) & ~(uintptr_t)(NF_MODEL_HUGE_PAGE - 1);
        if (a > (uintptr_t)r)
            munmap(r, a - (uintptr_t)r);
        uintptr_t end = (uintptr_t)r + len, want = a + m->va_size;
        if (end > want)
            munmap((void *)want, end - want);
        m->reserve = (uint8_t *)a;
        m->va_base = a;
    }
    m->commit_limit = nf_commit_limit(m);
    return m;
fail:;
    int e = errno;
    nf_model_destroy(m);
    errno = e;
    return NULL;
}

uint64_t nf_model_footprint(uint64_t frames, uint64_t written, uint64_t slots)
{
    /* a descriptor and a free-stack entry per frame; a count and a
     * free-stack entry per slot; the model, its first VMAs and slack */
    uint64_t per_frame = sizeof(nf_frame) + sizeof(uint32_t);
    uint64_t per_slot = sizeof(uint16_t) + sizeof(uint32_t) + NF_MODEL_PAGE;
    return frames * per_frame + written * NF_MODEL_PAGE + slots * per_slot + sizeof(nf_model) + (64u << 10);
}

void nf_model_destroy(nf_model *m)
{
    if (!m)
        return;
    if (m->live.on)
        nf_model_live_stop(m);
    for (size_t i = 0; i < m->nprocs; i++) {
        nf_proc_teardown(m, m->procs[i]);
        free(m->procs[i]->vma);
        free(m->procs[i]);
    }
    free(m->procs);
    free(m->live.node);
    free(m->live.hash);
    if (m->reserve)
        munmap(m->reserve, m->va_size);
    nf_swap_fini(m);
    nf_frames_fini(m);
    free(m);
}

nf_model_proc *nf_model_proc_create(nf_model *m, const char *name)
{
    if (m->nprocs == m->pcap) {
        size_t cap = m->pcap ? m->pcap * 2 : 8;
        nf_model_proc **n = realloc(m->procs, cap * sizeof *n);
        if (!n)
            return NULL;
        m->procs = n;
        m->pcap = cap;
    }
    if (m->nprocs >= 65534) {
        errno = EAGAIN;
        return NULL;
    }
    nf_model_proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    p->id = (uint32_t)m->nprocs;
    p->alive = true;
    p->root = NIL;
    p->pd_key = UINT64_MAX;
    snprintf(p->name, sizeof p->name, "%s", name ? name : "proc");
    m->procs[m->nprocs++] = p;
    uint32_t root = nf_frame_alloc_zeroed(m, p, FR_PT);
    if (root == NIL) {
        p->alive = false;
        errno = ENOMEM;
        return NULL;
    }
    m->fr[root].ref = 1;
    p->root = root;
    p->pt = 1;
    p->brk_start = p->brk = m->va_base + BRK_OFFSET;
    p->mmap_base = m->va_base + m->va_size - NF_MODEL_STACK_LIMIT - 2 * NF_MODEL_GUARD_GAP;
    return p;
}

void nf_proc_teardown(nf_model *m, nf_model_proc *p)
{
    if (!p->alive)
        return;
    nf_model_proc *cur = m->cur;
    if (m->live.on && p == cur)
        nf_live_unmap_all(m);
    nf_vma_drop_all(m, p);
    nf_pt_free_all(m, p);
    if (m->cfg.tlb)
        nf_tlb_invalidate_asid(m->cfg.tlb, nf_asid(p));
    p->alive = false;
    if (p == cur)
        m->cur = NULL;
}

void nf_model_proc_exit(nf_model_proc *p)
{
    nf_model *m = p->m;
    if (!p->alive)
        return;
    nf_proc_teardown(m, p);
    if (p->committed) /* what the VMAs did not give back (fork's charge) */
        nf_commit_uncharge(m, p, p->committed);
}

int nf_model_proc_alive(const nf_model_proc *p) { return p->alive; }
void nf_model_proc_set_oom_adj(nf_model_proc *p, int adj) { p->oom_adj = adj; }
nf_model_proc *nf_model_current(const nf_model *m) { return m->cur; }
nf_model *nf_model_of(const nf_model_proc *p) { return p->m; }
uint64_t nf_model_va_base(const nf_model *m) { return m->va_base; }
uint64_t nf_model_va_size(const nf_model *m) { return m->va_size; }

void nf_model_switch(nf_model_proc *p)
{
    nf_model *m = p->m;
    if (m->cur == p)
        return;
    if (m->live.on)
        nf_live_unmap_all(m);
    m->cur = p;
    m->c.switches++;
    if (m->cfg.tlb)
        nf_tlb_switch(m->cfg.tlb, nf_asid(p));
}

void nf_model_counters_get(const nf_model *m, nf_model_counters *out)
{
    *out = m->c;
    out->frames_total = m->nframes;
    out->frames_used = m->frames_used;
    out->pt_pages = 0;
    for (size_t i = 0; i < m->nprocs; i++)
        out->pt_pages += m->procs[i]->pt;
    out->swap_total = m->nslots;
    out->swap_used = m->slot_next - m->nslot_free;
    out->committed = m->committed;
    out->commit_limit = nf_commit_limit(m);
    out->live_traps = m->live.traps;
}

void nf_model_proc_counters_get(const nf_model_proc *p, nf_model_proc_counters *out)
{
    *out = p->c;
    out->rss_pages = p->rss;
    out->swap_pages = p->swap;
    out->pt_pages = p->pt;
    out->zero_mapped = p->zero_mapped;
    out->vsz_pages = out->locked_pages = 0;
    out->vmas = p->nvma;
    for (size_t i = 0; i < p->nvma; i++) {
        uint64_t n = (p->vma[i].end - p->vma[i].start) / NF_MODEL_PAGE;
        out->vsz_pages += n;
        if (p->vma[i].flags & VM_LOCKED)
            out->locked_pages += n;
    }
}

int nf_model_mincore(nf_model_proc *p, uint64_t addr, uint64_t len, unsigned char *vec)
{
    nf_model *m = p->m;
    if ((addr & (NF_MODEL_PAGE - 1)) || addr < m->va_base || addr + len > m->va_base + m->va_size) {
        errno = EINVAL;
        return -1;
    }
    for (uint64_t i = 0; i * NF_MODEL_PAGE < len; i++) {
        bool huge;
        uint64_t *pte = nf_pt_lookup(m, p, addr + i * NF_MODEL_PAGE, &huge);
        vec[i] = pte && (*pte & PTE_P) && !(*pte & PTE_SWAP);
    }
    return 0;
}
