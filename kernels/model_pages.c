/* model_pages.c: the page source (notfree/pages.h) over a model process.
 *
 * Each operation is the model's system call for proc p; addresses are
 * model addresses, which are real addresses inside the live reservation,
 * so the allocator above can touch what it gets once live mode runs on p.
 * The break is the proc's model brk (NF_BRK_EMULATED in spirit). Calls are
 * counted like the real page source's.
 */
#include "model_impl.h"

#include <errno.h>

#include "notfree/pages.h"

static nf_model_proc *proc_of(nf_pages *ps) { return ps->impl; }

static void *m_map(nf_pages *ps, size_t len, unsigned hints)
{
    unsigned prot = (hints & NF_MAP_NOACCESS) ? NF_MODEL_PROT_NONE : NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    unsigned flags = 0;
    if (hints & NF_MAP_POPULATE)
        flags |= NF_MODEL_MAP_POPULATE;
    if (hints & NF_MAP_HUGE)
        flags |= NF_MODEL_MAP_HUGE;
    if (hints & (NF_MAP_NORESERVE | NF_MAP_NOACCESS))
        flags |= NF_MODEL_MAP_NORESERVE;
    uint64_t a = len ? nf_model_mmap(proc_of(ps), 0, len, prot, flags) : NF_MODEL_FAILED;
    if (!len)
        errno = EINVAL;
    nf_pages_count(ps, NF_PAGE_MAP, len, a == NF_MODEL_FAILED);
    return a == NF_MODEL_FAILED ? NULL : (void *)(uintptr_t)a;
}

static int m_unmap(nf_pages *ps, void *addr, size_t len)
{
    int r = nf_model_munmap(proc_of(ps), (uintptr_t)addr, len);
    nf_pages_count(ps, NF_PAGE_UNMAP, len, r != 0);
    return r;
}

static int m_advise(nf_pages *ps, void *addr, size_t len, nf_advice a)
{
    int adv = a == NF_ADVISE_DONTNEED   ? NF_MODEL_MADV_DONTNEED
              : a == NF_ADVISE_FREE     ? NF_MODEL_MADV_FREE
              : a == NF_ADVISE_HUGEPAGE ? NF_MODEL_MADV_HUGEPAGE
                                        : NF_MODEL_MADV_NOHUGEPAGE;
    int r = nf_model_madvise(proc_of(ps), (uintptr_t)addr, len, adv);
    nf_pages_count(ps, NF_PAGE_ADVISE, len, r != 0);
    return r;
}

static int m_lock(nf_pages *ps, void *addr, size_t len)
{
    int r = nf_model_mlock(proc_of(ps), (uintptr_t)addr, len);
    nf_pages_count(ps, NF_PAGE_LOCK, len, r != 0);
    return r;
}

static int m_unlock(nf_pages *ps, void *addr, size_t len)
{
    int r = nf_model_munlock(proc_of(ps), (uintptr_t)addr, len);
    nf_pages_count(ps, NF_PAGE_LOCK, len, r != 0);
    return r;
}

static int m_protect(nf_pages *ps, void *addr, size_t len, unsigned prot)
{
    unsigned mp = ((prot & NF_PROT_READ) ? NF_MODEL_PROT_READ : 0) | ((prot & NF_PROT_WRITE) ? NF_MODEL_PROT_WRITE : 0);
    int r = nf_model_mprotect(proc_of(ps), (uintptr_t)addr, len, mp);
    nf_pages_count(ps, NF_PAGE_PROTECT, len, r != 0);
    return r;
}

static void *m_grow(nf_pages *ps, intptr_t delta)
{
    nf_model_proc *p = proc_of(ps);
    uint64_t old = nf_model_brk(p, 0);
    uint64_t want = old + (uint64_t)delta;
    int ok = (delta >= 0 || (uint64_t)-delta <= old - p->brk_start) && (delta == 0 || nf_model_brk(p, want) == want);
    nf_pages_count(ps, NF_PAGE_BRK, (size_t)(delta < 0 ? -delta : delta), !ok);
    if (!ok) {
        errno = ENOMEM;
        return NULL;
    }
    return (void *)(uintptr_t)old;
}

static const nf_pages_ops model_ops = {
    .name = "model",
    .map = m_map,
    .unmap = m_unmap,
    .advise = m_advise,
    .lock = m_lock,
    .unlock = m_unlock,
    .protect = m_protect,
    .grow = m_grow,
};

void nf_model_pages_init(nf_pages *ps, nf_model_proc *p)
{
    *ps = (nf_pages){0};
    ps->ops = &model_ops;
    ps->page_size = NF_MODEL_PAGE;
    ps->brk_mode = NF_BRK_EMULATED;
    ps->impl = p;
}
