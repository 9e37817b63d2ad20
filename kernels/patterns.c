/* kernels/patterns.c: address streams for replay (see notfree/patterns.h). */
#include <notfree/patterns.h>

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"seq", "stride", "random", "chase"};

int nf_pattern_parse(const char *name, nf_pattern_kind *out)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i])) {
            *out = (nf_pattern_kind)i;
            return 0;
        }
    return -1;
}

const char *nf_pattern_name(nf_pattern_kind k) { return (unsigned)k < 4 ? names[k] : "?"; }

/* xorshift64*: fast, good enough for addresses. */
static inline uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-32 for n < 2^32). */
static inline uint64_t below(uint64_t *s, uint64_t n) { return (uint64_t)(((unsigned __int128)rnd(s) * n) >> 64); }

int nf_pattern_init(nf_pattern *p, nf_pattern_kind kind, uint64_t base, uint64_t ws_bytes, unsigned page_shift,
                    uint64_t stride_pages, uint64_t seed)
{
    return nf_pattern_init_progress(p, kind, base, ws_bytes, page_shift, stride_pages, seed, NULL, NULL);
}

#define PROGRESS_STEP ((uint64_t)1 << 20)

int nf_pattern_init_progress(nf_pattern *p, nf_pattern_kind kind, uint64_t base, uint64_t ws_bytes, unsigned page_shift,
                             uint64_t stride_pages, uint64_t seed, nf_pattern_progress_fn fn, void *arg)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->base = base;
    p->page_shift = page_shift;
    p->npages = ws_bytes >> page_shift;
    if (p->npages == 0)
        p->npages = 1;
    p->stride = stride_pages ? stride_pages : 16;
    /* splitmix64 of the seed: never a zero state. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    p->rng = (z ^ (z >> 31)) | 1;
    if (kind == NF_PAT_CHASE) {
        if (p->npages > UINT32_MAX)
            return -1;
        uint32_t *order = malloc(p->npages * sizeof *order);
        p->next = malloc(p->npages * sizeof *p->next);
        if (!order || !p->next) {
            free(order);
            nf_pattern_fini(p);
            return -1;
        }
        /* Sattolo's shuffle: a uniformly random single cycle. */
        for (uint64_t i = 0; i < p->npages; i++)
            order[i] = (uint32_t)i;
        for (uint64_t i = p->npages - 1; i > 0; i--) {
            if (fn && i % PROGRESS_STEP == 0)
                fn(arg, p->npages - 1 - i, p->npages);
            uint64_t j = below(&p->rng, i);
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (uint64_t i = 0; i < p->npages; i++)
            p->next[order[i]] = order[(i + 1) % p->npages];
        free(order);
    }
    return 0;
}

void nf_pattern_fini(nf_pattern *p)
{
    free(p->next);
    p->next = NULL;
}

uint64_t nf_pattern_next(nf_pattern *p)
{
    uint64_t page;
    switch (p->kind) {
    case NF_PAT_SEQ:
        page = p->page;
        p->page = p->page + 1 == p->npages ? 0 : p->page + 1;
        break;
    case NF_PAT_STRIDE:
        page = p->page;
        p->page += p->stride;
        if (p->page >= p->npages) {
            p->col = p->col + 1 >= p->stride || p->col + 1 >= p->npages ? 0 : p->col + 1;
            p->page = p->col;
        }
        break;
    case NF_PAT_RANDOM:
        page = below(&p->rng, p->npages);
        break;
    default: /* chase */
        page = p->page;
        p->page = p->next[page];
        break;
    }
    uint64_t lines = (uint64_t)1 << (p->page_shift - 6);
    return p->base + (page << p->page_shift) + (below(&p->rng, lines) << 6);
}

void nf_pattern_fill(nf_pattern *p, uint64_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = nf_pattern_next(p);
}
