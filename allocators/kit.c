/* allocators/kit.c: the shared parts of our allocators (kit.h). */
#include "kit.h"

#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

uint64_t nf_kit_random64(const void *salt)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uintptr_t)salt ^ (uint64_t)ts.tv_sec;
    }
    return v;
}

static uint64_t rl(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

void nf_kit_stats_fill(nf_alloc_stats *out, const nf_kit_counts *c)
{
    int64_t live = c->live;
    out->live_bytes = live > 0 ? (uint64_t)live : 0;
    int64_t peak = __atomic_load_n(c->peak_live, __ATOMIC_RELAXED);
    out->peak_live_bytes = (uint64_t)(peak > live ? peak : live > 0 ? live : 0);
    out->mapped_bytes = rl(c->mapped);
    out->peak_mapped_bytes = rl(c->peak_mapped);
    nf_pages_calls(c->ps, out->page_calls);
    out->npaths = (unsigned)c->npaths;
    for (size_t p = 0; p < c->npaths; p++) {
        out->paths[p].name = c->names[p];
        out->paths[p].count = c->paths[p];
    }
}

void *nf_kit_heap_map(nf_pages *ps, nf_brk_mode mode, size_t size, size_t own_off, nf_pages **ps_out, size_t *self_size)
{
    nf_pages own;
    if (!ps) {
        nf_pages_real_init(&own, mode, 0); /* never allocates: nothing to release on failure */
        ps = &own;
    }
    size_t page = ps->page_size;
    size_t sz = (size + page - 1) & ~(page - 1);
    char *h = nf_pages_map(ps, sz, 0);
    if (!h)
        return NULL;
    if (ps == &own) {
        memcpy(h + own_off, &own, sizeof own);
        ps = (nf_pages *)(h + own_off);
    }
    *ps_out = ps;
    *self_size = sz;
    return h;
}

void nf_kit_heap_unmap(void *h, nf_pages *ps, nf_pages *own, size_t self_size)
{
    if (ps == own) {
        nf_pages copy = *own; /* own is inside h, which goes */
        nf_pages_real_fini(&copy);
        nf_pages_unmap(&copy, h, self_size);
    } else {
        nf_pages_unmap(ps, h, self_size);
    }
}

const char *nf_kit_identify(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s) < len ? strlen(s) : len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}
