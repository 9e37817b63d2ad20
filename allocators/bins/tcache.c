/* tcache.c: the per-thread side: a thread's slot for each heap it uses
 * (initial-exec TLS, no allocation to find it), its tcache, its arena,
 * its counters, and giving everything back when the thread exits. */
#include <pthread.h>
#include <string.h>

#include "bins.h"

__thread bins_tls_slot bins_tls[BINS_TLS_SLOTS] __attribute__((tls_model("initial-exec")));

/* This thread's slot for h, moved to slot 0; NULL when all are taken. */
static bins_tls_slot *slot_for(bins_heap *h)
{
    size_t i, free_i = BINS_TLS_SLOTS;
    for (i = 0; i < BINS_TLS_SLOTS; i++) {
        if (bins_tls[i].uid == h->uid)
            break;
        if (bins_tls[i].uid == 0 && free_i == BINS_TLS_SLOTS)
            free_i = i;
    }
    if (i == BINS_TLS_SLOTS) {
        if (free_i == BINS_TLS_SLOTS)
            return NULL;
        i = free_i;
        memset(&bins_tls[i], 0, sizeof bins_tls[i]);
        bins_tls[i].uid = h->uid;
    }
    if (i != 0) {
        bins_tls_slot t = bins_tls[0];
        bins_tls[0] = bins_tls[i];
        bins_tls[i] = t;
    }
    return &bins_tls[0];
}

void bins_slot_forget(bins_heap *h)
{
    for (size_t i = 0; i < BINS_TLS_SLOTS; i++)
        if (bins_tls[i].uid == h->uid)
            memset(&bins_tls[i], 0, sizeof bins_tls[i]);
}

bins_arena *bins_thread_arena(bins_heap *h)
{
    bins_tls_slot *s = slot_for(h);
    if (!s)
        return &h->main;
    if (!s->ar)
        s->ar = bins_arena_attach(h);
    return s->ar;
}

/* The slow lookup: make this thread's tcache for h on first use. */
bins_tcache *bins_tcache_get(bins_heap *h)
{
    bins_tls_slot *s = slot_for(h);
    if (!s || s->state != BINS_SLOT_FREE)
        return s && s->state == BINS_SLOT_LIVE ? s->tc : NULL;
    s->state = BINS_SLOT_INIT; /* a malloc from inside this (pthread_setspecific) finds no cache */
    if (!s->ar)
        s->ar = bins_arena_attach(h);
    bins_arena *ar = s->ar;
    size_t nb;
    request2size(sizeof(bins_tcache), &nb);
    bins_lock_take(&ar->lock);
    bins_tcache *tc = bins_int_malloc_locked(ar, NULL, nb);
    bins_lock_give(&ar->lock);
    if (!tc) {
        s = slot_for(h);
        s->state = BINS_SLOT_FREE;
        return NULL;
    }
    bins_unpoison(tc, sizeof *tc);
    memset(tc, 0, sizeof *tc);
    tc->heap = h;
    tc->ar = ar;
    bins_lock_take(&h->lock);
    tc->next = h->tcaches;
    if (h->tcaches)
        h->tcaches->prev = tc;
    h->tcaches = tc;
    bins_lock_give(&h->lock);
    if (h->have_key)
        pthread_setspecific(h->key, tc);
    s = slot_for(h);
    s->tc = tc;
    s->state = BINS_SLOT_LIVE;
    s->live_uid = h->uid;
    return tc;
}

static void relaxed_inc(uint64_t *p) { __atomic_store_n(p, *p + 1, __ATOMIC_RELAXED); }

void bins_count(bins_heap *h, bins_tcache *tc, bins_path p)
{
    if (tc)
        relaxed_inc(&tc->paths[p]);
    else
        __atomic_fetch_add(&h->retired_paths[p], 1, __ATOMIC_RELAXED);
}

static void live_fold(bins_heap *h, int64_t delta)
{
    int64_t now = __atomic_add_fetch(&h->live, delta, __ATOMIC_RELAXED);
    nf_kit_peak_i64(&h->peak_live, now);
}

/* Live bytes are kept per thread and folded into the heap's past
 * BINS_LIVE_FLUSH, so peak_live is exact to that much per thread. */
void bins_live_add(bins_heap *h, bins_tcache *tc, int64_t delta)
{
    if (!tc) {
        live_fold(h, delta);
        return;
    }
    int64_t v = tc->live_local + delta;
    if (v >= BINS_LIVE_FLUSH || v <= -BINS_LIVE_FLUSH) {
        live_fold(h, v);
        v = 0;
    }
    __atomic_store_n(&tc->live_local, v, __ATOMIC_RELAXED);
}

/* Give a thread's cache back: cached chunks to their arenas, counters to
 * the heap, the cache itself to its arena; the thread keeps going without
 * a cache (its slot is dead) and leaves its arena for others. */
static void tcache_release(bins_tcache *tc)
{
    bins_heap *h = tc->heap;
    for (size_t i = 0; i < BINS_TCACHE_BINS; i++) {
        bins_tentry *e = tc->entries[i];
        while (e) {
            if ((uintptr_t)e % BINS_ALIGN)
                bins_die("tcache_thread_shutdown(): unaligned tcache chunk detected at", e);
            bins_tentry *next = REVEAL_PTR(e->next);
            e->key = 0;
            bins_free_chunk(h, NULL, mem2chunk(e));
            e = next;
        }
        tc->entries[i] = NULL;
        tc->counts[i] = 0;
    }
    bins_lock_take(&h->lock);
    for (size_t p = 0; p < BINS_PATH_COUNT; p++)
        __atomic_fetch_add(&h->retired_paths[p], tc->paths[p], __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->retired_paths[BINS_PATH_TCACHE], tc->fast_mallocs, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->retired_paths[BINS_PATH_FREE_TCACHE], tc->fast_frees, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->retired_mallocs, tc->mallocs + tc->fast_mallocs, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->retired_frees, tc->frees + tc->fast_frees, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->retired_reallocs, tc->reallocs, __ATOMIC_RELAXED);
    live_fold(h, tc->live_local);
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        h->tcaches = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    bins_lock_give(&h->lock);
    bins_arena *ar = tc->ar;
    bins_tls_slot *s = slot_for(h);
    if (s) {
        s->live_uid = 0;
        s->tc = NULL;
        s->state = BINS_SLOT_DEAD;
    }
    bins_poison(tc, sizeof *tc);
    bins_free_chunk(h, NULL, mem2chunk(tc));
    bins_arena_detach(h, ar);
}

/* pthread key destructor: runs at thread exit in the exiting thread. */
void bins_tcache_destructor(void *arg) { tcache_release(arg); }

/* The interface's thread_exit: the same, called by a drop-in wrapper. */
void bins_tcache_shutdown(bins_heap *h)
{
    bins_tls_slot *s = slot_for(h);
    if (!s || s->state != BINS_SLOT_LIVE)
        return;
    if (h->have_key)
        pthread_setspecific(h->key, NULL);
    tcache_release(s->tc);
}
