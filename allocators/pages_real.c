/* pages_real.c: the real page source, the only code in notfree that calls
 * mmap, munmap, madvise, mlock, mprotect and brk for an allocator.
 * Nothing here allocates: it runs inside malloc. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "notfree/pages.h"

#define RELAXED __ATOMIC_RELAXED

static size_t round_pages(const nf_pages *ps, size_t len) { return (len + ps->page_size - 1) & ~(ps->page_size - 1); }

static void *real_map(nf_pages *ps, size_t len, unsigned hints)
{
    if (len == 0 || len > SIZE_MAX / 2) {
        nf_pages_count(ps, NF_PAGE_MAP, len, 1);
        errno = ENOMEM;
        return NULL;
    }
    len = round_pages(ps, len);
    int prot = (hints & NF_MAP_NOACCESS) ? PROT_NONE : PROT_READ | PROT_WRITE;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (hints & NF_MAP_POPULATE)
        flags |= MAP_POPULATE;
    if (hints & (NF_MAP_NORESERVE | NF_MAP_NOACCESS))
        flags |= MAP_NORESERVE;
    void *p = mmap(NULL, len, prot, flags, -1, 0);
    nf_pages_count(ps, NF_PAGE_MAP, len, p == MAP_FAILED);
    if (p == MAP_FAILED)
        return NULL;
    if (hints & NF_MAP_HUGE) {
        int rc = madvise(p, len, MADV_HUGEPAGE);
        nf_pages_count(ps, NF_PAGE_ADVISE, len, rc != 0);
    }
    return p;
}

static int real_unmap(nf_pages *ps, void *addr, size_t len)
{
    int rc = munmap(addr, round_pages(ps, len));
    nf_pages_count(ps, NF_PAGE_UNMAP, len, rc != 0);
    return rc;
}

static void *real_remap(nf_pages *ps, void *old, size_t oldlen, size_t newlen, void *target)
{
    void *p = mremap(old, round_pages(ps, oldlen), round_pages(ps, newlen), MREMAP_MAYMOVE | MREMAP_FIXED, target);
    nf_pages_count(ps, NF_PAGE_MAP, newlen, p == MAP_FAILED);
    return p == MAP_FAILED ? NULL : p;
}

static int real_advise(nf_pages *ps, void *addr, size_t len, nf_advice advice)
{
    int how;
    switch (advice) {
    case NF_ADVISE_DONTNEED:
        how = MADV_DONTNEED;
        break;
    case NF_ADVISE_FREE:
        how = MADV_FREE;
        break;
    case NF_ADVISE_HUGEPAGE:
        how = MADV_HUGEPAGE;
        break;
    case NF_ADVISE_NOHUGEPAGE:
        how = MADV_NOHUGEPAGE;
        break;
    default:
        nf_pages_count(ps, NF_PAGE_ADVISE, len, 1);
        errno = EINVAL;
        return -1;
    }
    int rc = madvise(addr, len, how);
    nf_pages_count(ps, NF_PAGE_ADVISE, len, rc != 0);
    return rc;
}

static int real_lock(nf_pages *ps, void *addr, size_t len)
{
    int rc = mlock(addr, len);
    nf_pages_count(ps, NF_PAGE_LOCK, len, rc != 0);
    return rc;
}

static int real_unlock(nf_pages *ps, void *addr, size_t len)
{
    int rc = munlock(addr, len);
    nf_pages_count(ps, NF_PAGE_LOCK, len, rc != 0);
    return rc;
}

static int real_protect(nf_pages *ps, void *addr, size_t len, unsigned prot)
{
    int p = ((prot & NF_PROT_READ) ? PROT_READ : 0) | ((prot & NF_PROT_WRITE) ? PROT_WRITE : 0);
    int rc = mprotect(addr, len, p);
    nf_pages_count(ps, NF_PAGE_PROTECT, len, rc != 0);
    return rc;
}

static void brk_acquire(nf_pages *ps)
{
    while (__atomic_exchange_n(&ps->brk_lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&ps->brk_lock, RELAXED))
            ;
}

static void brk_release(nf_pages *ps) { __atomic_store_n(&ps->brk_lock, 0, __ATOMIC_RELEASE); }

/* The emulated break: [brk_base, brk_limit) reserved PROT_NONE on first
 * use; pages up to brk_open are readable and writable. Shrinking drops the
 * whole pages past the new break (MADV_DONTNEED) and closes them again, as
 * brk does. These system calls are part of the one brk call counted. */
static void *grow_emulated_locked(nf_pages *ps, intptr_t delta)
{
    if (ps->brk_base == 0) {
        void *p = mmap(NULL, ps->brk_reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        ps->brk_base = ps->brk_cur = ps->brk_open = (uintptr_t)p;
        ps->brk_limit = (uintptr_t)p + ps->brk_reserve;
    }
    uintptr_t old = ps->brk_cur;
    if (delta >= 0 ? (uintptr_t)delta > ps->brk_limit - old : (uintptr_t) - (delta + 1) + 1 > old - ps->brk_base) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t want = old + (uintptr_t)delta;
    uintptr_t open = (want + ps->page_size - 1) & ~(uintptr_t)(ps->page_size - 1);
    if (open > ps->brk_open) {
        if (mprotect((void *)ps->brk_open, open - ps->brk_open, PROT_READ | PROT_WRITE) != 0)
            return NULL;
    } else if (open < ps->brk_open) {
        madvise((void *)open, ps->brk_open - open, MADV_DONTNEED);
        mprotect((void *)open, ps->brk_open - open, PROT_NONE);
    }
    ps->brk_open = open;
    ps->brk_cur = want;
    return (void *)old;
}

static void *real_grow(nf_pages *ps, intptr_t delta)
{
    void *old = NULL;
    size_t len = delta < 0 ? (size_t)0 - (size_t)delta : (size_t)delta;
    brk_acquire(ps);
    switch (ps->brk_mode) {
    case NF_BRK_EMULATED:
        old = grow_emulated_locked(ps, delta);
        break;
    case NF_BRK_REAL:
        old = sbrk(delta);
        if (old == (void *)-1) {
            old = NULL;
            errno = ENOMEM;
        }
        break;
    default:
        errno = ENOMEM;
        break;
    }
    brk_release(ps);
    nf_pages_count(ps, NF_PAGE_BRK, len, old == NULL);
    return old;
}

static const nf_pages_ops real_ops = {
    .name = "real",
    .map = real_map,
    .unmap = real_unmap,
    .advise = real_advise,
    .lock = real_lock,
    .unlock = real_unlock,
    .protect = real_protect,
    .grow = real_grow,
    .remap = real_remap,
};

void nf_pages_real_init(nf_pages *ps, nf_brk_mode mode, size_t brk_reserve)
{
    memset(ps, 0, sizeof *ps);
    ps->ops = &real_ops;
    long pg = sysconf(_SC_PAGESIZE);
    ps->page_size = pg > 0 ? (size_t)pg : 4096;
    ps->brk_mode = mode;
    ps->brk_reserve = brk_reserve ? brk_reserve : NF_PAGES_BRK_RESERVE_DEFAULT;
    ps->brk_reserve = round_pages(ps, ps->brk_reserve);
}

void nf_pages_real_fini(nf_pages *ps)
{
    if (ps->brk_mode == NF_BRK_EMULATED && ps->brk_base != 0) {
        munmap((void *)ps->brk_base, ps->brk_limit - ps->brk_base);
        ps->brk_base = ps->brk_cur = ps->brk_open = ps->brk_limit = 0;
    }
}

/* The process-wide sources: initialised once, by whichever thread gets
 * there first; the others spin (a few microseconds, once). */
static nf_pages *global_source(nf_pages *ps, int *state, nf_brk_mode mode)
{
    int s = __atomic_load_n(state, __ATOMIC_ACQUIRE);
    if (s == 2)
        return ps;
    int expect = 0;
    if (__atomic_compare_exchange_n(state, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        nf_pages_real_init(ps, mode, 0);
        __atomic_store_n(state, 2, __ATOMIC_RELEASE);
        return ps;
    }
    while (__atomic_load_n(state, __ATOMIC_ACQUIRE) != 2)
        ;
    return ps;
}

nf_pages *nf_pages_real(void)
{
    static nf_pages ps;
    static int state;
    return global_source(&ps, &state, NF_BRK_EMULATED);
}

nf_pages *nf_pages_real_sbrk(void)
{
    static nf_pages ps;
    static int state;
    return global_source(&ps, &state, NF_BRK_REAL);
}
