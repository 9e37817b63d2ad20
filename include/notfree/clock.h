/* notfree/clock.h: the one monotonic clock every layer reads.
 *
 * CLOCK_MONOTONIC, not CLOCK_MONOTONIC_RAW: the vDSO serves it without a
 * system call on x86-64 (RAW takes the syscall on older kernels), and NTP's
 * slewing is far below what any figure here resolves. Returned as double:
 * a double holds every nanosecond exactly for 104 days of uptime.
 */
#ifndef NOTFREE_CLOCK_H
#define NOTFREE_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds since an arbitrary start (boot, on Linux). */
static inline double nf_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The same clock in seconds. */
static inline double nf_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time the calling thread has used, ns (CLOCK_THREAD_CPUTIME_ID):
 * against nf_now_ns over the same span, the share of it the thread ran. */
static inline double nf_thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* A cheap counter for timing one short call: the TSC on x86 (rdtsc, 25 ns
 * on this PVM guest against 84 ns for clock_gettime through kvm-clock),
 * the virtual counter on arm64, else the monotonic clock in ns. Its rate
 * is not known here: a user calibrates it against nf_now_ns. Not
 * serializing: it may be read a few instructions early or late, noise far
 * below a malloc that reaches the kernel. */
static inline uint64_t nf_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return (uint64_t)nf_now_ns();
#endif
}

#ifdef __cplusplus
}
#endif
#endif
