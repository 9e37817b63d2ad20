/* lock.h: the arena lock, a futex lock like glibc's lll_lock: one atomic
 * exchange to take or release it when nobody waits, a futex sleep when
 * contended. It never allocates, and a forked child resets it by storing 0.
 * States: 0 free, 1 taken, 2 taken and someone may sleep on it. */
#ifndef NF_BINS_LOCK_H
#define NF_BINS_LOCK_H

typedef struct bins_lock {
    int state;
} bins_lock;

void bins_lock_wait_slow(bins_lock *l); /* lock.c */
void bins_lock_wake_slow(bins_lock *l);

static inline void bins_lock_init(bins_lock *l) { __atomic_store_n(&l->state, 0, __ATOMIC_RELEASE); }

static inline void bins_lock_take(bins_lock *l)
{
    int free_state = 0;
    if (!__atomic_compare_exchange_n(&l->state, &free_state, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        bins_lock_wait_slow(l);
}

static inline void bins_lock_give(bins_lock *l)
{
    if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2)
        bins_lock_wake_slow(l);
}

#endif
