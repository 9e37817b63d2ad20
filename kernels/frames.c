/* frames.c: physical memory, a pool of real 4 KiB frames in one memfd.
 *
 * The pool is mapped once (MAP_SHARED) so the model reads and writes
 * frames at pool + pfn * 4096; live mode maps the same memfd pages at
 * model addresses, so both views hold the same bytes. Frame 0 is the zero
 * page (never written, never freed). Page-table pages come from the same
 * pool (kind FR_PT): they are memory, they count, they can run it out.
 *
 * Free frames sit on a LIFO stack (recently freed frames are cache-warm,
 * as the kernel's per-CPU lists prefer).
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
    m->fr = calloc(n, sizeof *m->fr);
    m->freestack = malloc(n * sizeof *m->freestack);
    if (!m->fr || !m->freestack) {
        errno = ENOMEM;
        return -1;
    }
    m->freestack_cap = n;
    for (size_t i = 0; i < n; i++)
        m->fr[i].prev = m->fr[i].next = NIL;
    /* push high pfns first so allocation starts low */
    for (size_t i = n - 1; i >= 1; i--)
        m->freestack[m->nfree_stack++] = (uint32_t)i;
    m->fr[ZERO_PFN].kind = FR_ZERO;
    m->fr[ZERO_PFN].ref = 1;
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
    free(m->fr);
    free(m->freestack);
}

static uint32_t frame_take(nf_model *m, int kind)
{
    if (m->nfree_stack == 0)
        return NIL;
    uint32_t pfn = m->freestack[--m->nfree_stack];
    nf_frame *f = &m->fr[pfn];
    f->kind = (uint8_t)kind;
    f->flags = 0;
    f->ref = 0;
    f->used = 0;
    f->prev = f->next = NIL;
    m->frames_used++;
    return pfn;
}

uint32_t nf_frame_alloc(nf_model *m, nf_model_proc *p, int kind)
{
    for (;;) {
        uint32_t pfn = frame_take(m, kind);
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
