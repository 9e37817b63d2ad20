/* trace/replay.c: a trace replayed through an nf_mem_api, event by event
 * in the trace's global order, on the calling thread (notfree/trace.h
 * states the touch policy and the checks).
 *
 * Tables, indexed by id: the pointer the replay got for the block (NULL
 * when the replaying allocator failed it) and its requested size. They
 * come from the process's malloc and are written at start, so a replay's
 * RSS growth after start is the allocator's and the blocks'. */
#include "notfree/trace.h"

#include "notfree/clock.h"

#include "wl.h" /* the workloads' tag and fill, shared: one checksum everywhere */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct nf_trace_replay {
    const nf_trace *t;
    const nf_mem_api *mem;
    nf_trace_replay_opts o;
    void **ptr;     /* [nids + 1] */
    uint64_t *size; /* [nids + 1] */
    uint64_t next;  /* the next event */
    uint32_t born;
    uint64_t live;
    nf_trace_replay_result res;
};

/* ---- marks: what the touch policy writes and check reads back ---- */
static void mark(const nf_trace_replay *r, void *p, uint64_t n, uint64_t tag)
{
    if (r->o.touch == NF_TRACE_TOUCH_FULL)
        nf_wl_fill(p, n, tag);
    else if (r->o.touch == NF_TRACE_TOUCH_PAGES && n >= 8)
        nf_wl_tag(p, n, tag);
    else if (r->o.touch == NF_TRACE_TOUCH_PAGES)
        memcpy(p, &tag, n);
}

/* Are the first n bytes of a block marked with tag as mark() leaves them? */
static int marked(const nf_trace_replay *r, const void *p, uint64_t n, uint64_t tag)
{
    if (r->o.touch == NF_TRACE_TOUCH_FULL)
        return nf_wl_fill_check(p, n, tag) == n;
    if (n >= 8)
        return nf_wl_tag_ok(p, n, tag);
    return memcmp(p, &tag, n) == 0;
}

/* Are the bytes mark() would write still zero (a calloc block)? */
static int zeroed(const nf_trace_replay *r, const unsigned char *p, uint64_t n)
{
    if (r->o.touch == NF_TRACE_TOUCH_FULL) {
        for (uint64_t i = 0; i < n; i++)
            if (p[i])
                return 0;
        return 1;
    }
    for (uint64_t i = 0; i < n && i < 8; i++)
        if (p[i] || p[n - 1 - i])
            return 0;
    for (uint64_t i = 4096; i + 8 < n; i += 4096)
        if (p[i])
            return 0;
    return 1;
}

static int checking(const nf_trace_replay *r) { return r->o.check && r->o.touch != NF_TRACE_TOUCH_NONE; }

/* Check id's block (before it is freed or realloc'd) into the checksum. */
static void check_block(nf_trace_replay *r, uint32_t id)
{
    if (!checking(r) || !r->ptr[id])
        return;
    uint64_t tag = nf_wl_mix(id);
    if (marked(r, r->ptr[id], r->size[id], tag))
        r->res.checksum += tag;
    else
        r->res.corrupt++;
}

static uint64_t requested(const nf_trace_event *e)
{
    uint64_t n;
    if (e->op != NF_TRACE_CALLOC)
        return e->size;
    return __builtin_mul_overflow(e->arg, e->size, &n) ? UINT64_MAX : n;
}

/* A block the trace gave birth to: id gets p (NULL: the replay failed it). */
static void born(nf_trace_replay *r, const nf_trace_event *e, void *p)
{
    uint32_t id = ++r->born;
    uint64_t n = requested(e);
    r->ptr[id] = p;
    r->size[id] = n;
    if (!p) {
        r->res.failed++;
        return;
    }
    if (e->op >= NF_TRACE_MEMALIGN && e->arg && ((uintptr_t)p & (e->arg - 1)))
        r->res.misaligned++;
    if (e->op == NF_TRACE_CALLOC && checking(r) && !zeroed(r, p, n))
        r->res.not_zeroed++;
    mark(r, p, n, nf_wl_mix(id));
    r->live += n;
    if (r->live > r->res.peak_live_bytes)
        r->res.peak_live_bytes = r->live;
}

static void release(nf_trace_replay *r, uint32_t id)
{
    if (r->ptr[id])
        r->live -= r->size[id];
    r->ptr[id] = NULL;
}

/* The replaying allocator gave a block where the trace's returned NULL:
 * give it back at once. */
static void extra(nf_trace_replay *r, void *p)
{
    if (p) {
        r->res.extra++;
        r->mem->free(r->mem->ctx, p);
    }
}

/* An alignment as memalign takes it: a power of two (glibc rounds others
 * up for memalign and aligned_alloc); 0 when the call cannot be made
 * (posix_memalign's EINVAL cases, which the trace records as failed). */
static uint64_t alignment(const nf_trace_event *e)
{
    uint64_t a = e->arg ? e->arg : 1;
    if (e->op == NF_TRACE_POSIX_MEMALIGN && ((a & (a - 1)) || a < sizeof(void *)))
        return 0;
    if (a > (1ULL << 62))
        return 0;
    while (a & (a - 1))
        a += a & -a; /* up to the next power of two */
    return a;
}

static void do_realloc(nf_trace_replay *r, const nf_trace_event *e)
{
    const nf_mem_api *m = r->mem;
    void *old = e->ref ? r->ptr[e->ref] : NULL;
    uint64_t oldn = e->ref ? r->size[e->ref] : 0;
    if (e->ref)
        check_block(r, e->ref);
    void *q = m->realloc(m->ctx, old, e->size);
    if (e->flags & NF_TRACE_F_NULL) {
        if (e->flags & NF_TRACE_F_RELEASED) { /* realloc(p, 0) freed p */
            release(r, e->ref);
            extra(r, q);
        } else if (q) { /* the trace's failed; this one moved the block */
            r->res.extra++;
            if (e->ref)
                r->ptr[e->ref] = q;
            else
                m->free(m->ctx, q);
        }
        return;
    }
    if (!q && old && e->size) { /* failed: old is still ours to free */
        m->free(m->ctx, old);
        release(r, e->ref);
        born(r, e, NULL);
        return;
    }
    if (e->ref) {
        uint64_t kept = oldn < e->size ? oldn : e->size, tag = nf_wl_mix(e->ref);
        if (checking(r) && q && old) {
            int ok = r->o.touch == NF_TRACE_TOUCH_FULL ? nf_wl_fill_check(q, kept, tag) == kept
                                                       : memcmp(q, &tag, kept < 8 ? kept : 8) == 0;
            r->res.corrupt += !ok;
        }
        release(r, e->ref);
    }
    born(r, e, q);
}

static void replay_one(nf_trace_replay *r, const nf_trace_event *e)
{
    const nf_mem_api *m = r->mem;
    int null = e->flags & NF_TRACE_F_NULL;
    void *p;
    r->res.calls[e->op]++;
    switch (e->op) {
    case NF_TRACE_MALLOC:
        p = m->malloc(m->ctx, e->size);
        break;
    case NF_TRACE_CALLOC:
        p = m->calloc(m->ctx, e->arg, e->size);
        break;
    case NF_TRACE_REALLOC:
        do_realloc(r, e);
        return;
    case NF_TRACE_FREE:
        if (e->ref) {
            check_block(r, e->ref);
            m->free(m->ctx, r->ptr[e->ref]);
            release(r, e->ref);
        } else {
            m->free(m->ctx, NULL);
        }
        return;
    default: {
        uint64_t a = alignment(e);
        p = a ? m->memalign(m->ctx, a, e->size) : NULL;
        break;
    }
    }
    if (null)
        extra(r, p);
    else
        born(r, e, p);
}

nf_trace_replay *nf_trace_replay_start(const nf_trace *t, const nf_mem_api *mem, const nf_trace_replay_opts *o)
{
    nf_trace_replay *r = calloc(1, sizeof *r);
    size_t n = (size_t)t->nids + 1;
    if (r) {
        r->ptr = malloc(n * sizeof *r->ptr);
        r->size = malloc(n * sizeof *r->size);
    }
    if (!r || !r->ptr || !r->size) {
        if (r) {
            free(r->ptr);
            free(r->size);
        }
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    memset(r->ptr, 0, n * sizeof *r->ptr); /* written now, so not counted in the replay's RSS growth */
    memset(r->size, 0, n * sizeof *r->size);
    r->t = t;
    r->mem = mem;
    r->o = o ? *o : (nf_trace_replay_opts){NF_TRACE_TOUCH_PAGES, 1};
    return r;
}

uint64_t nf_trace_replay_step(nf_trace_replay *r, uint64_t n)
{
    double t0 = nf_now_s();
    uint64_t end = r->t->nevents - r->next < n ? r->t->nevents : r->next + n, done = end - r->next;
    for (; r->next < end; r->next++)
        replay_one(r, &r->t->events[r->next]);
    r->res.events += done;
    r->res.seconds += nf_now_s() - t0;
    return done;
}

int nf_trace_replay_finish(nf_trace_replay *r, nf_trace_replay_result *out)
{
    for (uint32_t id = 1; id <= r->born; id++)
        if (r->ptr[id]) {
            check_block(r, id);
            r->mem->free(r->mem->ctx, r->ptr[id]);
        }
    r->res.end_live_bytes = r->live;
    nf_trace_replay_result res = r->res;
    free(r->ptr);
    free(r->size);
    free(r);
    if (out)
        *out = res;
    return res.corrupt || res.misaligned || res.not_zeroed || res.failed ? -1 : 0;
}

int nf_trace_replay_run(const nf_trace *t, const nf_mem_api *mem, const nf_trace_replay_opts *o,
                        nf_trace_replay_result *out)
{
    nf_trace_replay *r = nf_trace_replay_start(t, mem, o);
    if (!r)
        return -1;
    nf_trace_replay_step(r, t->nevents);
    return nf_trace_replay_finish(r, out);
}
