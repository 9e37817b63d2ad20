/* live.c: live mode. Real code touches model addresses; the trap is the
 * model's page fault.
 *
 * The reservation [va_base, va_base + va_size) is PROT_NONE. Some of the
 * current proc's present pages are really mapped there (mmap
 * MAP_FIXED|MAP_SHARED of the frame's memfd page), read-only unless the
 * leaf is writable and dirty, so that every event the model must see
 * (first touch, first write, COW, a page reclaimed or shot down) traps. A
 * trap (SIGSEGV with the x86 error code's write bit) becomes
 * nf_model_access() of the current proc, then the page is mapped and the
 * instruction restarts. Dropping a page remaps it PROT_NONE (anonymous,
 * NORESERVE) so it merges back into the reservation and the real
 * kernel's map count stays bounded.
 *
 * Which pages stay mapped: the accessible set plays the L1 TLB.
 *   With a TLB: exactly the pages of the current proc that the TLB's L1
 *   holds (a 2M entry covers the 4K pages of it that were touched). The
 *   model's access on a trap leaves the page in L1 (a walk or an L2 hit
 *   fills it), and the TLB's evict hook (nf_tlb_set_evict_hook) drops a
 *   page when L1 evicts, invalidates or flushes its entry. So an access
 *   to a mapped page is an L1 hit and needs no trap; a trap is an L1 miss
 *   (then an L2 hit or a walk) or an L1 hit the model must see (a store to
 *   a clean page, a page mapped again after a switch). What live mode
 *   cannot see: the L1 hits themselves. It counts none of them, and they
 *   do not refresh L1's LRU order. Live counts therefore equal those of an
 *   explicit replay of one access per page visit whenever the replay's L1
 *   hits need no refresh, e.g. passes over a working set larger than L1
 *   (every visit misses L1 in both), with L2 hits and walks exact.
 *   Without a TLB: at most `cap` pages, oldest out first (FIFO).
 *
 * One model per real process can be live (the handler is process-wide).
 */
#include "model_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static nf_model *live_model;
static struct sigaction old_segv;

static inline uint32_t hslot(const nf_live *l, uint64_t va)
{
    return (uint32_t)((va >> 12) * 0x9E3779B97F4A7C15ull >> 32) & (l->hcap - 1);
}

static uint32_t *hfind(nf_live *l, uint64_t va)
{
    for (uint32_t i = hslot(l, va);; i = (i + 1) & (l->hcap - 1)) {
        if (l->hash[i] == NIL || l->node[l->hash[i]].va == va)
            return &l->hash[i];
    }
}

static void hdel(nf_live *l, uint32_t *slot)
{
    uint32_t i = (uint32_t)(slot - l->hash);
    l->hash[i] = NIL;
    /* backward-shift the run that follows */
    for (uint32_t j = (i + 1) & (l->hcap - 1); l->hash[j] != NIL; j = (j + 1) & (l->hcap - 1)) {
        uint32_t k = hslot(l, l->node[l->hash[j]].va);
        bool move = i <= j ? (k <= i || k > j) : (k <= i && k > j);
        if (move) {
            l->hash[i] = l->hash[j];
            l->hash[j] = NIL;
            i = j;
        }
    }
}

static void real_unmap(nf_model *m, uint64_t va)
{
    mmap((void *)(uintptr_t)va, NF_MODEL_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
         0);
    (void)m;
}

static void set_remove(nf_live *l, uint32_t *slot)
{
    uint32_t k = *slot;
    nf_live_node *n = &l->node[k];
    if (n->prev != NIL)
        l->node[n->prev].next = n->next;
    else
        l->head = n->next;
    if (n->next != NIL)
        l->node[n->next].prev = n->prev;
    else
        l->tail = n->prev;
    hdel(l, slot);
    n->next = l->freel;
    l->freel = k;
    l->n--;
}

void nf_live_unmap(nf_model *m, uint64_t va)
{
    nf_live *l = &m->live;
    va &= ~(uint64_t)(NF_MODEL_PAGE - 1);
    uint32_t *slot = hfind(l, va);
    if (*slot == NIL)
        return;
    real_unmap(m, va);
    set_remove(l, slot);
}

void nf_live_unmap_all(nf_model *m)
{
    nf_live *l = &m->live;
    while (l->head != NIL) {
        uint64_t va = l->node[l->head].va;
        real_unmap(m, va);
        set_remove(l, hfind(l, va));
    }
}

/* The TLB's evict hook: an L1 entry of the current proc is gone, so are
 * its pages. (The model makes no 1G leaves: nothing to drop for them.) */
static void live_evicted(void *arg, int level, uint16_t asid, uint64_t vpn, nf_page_size sz)
{
    nf_model *m = arg;
    if (level != 0 || !m->live.on || !m->cur || m->live.n == 0)
        return;
    if (nf_tlb_geometry(m->cfg.tlb)->asid && asid != nf_asid(m->cur))
        return;
    if (sz == NF_PG_4K) {
        nf_live_unmap(m, vpn << 12);
    } else if (sz == NF_PG_2M) {
        for (uint64_t i = 0; i < 512; i++)
            nf_live_unmap(m, (vpn << 21) + (i << 12));
    }
}

void nf_live_install(nf_model *m, nf_model_proc *p, uint64_t va)
{
    nf_live *l = &m->live;
    va &= ~(uint64_t)(NF_MODEL_PAGE - 1);
    bool huge;
    uint64_t *pte = nf_pt_lookup(m, p, va, &huge);
    if (!pte || !(*pte & PTE_P))
        return;
    uint64_t e = *pte, leaf = e;
    if (huge)
        leaf = ((uint64_t *)nf_frame_mem(m, (uint32_t)PTE_PFN(e)))[(va >> 12) & 511];
    int prot = (e & PTE_US) ? PROT_READ : PROT_NONE;
    if ((e & (PTE_RW | PTE_D)) == (PTE_RW | PTE_D))
        prot |= PROT_WRITE;
    uint32_t *slot = hfind(l, va);
    if (*slot == NIL) {
        if (l->n == l->cap) {
            uint64_t old = l->node[l->head].va;
            real_unmap(m, old);
            set_remove(l, hfind(l, old));
            slot = hfind(l, va);
        }
        uint32_t k = l->freel;
        l->freel = l->node[k].next;
        l->node[k] = (nf_live_node){va, l->tail, NIL};
        if (l->tail != NIL)
            l->node[l->tail].next = k;
        else
            l->head = k;
        l->tail = k;
        *slot = k;
        l->n++;
    }
    mmap((void *)(uintptr_t)va, NF_MODEL_PAGE, prot, MAP_SHARED | MAP_FIXED, m->memfd,
         (off_t)PTE_PFN(leaf) * NF_MODEL_PAGE);
}

static void say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    nf_model *m = live_model;
    uint64_t a = (uint64_t)(uintptr_t)si->si_addr;
    if (!m || !m->live.on || a < m->va_base || a >= m->va_base + m->va_size || !m->cur) {
        /* not ours: hand it to whoever was there before */
        if ((old_segv.sa_flags & SA_SIGINFO) && old_segv.sa_sigaction) {
            old_segv.sa_sigaction(sig, si, ucv);
        } else if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN) {
            old_segv.sa_handler(sig);
        } else {
            signal(SIGSEGV, SIG_DFL); /* returns, faults again, dies */
        }
        return;
    }
    ucontext_t *uc = ucv;
    int write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    m->live.traps++;
    nf_model_result r = nf_model_access(m->cur, a, write);
    if (r != NF_MODEL_OK) {
        say("notfree model, live mode: the model answered ");
        say(nf_model_result_name(r));
        say(" to a real access; aborting\n");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    nf_live_install(m, m->cur, a);
}

/* The most pages L1 can keep accessible: each 4K entry one page, each 2M
 * entry up to 512. */
static uint32_t l1_pages(const nf_tlb_geom *g)
{
    uint64_t n = 0;
    for (int a = 0; a < g->level[0].narrays; a++) {
        const nf_tlb_array_geom *ar = &g->level[0].array[a];
        if (ar->sizes & NF_PGBIT(NF_PG_2M))
            n += (uint64_t)ar->entries * 512;
        else if (ar->sizes & NF_PGBIT(NF_PG_4K))
            n += ar->entries;
    }
    return n > (1u << 20) ? 1u << 20 : (uint32_t)n;
}

int nf_model_live_start(nf_model *m, nf_model_proc *p, size_t resident)
{
    if (!m->reserve || (live_model && live_model != m)) {
        errno = m->reserve ? EBUSY : EINVAL;
        return -1;
    }
    nf_live *l = &m->live;
    if (!l->node) {
        uint32_t cap = m->cfg.tlb ? l1_pages(nf_tlb_geometry(m->cfg.tlb)) : (uint32_t)resident;
        if (!cap)
            cap = 4096;
        if (cap > (1u << 20))
            cap = 1u << 20;
        uint32_t hcap = 4;
        while (hcap < 2 * cap)
            hcap *= 2;
        l->node = malloc(cap * sizeof *l->node);
        l->hash = malloc(hcap * sizeof *l->hash);
        if (!l->node || !l->hash)
            return -1;
        l->cap = cap;
        l->hcap = hcap;
    }
    memset(l->hash, 0xff, l->hcap * sizeof *l->hash);
    for (uint32_t i = 0; i < l->cap; i++)
        l->node[i].next = i + 1 < l->cap ? i + 1 : NIL;
    l->freel = 0;
    l->head = l->tail = NIL;
    l->n = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) != 0)
        return -1;
    live_model = m;
    l->on = true;
    l->tlb_driven = m->cfg.tlb != NULL;
    if (l->tlb_driven)
        nf_tlb_set_evict_hook(m->cfg.tlb, live_evicted, m);
    nf_model_switch(p);
    return 0;
}

void nf_model_live_stop(nf_model *m)
{
    if (!m->live.on)
        return;
    nf_live_unmap_all(m);
    if (m->live.tlb_driven)
        nf_tlb_set_evict_hook(m->cfg.tlb, NULL, NULL);
    m->live.on = false;
    m->live.tlb_driven = false;
    sigaction(SIGSEGV, &old_segv, NULL);
    live_model = NULL;
}

uint64_t nf_model_live_mapped(const nf_model *m) { return m->live.n; }
