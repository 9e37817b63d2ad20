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

const char *nf_kit_identify(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s) < len ? strlen(s) : len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}
