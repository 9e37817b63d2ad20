/* trace/convert.c: a raw recording (raw.h) into a trace: every record of
 * every chunk, sorted by its global stamp, addresses replaced by ids.
 *
 * Pairing: a map from address to the id of the block live there. A birth
 * at an address already live (a realloc's input handed out again by
 * another thread before the realloc took its stamp, or a free the
 * recording lost) keeps the older id aside: a later free or realloc of
 * that address names the oldest live id there. A free of an address never
 * born in the recording (allocated before it started) is dropped; a
 * realloc of one is kept as realloc(NULL, n). The notes count both. */
#include "notfree/trace.h"

#include "raw.h"
#include "rawread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    uint64_t seq, v[3];
    uint32_t thread;
    uint8_t op;
} rec;

/* ---- reading every record ---- */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, used = 0;
    unsigned char *b = malloc(cap);
    while (b) {
        used += fread(b + used, 1, cap - used, f);
        if (used < cap)
            break;
        unsigned char *nb = realloc(b, cap *= 2);
        if (!nb)
            free(b);
        b = nb;
    }
    int e = ferror(f) ? EIO : 0;
    fclose(f);
    if (e) {
        free(b);
        errno = e;
        return NULL;
    }
    *n = used;
    return b;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const rec *)a)->seq, y = ((const rec *)b)->seq;
    return x < y ? -1 : x > y;
}

/* ---- address map: open addressing, linear probing, tombstones ---- */
typedef struct amap {
    uint64_t *key;
    uint32_t *id;
    size_t cap, used;
} amap; /* key 0: empty, 1: tombstone */

static size_t slot(const amap *m, uint64_t a)
{
    uint64_t h = a * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 20) & (m->cap - 1);
}

static int amap_grow(amap *m)
{
    amap n = {calloc(m->cap * 2, 8), calloc(m->cap * 2, 4), m->cap * 2, 0};
    if (!n.key || !n.id) {
        free(n.key);
        free(n.id);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i] > 1) {
            size_t s = slot(&n, m->key[i]);
            while (n.key[s])
                s = (s + 1) & (n.cap - 1);
            n.key[s] = m->key[i];
            n.id[s] = m->id[i];
            n.used++;
        }
    free(m->key);
    free(m->id);
    *m = n;
    return 0;
}

/* The slot of a, or of where it would go (first tombstone or empty). */
static size_t amap_find(const amap *m, uint64_t a, int *found)
{
    size_t s = slot(m, a), tomb = SIZE_MAX;
    for (;; s = (s + 1) & (m->cap - 1)) {
        if (m->key[s] == a) {
            *found = 1;
            return s;
        }
        if (m->key[s] == 1 && tomb == SIZE_MAX)
            tomb = s;
        if (!m->key[s]) {
            *found = 0;
            return tomb != SIZE_MAX ? tomb : s;
        }
    }
}

/* ---- the older ids kept aside (rare: a short list) ---- */
typedef struct aside {
    uint64_t addr;
    uint32_t id;
} aside;

typedef struct conv {
    amap m;
    aside *older;
    size_t nolder, capolder;
    nf_trace_convert_notes *notes;
} conv;

/* The id live at address a, taken out of the map (0: none). */
static uint32_t take(conv *c, uint64_t a)
{
    for (size_t i = 0; i < c->nolder; i++)
        if (c->older[i].addr == a) {
            uint32_t id = c->older[i].id;
            memmove(&c->older[i], &c->older[i + 1], (c->nolder - i - 1) * sizeof *c->older);
            c->nolder--;
            return id;
        }
    int found;
    size_t s = amap_find(&c->m, a, &found);
    if (!found)
        return 0;
    c->m.key[s] = 1;
    return c->m.id[s];
}

static int put(conv *c, uint64_t a, uint32_t id)
{
    if ((c->m.used + 1) * 2 > c->m.cap && amap_grow(&c->m) != 0)
        return -1;
    int found;
    size_t s = amap_find(&c->m, a, &found);
    if (found) { /* live already: keep the older aside */
        if (c->nolder == c->capolder) {
            size_t cap = c->capolder ? 2 * c->capolder : 16;
            aside *n = realloc(c->older, cap * sizeof *n);
            if (!n)
                return -1;
            c->older = n;
            c->capolder = cap;
        }
        c->older[c->nolder++] = (aside){a, c->m.id[s]};
        c->notes->reborn++;
    } else if (c->m.key[s] == 0) {
        c->m.used++;
    }
    c->m.key[s] = a;
    c->m.id[s] = id;
    return 0;
}

/* ---- the records into events ---- */
static int to_events(const rec *r, size_t n, nf_trace *t, conv *c)
{
    uint32_t *threads = NULL, nthreads = 0, cap = 0; /* raw index -> trace index + 1 */
    for (size_t i = 0; i < n; i++) {
        const rec *x = &r[i];
        if (x->thread >= cap) {
            uint32_t ncap = x->thread + 64;
            uint32_t *nt = realloc(threads, ncap * sizeof *nt);
            if (!nt)
                return free(threads), -1;
            memset(nt + cap, 0, (ncap - cap) * sizeof *nt);
            threads = nt;
            cap = ncap;
        }
        nf_trace_event e = {0};
        e.op = (unsigned char)(x->op & 15);
        uint64_t result = 0;
        switch (x->op) {
        case NF_TRACE_FREE:
            if (x->v[0] && !(e.ref = take(c, x->v[0]))) {
                c->notes->unmatched_frees++;
                continue;
            }
            break;
        case NF_TRACE_REALLOC:
            if (x->v[0] && !(e.ref = take(c, x->v[0])))
                c->notes->unmatched_reallocs++;
            e.size = x->v[1];
            result = x->v[2];
            if (!result && e.ref && !e.size)
                e.flags |= NF_TRACE_F_RELEASED;
            else if (!result && e.ref && put(c, x->v[0], e.ref) != 0) /* failed: the block stays */
                return free(threads), -1;
            break;
        case NF_TRACE_MALLOC:
            e.size = x->v[0];
            result = x->v[1];
            break;
        default:
            e.arg = x->v[0];
            e.size = x->v[1];
            result = x->v[2];
            break;
        }
        if (!threads[x->thread])
            threads[x->thread] = ++nthreads;
        e.thread = (threads[x->thread] - 1) & 0xffffff;
        if (e.op != NF_TRACE_FREE) {
            if (result) {
                if (t->nids == UINT32_MAX || put(c, result, t->nids + 1) != 0)
                    return free(threads), -1;
                t->nids++;
            } else {
                e.flags |= NF_TRACE_F_NULL;
            }
        }
        t->events[t->nevents++] = e;
    }
    free(threads);
    t->nthreads = nthreads;
    return 0;
}

/* Every record of the raw file b[0, n) into *out (malloc'd). */
static int read_records(const unsigned char *b, size_t n, size_t start, rec **out, size_t *count,
                        nf_trace_convert_notes *notes)
{
    size_t cap = 1024, k = 0;
    rec *r = malloc(cap * sizeof *r);
    size_t off = start;
    while (r && off + NF_RAW_CHUNK_HEADER <= n) {
        uint32_t ch[2];
        memcpy(ch, b + off, sizeof ch);
        off += NF_RAW_CHUNK_HEADER;
        if (ch[1] > n - off) {
            notes->truncated = 1;
            break;
        }
        nf_raw_record x = {0};
        size_t o = 0;
        int rc;
        while ((rc = nf_raw_next(b + off, ch[1], &o, &x)) > 0) {
            if (k == cap) {
                rec *nr = realloc(r, (cap *= 2) * sizeof *r);
                if (!nr) {
                    free(r);
                    return -1;
                }
                r = nr;
            }
            r[k++] = (rec){x.seq, {x.v[0], x.v[1], x.v[2]}, ch[0], (uint8_t)x.op};
        }
        if (rc < 0)
            notes->truncated = 1;
        off += ch[1];
    }
    if (!r)
        return -1;
    if (off != n)
        notes->truncated = 1;
    *out = r;
    *count = k;
    return 0;
}

int nf_trace_raw_convert(const char *path, nf_trace **out, nf_trace_convert_notes *notes, char *err, size_t len)
{
    memset(notes, 0, sizeof *notes);
    nf_trace_raw_info info;
    if (nf_trace_raw_info_read(path, &info, err, len) != 0)
        return -1;
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    if (!b) {
        snprintf(err, len, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint32_t clen;
    memcpy(&clen, b + 12, 4);
    rec *r = NULL;
    size_t count = 0;
    nf_trace *t = calloc(1, sizeof *t);
    conv c = {{calloc(1024, 8), calloc(1024, 4), 1024, 0}, NULL, 0, 0, notes};
    int rc = !t || !c.m.key || !c.m.id ? -1 : read_records(b, n, NF_RAW_HEADER + clen, &r, &count, notes);
    free(b);
    if (rc == 0) {
        qsort(r, count, sizeof *r, by_seq);
        t->events = malloc((count ? count : 1) * sizeof *t->events);
        size_t clen2 = strlen(info.command) + 32;
        t->command = malloc(clen2);
        rc = t->events && t->command ? 0 : -1;
        if (rc == 0) {
            snprintf(t->command, clen2, "pid %d: %s", info.pid, info.command);
            rc = to_events(r, count, t, &c);
        }
    }
    free(r);
    free(c.m.key);
    free(c.m.id);
    free(c.older);
    if (rc != 0) {
        nf_trace_free(t);
        snprintf(err, len, "%s: out of memory", path);
        return -1;
    }
    *out = t;
    return 0;
}
