/* reclaim.c: page reclaim and the swap file.
 *
 * The clock: every mapped anonymous frame that is not mlock'd sits on one
 * list in fault order (head = oldest). Reclaim looks at the head: if any
 * mapping's accessed bit is set, it clears the bits (shooting down the
 * TLB entry and live mapping, so the next access walks and sets it again)
 * and moves the frame to the tail: a second chance. Otherwise the frame is
 * the victim: if MADV_FREE'd and clean in every mapping it is dropped (the
 * next access is a demand-zero fault); else it is written to a free swap
 * slot (pwrite) and every mapping becomes a swap entry. With no free slot
 * anonymous memory cannot be reclaimed: reclaim fails, and the caller
 * goes to the OOM killer. Pinned frames (a COW copy in flight) are skipped.
 *
 * Swap: a temporary file of swap_pages slots, unlinked at once (sparse:
 * only written slots take space). A slot's reference count is the number
 * of swap entries naming it. Slots are taken from the stack of freed ones,
 * else at the watermark slot_next, so the bookkeeping of a 1 TiB swap
 * costs what the run swapped out, not 1.5 bytes per slot up front.
 */
#include "model_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the clock list ---- */

void nf_lru_add(nf_model *m, uint32_t pfn)
{
    nf_frame *f = &m->fr[pfn];
    if (f->flags & (FRF_LRU | FRF_MLOCK))
        return;
    f->flags |= FRF_LRU;
    f->prev = m->lru_tail;
    f->next = NIL;
    if (m->lru_tail != NIL)
        m->fr[m->lru_tail].next = pfn;
    else
        m->lru_head = pfn;
    m->lru_tail = pfn;
    m->lru_len++;
}

void nf_lru_del(nf_model *m, uint32_t pfn)
{
    nf_frame *f = &m->fr[pfn];
    if (!(f->flags & FRF_LRU))
        return;
    if (f->prev != NIL)
        m->fr[f->prev].next = f->next;
    else
        m->lru_head = f->next;
    if (f->next != NIL)
        m->fr[f->next].prev = f->prev;
    else
        m->lru_tail = f->prev;
    f->prev = f->next = NIL;
    f->flags &= (uint8_t)~FRF_LRU;
    m->lru_len--;
}

/* ---- swap slots ---- */

int nf_swap_init(nf_model *m)
{
    m->swapfd = -1;
    if (m->cfg.swap_pages == 0)
        return 0;
    if (m->cfg.swap_pages >= NIL) {
        errno = EINVAL;
        return -1;
    }
    const char *dir = m->cfg.swap_dir;
    if (!dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    m->swapfd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (m->swapfd < 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/notfree-swap-XXXXXX", dir);
        m->swapfd = mkstemp(path);
        if (m->swapfd < 0)
            return -1;
        unlink(path);
    }
    m->nslots = (uint32_t)m->cfg.swap_pages;
    if (ftruncate(m->swapfd, (off_t)m->nslots * NF_MODEL_PAGE) != 0)
        return -1;
    m->slot_ref = nf_reserve(m->nslots, sizeof *m->slot_ref);
    m->slot_free = nf_reserve(m->nslots, sizeof *m->slot_free);
    if (!m->slot_ref || !m->slot_free)
        return -1;
    return 0;
}

void nf_swap_fini(nf_model *m)
{
    if (m->swapfd >= 0)
        close(m->swapfd);
    nf_unreserve(m->slot_ref, m->nslots, sizeof *m->slot_ref);
    nf_unreserve(m->slot_free, m->nslots, sizeof *m->slot_free);
}

void nf_swap_put(nf_model *m, uint32_t slot)
{
    if (--m->slot_ref[slot] == 0)
        m->slot_free[m->nslot_free++] = slot;
}

/* A free slot (the last freed, else the next never used), or NIL. */
static uint32_t slot_take(nf_model *m)
{
    if (m->nslot_free)
        return m->slot_free[--m->nslot_free];
    return m->slot_next < m->nslots ? m->slot_next++ : NIL;
}

static void slot_untake(nf_model *m, uint32_t slot) { m->slot_free[m->nslot_free++] = slot; }

static int full_io(int fd, void *buf, bool write, off_t off)
{
    size_t done = 0;
    while (done < NF_MODEL_PAGE) {
        ssize_t r = write ? pwrite(fd, (char *)buf + done, NF_MODEL_PAGE - done, off + (off_t)done)
                          : pread(fd, (char *)buf + done, NF_MODEL_PAGE - done, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

int nf_swap_read(nf_model *m, uint32_t slot, uint32_t pfn)
{
    return full_io(m->swapfd, nf_frame_mem(m, pfn), false, (off_t)slot * NF_MODEL_PAGE);
}

/* ---- reclaim ---- */

/* The mappings of frame pfn: the owner, or for a shared frame every live
 * proc whose leaf at the frame's vaddr names it. */
typedef void (*map_fn)(nf_model *m, nf_model_proc *p, uint64_t *pte, void *u);

static bool visit(nf_model *m, nf_model_proc *p, uint32_t pfn, map_fn fn, void *u)
{
    if (!p->alive)
        return false;
    uint64_t va = m->fr[pfn].va;
    bool huge;
    uint64_t *pte = nf_pt_lookup(m, p, va, &huge);
    if (pte && huge) {
        nf_huge_split(m, p, va, pte);
        pte = nf_pt_lookup(m, p, va, &huge);
    }
    if (!pte || !(*pte & PTE_P) || PTE_PFN(*pte) != pfn)
        return false;
    fn(m, p, pte, u);
    return true;
}

static void for_each_mapping(nf_model *m, uint32_t pfn, map_fn fn, void *u)
{
    nf_frame *f = &m->fr[pfn];
    uint32_t owner = f->owner;
    /* exclusive: usually the owner (after a COW break by the owner, the
     * other proc kept it: then search) */
    if (f->ref == 1 && owner < m->nprocs && visit(m, m->procs[owner], pfn, fn, u))
        return;
    for (size_t i = 0; i < m->nprocs; i++)
        if (!(f->ref == 1 && i == owner))
            visit(m, m->procs[i], pfn, fn, u);
}

static void young_fn(nf_model *m, nf_model_proc *p, uint64_t *pte, void *u)
{
    if (*pte & PTE_A) {
        *(bool *)u = true;
        *pte &= ~PTE_A;
        nf_pte_flush(m, p, m->fr[PTE_PFN(*pte)].va);
    }
}

static void dirty_fn(nf_model *m, nf_model_proc *p, uint64_t *pte, void *u)
{
    (void)m;
    (void)p;
    if (*pte & PTE_D)
        *(bool *)u = true;
}

struct out {
    uint64_t entry;
    bool drop;
};

static void unmap_fn(nf_model *m, nf_model_proc *p, uint64_t *pte, void *u)
{
    struct out *o = u;
    uint64_t va = m->fr[PTE_PFN(*pte)].va;
    nf_pte_flush(m, p, va);
    if (o->drop) {
        nf_pt_note_set(m, pte, *pte, 0);
        *pte = 0;
    } else {
        *pte = o->entry;
        p->swap++;
    }
    p->rss--;
}

bool nf_reclaim_one(nf_model *m)
{
    uint64_t budget = 2 * m->lru_len + 2;
    while (budget-- && m->lru_head != NIL) {
        uint32_t pfn = m->lru_head;
        nf_frame *f = &m->fr[pfn];
        nf_lru_del(m, pfn);
        if (f->flags & FRF_PIN) {
            nf_lru_add(m, pfn);
            continue;
        }
        bool young = false;
        for_each_mapping(m, pfn, young_fn, &young);
        if (young) {
            nf_lru_add(m, pfn);
            continue;
        }
        struct out o = {0, false};
        if (f->flags & FRF_LAZY) {
            bool dirty = false;
            for_each_mapping(m, pfn, dirty_fn, &dirty);
            o.drop = !dirty;
        }
        if (!o.drop) {
            uint32_t slot = slot_take(m);
            if (slot == NIL) {
                nf_lru_add(m, pfn);
                return false; /* anonymous memory and no swap left */
            }
            if (full_io(m->swapfd, nf_frame_mem(m, pfn), true, (off_t)slot * NF_MODEL_PAGE) != 0) {
                slot_untake(m, slot);
                nf_lru_add(m, pfn);
                return false;
            }
            m->slot_ref[slot] = (uint16_t)f->ref;
            o.entry = PTE_MK(slot, PTE_SWAP);
            m->c.swap_outs++;
        } else {
            m->c.lazy_drops++;
        }
        for_each_mapping(m, pfn, unmap_fn, &o);
        nf_frame_free(m, pfn);
        return true;
    }
    return false;
}
