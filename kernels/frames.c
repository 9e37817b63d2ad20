/* frames.c: physical memory, a pool of real 4 KiB frames in one memfd.
 *
 * The pool is mapped once (MAP_SHARED) so the model reads and writes
 * frames at pool + pfn * 4096; live mode maps the same memfd pages at
 * model addresses, so both views hold the same bytes. Frame 0 is the zero
 * page (never written, never freed). Page-table pages come from the same
 * pool (kind FR_PT): they are memory, they count, they can run it out.
 *
 * Free frames sit on a LIFO stack (recently freed frames are cache-warm,
 * as the kernel's per-CPU lists prefer); when it is empty the next frame
 * is taken at the watermark `fresh`, below which every frame has been used
 * once. A frame above the watermark was never written: its memfd page is
 * a hole (no real memory) that reads as zeros, so a zeroed allocation of
 * it writes nothing. The real cost of a model is thus what its processes
 * reached (descriptors up to the watermark, the tables, the bytes written)
 * and not the size of the pool.
 */
#include "model_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int nf_frames_init(nf_model *m)
{
    size_t n = m->cfg.frames;
    if (n < 16 || n >= NIL) {
        errno = EINVAL;
        return -1;
    }
    m->nframes = (uint32_t)n;
    m->memfd = memfd_create("notfree-model-frames", MFD_CLOEXEC);
    if (m->memfd < 0)
        return -1;
    if (ftruncate(m->memfd, (off_t)(n * NF_MODEL_PAGE)) != 0)
        return -1;
    void *p = mmap(NULL, n * NF_MODEL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, m->memfd, 0);
    if (p == MAP_FAILED)
        return -1;
    m->pool = p;
    m->fr = nf_reserve(n, sizeof *m->fr);
    m->freestack = nf_reserve(n, sizeof *m->freestack);
    if (!m->fr || !m->freestack)
        return -1;
    m->fr[ZERO_PFN] = (nf_frame){.kind = FR_ZERO, .ref = 1, .prev = NIL, .next = NIL};
    m->fresh = ZERO_PFN + 1;
    m->frames_used = 1;
    m->lru_head = m->lru_tail = NIL;
    return 0;
}

void nf_frames_fini(nf_model *m)
{
    if (m->pool)
        munmap(m->pool, (size_t)m->nframes * NF_MODEL_PAGE);
    if (m->memfd >= 0)
        close(m->memfd);
    nf_unreserve(m->fr, m->nframes, sizeof *m->fr);
    nf_unreserve(m->freestack, m->nframes, sizeof *m->freestack);
}

/* A free frame: the most recently freed one, else the next never-taken
 * one. *zero says whether its bytes are known to be zero. */
static uint32_t frame_take(nf_model *m, int kind, bool *zero)
{
    uint32_t pfn;
    if (m->nfree_stack) {
        pfn = m->freestack[--m->nfree_stack];
        *zero = false;
    } else if (m->fresh < m->nframes) {
        pfn = m->fresh++;
        *zero = true;
    } else {
        return NIL;
    }
    nf_frame *f = &m->fr[pfn];
    f->kind = (uint8_t)kind;
    f->flags = 0;
    f->ref = 0;
    f->used = 0;
    f->prev = f->next = NIL;
    m->frames_used++;
    return pfn;
}

static uint32_t frame_alloc(nf_model *m, nf_model_proc *p, int kind, bool *zero)
{
    for (;;) {
        uint32_t pfn = frame_take(m, kind, zero);
        if (pfn != NIL)
            return pfn;
        if (nf_reclaim_one(m))
            continue;
        if (!nf_oom_kill(m))
            return NIL;
        if (p && !p->alive)
            return NIL;
    }
}

uint32_t nf_frame_alloc(nf_model *m, nf_model_proc *p, int kind)
{
    bool zero;
    return frame_alloc(m, p, kind, &zero);
}

uint32_t nf_frame_alloc_zeroed(nf_model *m, nf_model_proc *p, int kind)
{
    bool zero;
    uint32_t pfn = frame_alloc(m, p, kind, &zero);
    if (pfn != NIL && !zero)
        memset(nf_frame_mem(m, pfn), 0, NF_MODEL_PAGE);
    return pfn;
}

void nf_frame_free(nf_model *m, uint32_t pfn)
{
    nf_frame *f = &m->fr[pfn];
    if (f->flags & FRF_LRU)
        nf_lru_del(m, pfn);
    f->kind = FR_FREE;
    f->flags = 0;
    f->ref = 0;
    m->frames_used--;
    m->freestack[m->nfree_stack++] = pfn;
}

void nf_frame_put(nf_model *m, uint32_t pfn)
{
    if (pfn == ZERO_PFN)
        return;
    nf_frame *f = &m->fr[pfn];
    if (--f->ref == 0)
        nf_frame_free(m, pfn);
}
