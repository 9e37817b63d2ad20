/* lock.c: the futex lock's slow paths (lock.h): spin a little, then
 * sleep on the futex; the fast paths are inline in lock.h. */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bins.h"

void bins_lock_wait_slow(bins_lock *l)
{
    for (int spin = 0; spin < 100; spin++) {
        int free_state = 0;
        if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&l->state, &free_state, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        bins_cpu_relax();
    }
    while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0)
        syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void bins_lock_wake_slow(bins_lock *l) { syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }
