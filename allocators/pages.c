/* pages.c: what every page source shares (notfree/pages.h): counting its
 * calls by kind, reading the counts, naming the kinds. The real source
 * (pages_real.c) and the kernel model's (kernels/model_pages.c) both count
 * through here, so neither depends on the other.
 * Nothing here allocates: it runs inside malloc. */
#include <errno.h>
#include <stdint.h>

#include "notfree/pages.h"

#define RELAXED __ATOMIC_RELAXED

void nf_pages_count(nf_pages *ps, nf_page_call kind, size_t len, int failed)
{
    __atomic_fetch_add(&ps->calls[kind], 1, RELAXED);
    __atomic_fetch_add(&ps->bytes[kind], len, RELAXED);
    if (failed)
        __atomic_fetch_add(&ps->failures, 1, RELAXED);
}

void nf_pages_calls(const nf_pages *ps, uint64_t *out)
{
    for (int k = 0; k < NF_PAGE_CALL_COUNT; k++)
        out[k] = __atomic_load_n(&ps->calls[k], RELAXED);
}

const char *nf_page_call_name(nf_page_call kind)
{
    static const char *const names[NF_PAGE_CALL_COUNT] = {
        "map", "unmap", "advise", "lock", "brk", "protect",
    };
    return (unsigned)kind < NF_PAGE_CALL_COUNT ? names[kind] : "?";
}

int nf_pages_move(nf_pages *ps, void *src, size_t len, void *dst)
{
    if (nf_pages_remap(ps, src, len, len, dst))
        return 0;
    if (errno != EFAULT || len <= ps->page_size)
        return -1;
    size_t half = (len / 2) & ~(ps->page_size - 1);
    int r = nf_pages_move(ps, src, half, dst);
    if (r)
        return r;
    r = nf_pages_move(ps, (uint8_t *)src + half, len - half, (uint8_t *)dst + half);
    if (r != -1)
        return r;
    /* the first half's old place was the caller's a moment ago */
    return nf_pages_move(ps, dst, half, src) == 0 ? -1 : -2;
}
