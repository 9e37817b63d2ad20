/* base/histogram.c: the log-bucketed histogram (notfree/histogram.h):
 * bucket bounds, merging, percentiles and the text form. Recording is
 * inline in the header (it runs inside measured calls). */
#include "notfree/histogram.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nf_hist_init(nf_hist *h) { memset(h, 0, sizeof *h); }

uint64_t nf_hist_lowest(unsigned i)
{
    if (i < (2u << NF_HIST_SUB_BITS))
        return i;
    unsigned e = (i >> NF_HIST_SUB_BITS) + NF_HIST_SUB_BITS - 1;
    uint64_t sub = i & ((1u << NF_HIST_SUB_BITS) - 1);
    return ((1ull << NF_HIST_SUB_BITS) + sub) << (e - NF_HIST_SUB_BITS);
}

uint64_t nf_hist_highest(unsigned i)
{
    if (i >= NF_HIST_BUCKETS - 1)
        return UINT64_MAX;
    return nf_hist_lowest(i + 1) - 1;
}

void nf_hist_merge(nf_hist *dst, const nf_hist *src)
{
    if (!src->count)
        return;
    if (!dst->count || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (unsigned i = 0; i < NF_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
}

uint64_t nf_hist_percentile(const nf_hist *h, double p)
{
    if (!h->count)
        return 0;
    /* 99.9% of 100000 is 99900.00000000001 in doubles: a rank within
     * rounding of a whole number is that number. */
    double x = p / 100.0 * (double)h->count, whole = nearbyint(x);
    double r = fabs(x - whole) < 1e-9 * (x > 1 ? x : 1) ? whole : ceil(x);
    uint64_t rank = r < 1 ? 1 : r > (double)h->count ? h->count : (uint64_t)r;
    uint64_t seen = 0;
    for (unsigned i = 0; i < NF_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = nf_hist_highest(i);
            return v > h->max ? h->max : v < h->min ? h->min : v;
        }
    }
    return h->max;
}

double nf_hist_mean(const nf_hist *h) { return h->count ? (double)h->sum / (double)h->count : 0; }

size_t nf_hist_format(const nf_hist *h, char *buf, size_t cap)
{
    size_t n = 0;
    char tmp[64];
#define PUT(...)                                         \
    do {                                                 \
        int k_ = snprintf(tmp, sizeof tmp, __VA_ARGS__); \
        if (n + (size_t)k_ < cap)                        \
            memcpy(buf + n, tmp, (size_t)k_ + 1);        \
        else if (cap)                                    \
            buf[n < cap ? n : cap - 1] = '\0';           \
        n += (size_t)k_;                                 \
    } while (0)
    if (cap)
        buf[0] = '\0';
    PUT("n=%" PRIu64 " min=%" PRIu64 " max=%" PRIu64 " sum=%" PRIu64 " b=", h->count, h->min, h->max, h->sum);
    int first = 1;
    for (unsigned i = 0; i < NF_HIST_BUCKETS; i++)
        if (h->counts[i]) {
            PUT("%s%u:%" PRIu64, first ? "" : ",", i, h->counts[i]);
            first = 0;
        }
#undef PUT
    return n;
}

int nf_hist_parse(const char *s, nf_hist *h)
{
    nf_hist_init(h);
    uint64_t n;
    int used = 0;
    if (sscanf(s, "n=%" SCNu64 " min=%" SCNu64 " max=%" SCNu64 " sum=%" SCNu64 " b=%n", &n, &h->min, &h->max, &h->sum,
               &used) != 4 ||
        !used)
        return -1;
    const char *p = s + used;
    uint64_t total = 0;
    while (*p && *p != ' ' && *p != '\n') {
        char *end;
        errno = 0;
        unsigned long i = strtoul(p, &end, 10);
        if (end == p || *end != ':' || i >= NF_HIST_BUCKETS)
            return -1;
        p = end + 1;
        unsigned long long c = strtoull(p, &end, 10);
        if (end == p || errno)
            return -1;
        h->counts[i] += c;
        total += c;
        p = end;
        if (*p == ',')
            p++;
    }
    h->count = total;
    return total == n && (n == 0 || h->min <= h->max) ? 0 : -1;
}
