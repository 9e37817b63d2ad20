/* magazine.c: the per-thread side (Bonwick and Adams 2001, section 3): a
 * thread's slot for each heap it uses (initial-exec TLS, no allocation to
 * find it), its cache of two magazines per class, the trades with the
 * class's depot, its counters, and giving it all back when it exits.
 *
 * The trades, for a class whose loaded magazine cannot serve:
 *   malloc  previous has rounds: swap loaded and previous;
 *           else the depot has a full one: previous (empty) to the depot,
 *             loaded becomes previous, the full one is loaded;
 *           else load rounds straight from the slab layer.
 *   free    previous is empty: swap;
 *           else previous (full) to the depot (or, past the depot's limit,
 *             its rounds back to their slabs), an empty one from the depot
 *             or the pool is loaded, the full loaded one becomes previous.
 */
#include <errno.h>
#include <string.h>

#include "slab.h"

__thread slab_tls_slot slab_tls[SLAB_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

slab_mag slab_mag_none; /* n == cap == 0: never popped from, never pushed to */

/* This thread's slot for h, moved to slot 0; NULL when all are taken. */
static slab_tls_slot *slot_for(slab_heap *h)
{
    size_t i, free_i = SLAB_TLS_SLOTS;
    for (i = 0; i < SLAB_TLS_SLOTS; i++) {
        if (slab_tls[i].uid == h->uid)
            break;
        if (slab_tls[i].uid == 0 && free_i == SLAB_TLS_SLOTS)
            free_i = i;
    }
    if (i == SLAB_TLS_SLOTS) {
        if (free_i == SLAB_TLS_SLOTS)
            return NULL;
        i = free_i;
        memset(&slab_tls[i], 0, sizeof slab_tls[i]);
        slab_tls[i].uid = h->uid;
    }
    if (i != 0) {
        slab_tls_slot t = slab_tls[0];
        slab_tls[0] = slab_tls[i];
        slab_tls[i] = t;
    }
    return &slab_tls[0];
}

void slab_slot_forget(slab_heap *h)
{
    for (size_t i = 0; i < SLAB_TLS_SLOTS; i++)
        if (slab_tls[i].uid == h->uid)
            memset(&slab_tls[i], 0, sizeof slab_tls[i]);
}

/* The slow lookup: make this thread's cache for h on first use. */
slab_tcache *slab_tcache_get(slab_heap *h)
{
    slab_tls_slot *s = slot_for(h);
    if (!s || s->state != SLAB_SLOT_FREE)
        return s && s->state == SLAB_SLOT_LIVE ? s->tc : NULL;
    s->state = SLAB_SLOT_INIT; /* a malloc from inside this (pthread_setspecific) finds no cache */
    pthread_mutex_lock(&h->lock);
    slab_tcache *tc = h->free_tcs;
    if (tc)
        h->free_tcs = tc->next;
    else
        tc = slab_meta_alloc_locked(h, sizeof *tc);
    if (tc) {
        memset(tc, 0, sizeof *tc);
        for (unsigned c = 0; c < SLAB_NCLASSES; c++)
            tc->loaded[c] = tc->prev[c] = &slab_mag_none;
        tc->heap = h;
        tc->next = h->tcaches;
        if (h->tcaches)
            h->tcaches->prev_tc = tc;
        h->tcaches = tc;
    }
    pthread_mutex_unlock(&h->lock);
    if (!tc) {
        s = slot_for(h);
        s->state = SLAB_SLOT_FREE;
        return NULL;
    }
    if (h->have_key)
        pthread_setspecific(h->key, tc);
    s = slot_for(h);
    s->tc = tc;
    s->state = SLAB_SLOT_LIVE;
    s->live_uid = h->uid;
    return tc;
}

/* ---- counters ---- */
void slab_count(slab_heap *h, slab_tcache *tc, slab_path p)
{
    if (tc && p < SLAB_PATH_REQUESTS)
        slab_relaxed_inc(&tc->paths[p]);
    else
        __atomic_fetch_add(&h->retired_paths[p], 1, __ATOMIC_RELAXED);
}

__attribute__((noinline)) void slab_live_fold(slab_heap *h, int64_t delta)
{
    int64_t now = __atomic_add_fetch(&h->live, delta, __ATOMIC_RELAXED);
    nf_kit_peak_i64(&h->peak_live, now);
}

/* ---- magazines and the depot (class lock held) ---- */
static slab_mag *mag_empty_locked(slab_heap *h, unsigned cls)
{
    slab_class *c = &h->cls[cls];
    slab_mag *m = c->depot_empty;
    if (m) {
        c->depot_empty = m->next;
        c->nempty_mags--;
    } else {
        pthread_mutex_lock(&h->lock);
        m = h->free_mags;
        if (m)
            h->free_mags = m->next;
        else
            m = slab_meta_alloc_locked(h, sizeof *m);
        pthread_mutex_unlock(&h->lock);
        if (!m)
            return NULL;
    }
    m->next = NULL;
    m->n = 0;
    m->cap = slab_geom_table[cls].mag_cap;
    return m;
}

/* An empty magazine back to the depot, or past its limit to the pool. */
static void mag_put_empty_locked(slab_heap *h, unsigned cls, slab_mag *m)
{
    slab_class *c = &h->cls[cls];
    if (c->nempty_mags < SLAB_DEPOT_MAX_EMPTY) {
        m->next = c->depot_empty;
        c->depot_empty = m;
        c->nempty_mags++;
        return;
    }
    pthread_mutex_lock(&h->lock);
    m->next = h->free_mags;
    h->free_mags = m;
    pthread_mutex_unlock(&h->lock);
}

/* A magazine's rounds back to their slabs; it is empty after. */
static void mag_flush_locked(slab_heap *h, unsigned cls, slab_mag *m)
{
    while (m->n) {
        void *p = m->rounds[--m->n];
        slab_region *r = slab_region_of((uintptr_t)p);
        unsigned u = (unsigned)(((uintptr_t)p >> SLAB_UNIT_LOG2) & (SLAB_UNITS - 1));
        slab_free_locked(h, cls, &r->slabs[r->head[u]], p);
    }
}

/* A non-empty magazine to the depot, or past its limit into slabs (then
 * the magazine itself to the depot's empties). */
static void mag_put_full_locked(slab_heap *h, unsigned cls, slab_mag *m)
{
    slab_class *c = &h->cls[cls];
    if (c->nfull_mags < SLAB_DEPOT_MAX_FULL) {
        m->next = c->depot_full;
        c->depot_full = m;
        c->nfull_mags++;
        return;
    }
    mag_flush_locked(h, cls, m);
    __atomic_fetch_add(&h->retired_paths[SLAB_PATH_DEPOT_FLUSH], 1, __ATOMIC_RELAXED);
    mag_put_empty_locked(h, cls, m);
}

void slab_depot_flush_locked(slab_heap *h, unsigned cls)
{
    slab_class *c = &h->cls[cls];
    while (c->depot_full) {
        slab_mag *m = c->depot_full;
        c->depot_full = m->next;
        c->nfull_mags--;
        mag_flush_locked(h, cls, m);
        __atomic_fetch_add(&h->retired_paths[SLAB_PATH_DEPOT_FLUSH], 1, __ATOMIC_RELAXED);
        mag_put_empty_locked(h, cls, m);
    }
}

/* ---- the slow paths ---- */
__attribute__((noinline)) void *slab_malloc_slow(slab_heap *h, slab_tcache *tc, unsigned cls)
{
    slab_class *c = &h->cls[cls];
    slab_path how;
    void *p;
    if (!tc) { /* no cache: straight from the slab layer */
        pthread_mutex_lock(&c->lock);
        unsigned got = slab_alloc_batch_locked(h, cls, &p, 1, &how);
        pthread_mutex_unlock(&c->lock);
        if (!got)
            return NULL;
        slab_count(h, tc, how);
        return p;
    }
    slab_mag *ld = tc->loaded[cls], *pv = tc->prev[cls];
    if (pv->n) {
        tc->loaded[cls] = pv;
        tc->prev[cls] = ld;
        slab_relaxed_inc(&tc->paths[SLAB_PATH_MAGAZINE]);
        return pv->rounds[--pv->n];
    }
    pthread_mutex_lock(&c->lock);
    if (c->depot_full) {
        slab_mag *full = c->depot_full;
        c->depot_full = full->next;
        c->nfull_mags--;
        if (pv->cap)
            mag_put_empty_locked(h, cls, pv);
        pthread_mutex_unlock(&c->lock);
        tc->prev[cls] = ld;
        tc->loaded[cls] = full;
        slab_relaxed_inc(&tc->paths[SLAB_PATH_DEPOT]);
        return full->rounds[--full->n];
    }
    if (!ld->cap) {
        slab_mag *m = mag_empty_locked(h, cls);
        if (!m) { /* no meta memory: one object, no cache */
            unsigned got = slab_alloc_batch_locked(h, cls, &p, 1, &how);
            pthread_mutex_unlock(&c->lock);
            if (!got)
                return NULL;
            slab_relaxed_inc(&tc->paths[how]);
            return p;
        }
        tc->loaded[cls] = ld = m;
    }
    ld->n = slab_alloc_batch_locked(h, cls, ld->rounds, slab_geom_table[cls].refill, &how);
    pthread_mutex_unlock(&c->lock);
    if (!ld->n)
        return NULL;
    slab_relaxed_inc(&tc->paths[how]);
    return ld->rounds[--ld->n];
}

/* p's key is written and p is poisoned; the loaded magazine is full (or
 * the stand-in), or there is no cache. */
__attribute__((noinline)) void slab_free_slow(slab_heap *h, slab_tcache *tc, unsigned cls, slab *s, void *p)
{
    slab_class *c = &h->cls[cls];
    int saved = errno;
    if (!tc) {
        pthread_mutex_lock(&c->lock);
        slab_free_locked(h, cls, s, p);
        pthread_mutex_unlock(&c->lock);
        slab_count(h, tc, SLAB_PATH_FREE_SLAB);
        errno = saved;
        return;
    }
    slab_mag *ld = tc->loaded[cls], *pv = tc->prev[cls];
    if (pv->cap && pv->n == 0) {
        tc->loaded[cls] = pv;
        tc->prev[cls] = ld;
        pv->rounds[pv->n++] = p;
        slab_relaxed_inc(&tc->paths[SLAB_PATH_FREE_MAGAZINE]);
        return;
    }
    pthread_mutex_lock(&c->lock);
    if (pv->cap) { /* full */
        mag_put_full_locked(h, cls, pv);
        pv = &slab_mag_none;
    }
    slab_mag *empty = mag_empty_locked(h, cls);
    if (!empty) {
        slab_free_locked(h, cls, s, p);
        pthread_mutex_unlock(&c->lock);
        tc->prev[cls] = pv;
        slab_relaxed_inc(&tc->paths[SLAB_PATH_FREE_SLAB]);
        errno = saved;
        return;
    }
    pthread_mutex_unlock(&c->lock);
    tc->prev[cls] = ld;
    tc->loaded[cls] = empty;
    empty->rounds[empty->n++] = p;
    slab_relaxed_inc(&tc->paths[SLAB_PATH_FREE_DEPOT]);
    errno = saved;
}

/* p's key is written and p is poisoned; p is set aside (slab_config.h)
 * and tc's previous magazine is full (or the stand-in): traded at the
 * depot for an empty one. */
__attribute__((noinline)) void slab_free_aside(slab_heap *h, slab_tcache *tc, unsigned cls, slab *s, void *p)
{
    slab_mag *pv = tc->prev[cls];
    slab_class *c = &h->cls[cls];
    int saved = errno;
    slab_live_add(h, tc, -(int64_t)slab_geom_table[cls].size);
    pthread_mutex_lock(&c->lock);
    if (pv->cap) /* full */
        mag_put_full_locked(h, cls, pv);
    slab_mag *empty = mag_empty_locked(h, cls);
    if (!empty) {
        slab_free_locked(h, cls, s, p);
        pthread_mutex_unlock(&c->lock);
        tc->prev[cls] = &slab_mag_none;
        slab_relaxed_inc(&tc->paths[SLAB_PATH_FREE_SLAB]);
        errno = saved;
        return;
    }
    pthread_mutex_unlock(&c->lock);
    tc->prev[cls] = empty;
    empty->rounds[empty->n++] = p;
    slab_relaxed_inc(&tc->paths[SLAB_PATH_FREE_DEPOT]);
    errno = saved;
}

/* The calling thread's rounds back to their slabs (trim). */
void slab_mags_flush(slab_heap *h, slab_tcache *tc)
{
    for (unsigned cls = 0; cls < SLAB_NCLASSES; cls++) {
        slab_mag *ld = tc->loaded[cls], *pv = tc->prev[cls];
        if (!ld->n && !pv->n)
            continue;
        pthread_mutex_lock(&h->cls[cls].lock);
        mag_flush_locked(h, cls, ld);
        mag_flush_locked(h, cls, pv);
        pthread_mutex_unlock(&h->cls[cls].lock);
    }
}

/* Give a thread's cache back: magazines to the depot, counters to the
 * heap, the cache to the pool; the thread keeps going without a cache. */
static void tcache_release(slab_tcache *tc)
{
    slab_heap *h = tc->heap;
    for (unsigned cls = 0; cls < SLAB_NCLASSES; cls++) {
        slab_mag *mags[2] = {tc->loaded[cls], tc->prev[cls]};
        if (!mags[0]->cap && !mags[1]->cap)
            continue;
        pthread_mutex_lock(&h->cls[cls].lock);
        for (int i = 0; i < 2; i++) {
            if (!mags[i]->cap)
                continue;
            if (mags[i]->n)
                mag_put_full_locked(h, cls, mags[i]);
            else
                mag_put_empty_locked(h, cls, mags[i]);
        }
        pthread_mutex_unlock(&h->cls[cls].lock);
        tc->loaded[cls] = tc->prev[cls] = &slab_mag_none;
    }
    pthread_mutex_lock(&h->lock);
    for (unsigned c = 0; c < SLAB_NCLASSES; c++) {
        slab_mag_sync(h, tc, c);
        tc->paths[SLAB_PATH_MAGAZINE] += tc->mag_out[c];
        tc->paths[SLAB_PATH_FREE_MAGAZINE] += tc->mag_in[c];
        tc->mag_out[c] = tc->mag_in[c] = tc->mag_synced[c] = 0;
    }
    for (size_t p = 0; p < SLAB_PATH_REQUESTS; p++)
        __atomic_fetch_add(&h->retired_paths[p], tc->paths[p], __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->retired_reallocs, tc->reallocs, __ATOMIC_RELAXED);
    slab_live_fold(h, tc->live_local);
    if (tc->prev_tc)
        tc->prev_tc->next = tc->next;
    else
        h->tcaches = tc->next;
    if (tc->next)
        tc->next->prev_tc = tc->prev_tc;
    tc->next = h->free_tcs;
    h->free_tcs = tc;
    pthread_mutex_unlock(&h->lock);
    slab_tls_slot *s = slot_for(h);
    if (s) {
        s->live_uid = 0;
        s->tc = NULL;
        s->state = SLAB_SLOT_DEAD;
    }
}

/* pthread key destructor: runs at thread exit in the exiting thread. */
void slab_tcache_destructor(void *arg) { tcache_release(arg); }

/* The interface's thread_exit: the same, called by a drop-in wrapper. */
void slab_tcache_shutdown(slab_heap *h)
{
    slab_tls_slot *s = slot_for(h);
    if (!s || s->state != SLAB_SLOT_LIVE)
        return;
    if (h->have_key)
        pthread_setspecific(h->key, NULL);
    tcache_release(s->tc);
}
