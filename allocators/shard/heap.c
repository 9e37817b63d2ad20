/* heap.c: shard's heap lifecycle: the TLS slots that cache a thread's
 * theap, the registry of live heaps, thread heaps made and released,
 * heaps created and destroyed, the default heap, fork and thread exit.
 * The calls themselves are in iface.c. */
#include <errno.h>
#include <string.h>

#include "shard.h"
#include "../once.h"

__thread shard_tls shard_t_cur __attribute__((tls_model("initial-exec")));
__thread shard_tls shard_t_slots[SHARD_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

static uint64_t next_uid = 1;

/* Live heaps, so that a thread evicting a cached theap of a heap destroyed
 * meanwhile does not touch it. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
typedef struct live_heap {
    nf_heap *h;
    uint64_t uid;
} live_heap;
static live_heap live_heaps[256];

static bool heap_is_live_locked(uint64_t uid)
{
    for (size_t i = 0; i < sizeof live_heaps / sizeof live_heaps[0]; i++)
        if (live_heaps[i].uid == uid)
            return true;
    return false;
}

/* ---- thread heaps ---- */
static void thread_exit_key(void *v);

/* A warm theap (an exited thread's, with its pages) for a new thread: the
 * newest. Its pages, queues and dirty pages carry over whole, so a
 * program whose threads come and go reuses the memory of the last one at
 * once. Under lock. */
static shard_theap *warm_take_locked(nf_heap *h)
{
    shard_theap *th = h->warm;
    if (th) {
        h->warm = th->pool_next;
        __atomic_store_n(&h->warm_count, h->warm_count - 1, __ATOMIC_RELAXED);
    }
    return th;
}

static shard_theap *theap_new(nf_heap *h)
{
    pthread_mutex_lock(&h->lock);
    shard_theap *th = warm_take_locked(h);
    if (th) {
        pthread_mutex_unlock(&h->lock);
        th->live = true;
        return th;
    }
    th = h->pool;
    if (th) {
        h->pool = th->pool_next;
    } else {
        size_t per = (SHARD_THEAP_CHUNK - 64) / sizeof(shard_theap);
        uint8_t *chunk = nf_pages_map(h->ps, SHARD_THEAP_CHUNK, 0);
        if (!chunk) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        shard_mapped_add(h, (int64_t)SHARD_THEAP_CHUNK);
        *(void **)chunk = h->chunks;
        h->chunks = chunk;
        for (size_t i = 0; i < per; i++) {
            shard_theap *t = (shard_theap *)(chunk + 64 + i * sizeof(shard_theap));
            t->heap = h;
            t->all_next = h->theaps;
            h->theaps = t;
            if (i) {
                t->pool_next = h->pool;
                h->pool = t;
            } else {
                th = t;
            }
        }
    }
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < SHARD_DIRECT_COUNT; i++)
        th->pages_direct[i] = &shard_empty_page;
    th->live = true;
    th->purge_due = 0;
    return th;
}

/* th (no thread) abandoned: its segments to the heap, it to the pool. */
static void theap_abandon(nf_heap *h, shard_theap *th)
{
    shard_abandon_all(th);
    pthread_mutex_lock(&h->lock);
    th->pool_next = h->pool;
    h->pool = th;
    pthread_mutex_unlock(&h->lock);
}

/* Hand th back: kept warm, with its pages, for the next thread (at most
 * SHARD_WARM_THEAPS, each for at most SHARD_PURGE_DELAY_NS: shard_warm_expire),
 * else its segments are abandoned (or given back). */
static void theap_release(nf_heap *h, shard_theap *th)
{
    shard_live_flush(h, th);
    th->live = false;
    th->parked = shard_now_ns();
    pthread_mutex_lock(&h->lock);
    if (h->warm_count < SHARD_WARM_THEAPS && !shard_secure) {
        th->pool_next = h->warm;
        h->warm = th;
        __atomic_store_n(&h->warm_count, h->warm_count + 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&h->lock);
        return;
    }
    pthread_mutex_unlock(&h->lock);
    theap_abandon(h, th);
}

/* Warm theaps parked longer than the purge delay (all: now) are abandoned,
 * so that other threads reclaim their blocks and their memory is purged:
 * no thread came to take them over. Called on the slow paths. */
void shard_warm_expire(nf_heap *h, bool now)
{
    if (!__atomic_load_n(&h->warm_count, __ATOMIC_RELAXED))
        return;
    uint64_t t = shard_now_ns();
    for (;;) {
        pthread_mutex_lock(&h->lock);
        shard_theap *th = NULL, **link;
        for (link = &h->warm; *link; link = &(*link)->pool_next)
            if (now || (*link)->parked + SHARD_PURGE_DELAY_NS <= t) {
                th = *link;
                *link = th->pool_next;
                __atomic_store_n(&h->warm_count, h->warm_count - 1, __ATOMIC_RELAXED);
                break;
            }
        pthread_mutex_unlock(&h->lock);
        if (!th)
            return;
        theap_abandon(h, th);
    }
}

/* The slow lookup: another slot, or a new theap installed as current. */
shard_theap *shard_theap_get(nf_heap *h)
{
    if (shard_t_cur.uid == h->uid)
        return shard_t_cur.th;
    int free_slot = -1;
    for (int i = 0; i < SHARD_TLS_SLOTS; i++) {
        if (shard_t_slots[i].uid == h->uid) {
            shard_tls t = shard_t_slots[i];
            shard_t_slots[i] = shard_t_cur;
            shard_t_cur = t;
            return t.th;
        }
        if (!shard_t_slots[i].uid && free_slot < 0)
            free_slot = i;
    }
    shard_theap *th = theap_new(h);
    if (!th)
        return NULL;
    if (shard_t_cur.uid) {
        if (free_slot < 0) {
            /* evict the last slot; its heap may be gone */
            free_slot = SHARD_TLS_SLOTS - 1;
            shard_tls old = shard_t_slots[free_slot];
            pthread_mutex_lock(&live_lock);
            if (heap_is_live_locked(old.uid))
                theap_release(old.th->heap, old.th);
            pthread_mutex_unlock(&live_lock);
        }
        shard_t_slots[free_slot] = shard_t_cur;
    }
    shard_t_cur.th = th;
    shard_t_cur.uid = h->uid;
    /* after installing: setspecific may call malloc */
    if (h->have_key)
        pthread_setspecific(h->key, h);
    return th;
}

void shard_thread_exit(nf_heap *h)
{
    shard_theap *th = NULL;
    if (shard_t_cur.uid == h->uid) {
        th = shard_t_cur.th;
        shard_t_cur.uid = 0;
        shard_t_cur.th = NULL;
    } else {
        for (int i = 0; i < SHARD_TLS_SLOTS; i++)
            if (shard_t_slots[i].uid == h->uid) {
                th = shard_t_slots[i].th;
                shard_t_slots[i].uid = 0;
                shard_t_slots[i].th = NULL;
            }
    }
    if (th)
        theap_release(h, th);
}

static void thread_exit_key(void *v) { shard_thread_exit((nf_heap *)v); }

/* ---- heaps ---- */
static nf_heap *heap_create_on(nf_pages *ps)
{
    if (!shard_segmap_init())
        return NULL;
    size_t sz;
    nf_heap *h = nf_kit_heap_map(ps, NF_BRK_NONE, sizeof(nf_heap), offsetof(nf_heap, own_ps), &ps, &sz);
    if (!h)
        return NULL;
    h->ps = ps;
    h->self_size = sz;
    h->uid = __atomic_fetch_add(&next_uid, 1, __ATOMIC_RELAXED);
    /* Odd, so never 0: the page keys are mixed from it (page.c). */
    h->secret = nf_kit_random64(h) | 1;
    pthread_mutex_init(&h->lock, NULL);
    h->have_key = pthread_key_create(&h->key, thread_exit_key) == 0;
    shard_mapped_add(h, (int64_t)sz);
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < sizeof live_heaps / sizeof live_heaps[0]; i++)
        if (!live_heaps[i].uid) {
            live_heaps[i].uid = h->uid;
            live_heaps[i].h = h;
            break;
        }
    pthread_mutex_unlock(&live_lock);
    return h;
}

nf_heap *shard_create(nf_pages *ps) { return heap_create_on(ps); }

void shard_destroy(nf_heap *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < sizeof live_heaps / sizeof live_heaps[0]; i++)
        if (live_heaps[i].uid == h->uid)
            live_heaps[i].uid = 0;
    pthread_mutex_unlock(&live_lock);
    if (h->have_key)
        pthread_key_delete(h->key);
    if (shard_t_cur.uid == h->uid)
        shard_t_cur.uid = 0;
    for (int i = 0; i < SHARD_TLS_SLOTS; i++)
        if (shard_t_slots[i].uid == h->uid)
            shard_t_slots[i].uid = 0;
    for (shard_theap *th = h->theaps; th; th = th->all_next) {
        shard_segment *next;
        for (shard_segment *s = th->segments; s; s = next) {
            next = s->next;
            shard_segment_release(h, s, NULL);
        }
    }
    shard_segment *next;
    for (shard_segment *s = h->abandoned; s; s = next) {
        next = s->next;
        shard_segment_release(h, s, NULL);
    }
    for (shard_segment *s = h->huge; s; s = next) {
        next = s->next;
        shard_segment_release(h, s, NULL);
    }
    for (shard_segment *s = h->huge_cache; s; s = next) {
        next = s->next;
        shard_segment_release(h, s, NULL);
    }
    for (shard_segment *s = h->cache; s; s = next) {
        next = s->next;
        shard_segment_release(h, s, NULL);
    }
    nf_pages *ps = h->ps;
    void *cnext;
    for (void *c = h->chunks; c; c = cnext) {
        cnext = *(void **)c;
        nf_pages_unmap(ps, c, SHARD_THEAP_CHUNK);
    }
    nf_kit_heap_unmap(h, ps, &h->own_ps, h->self_size);
}

static nf_heap *shard_make_default(void) { return heap_create_on(nf_pages_real()); }

nf_heap *shard_default_heap(void)
{
    static nf_heap_once once;
    return nf_heap_once_get(&once, shard_make_default);
}

/* ---- fork: the heap lock and the live-heap lock (the only locks) ---- */
void shard_fork_prepare(nf_heap *h)
{
    pthread_mutex_lock(&live_lock);
    pthread_mutex_lock(&h->lock);
}

void shard_fork_parent(nf_heap *h)
{
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&live_lock);
}

void shard_fork_child(nf_heap *h)
{
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&live_lock, NULL);
}
