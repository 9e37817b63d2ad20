/* benches/region.c: anonymous regions and their touch loops (region.h). */
#include "region.h"

#include <stdint.h>
#include <sys/mman.h>

#define NF_NO_ASAN __attribute__((no_sanitize_address, noinline))

char *nf_region_map(size_t bytes, bool huge, int extra_flags)
{
    size_t len = huge ? bytes + NF_REGION_HUGE : bytes;
    char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *p = raw;
    if (huge) {
        p = (char *)(((uintptr_t)raw + NF_REGION_HUGE - 1) & ~(uintptr_t)(NF_REGION_HUGE - 1));
        if (p > raw)
            munmap(raw, (size_t)(p - raw));
        size_t tail = (size_t)(raw + len - (p + bytes));
        if (tail)
            munmap(p + bytes, tail);
    }
    madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    return p;
}

NF_NO_ASAN void nf_region_touch_write(char *p, size_t bytes, size_t step)
{
    volatile char *v = p;
    for (size_t i = 0; i < bytes; i += step)
        v[i] = 1;
}

NF_NO_ASAN unsigned nf_region_touch_read(const char *p, size_t bytes)
{
    const volatile char *v = p;
    unsigned sum = 0;
    for (size_t i = 0; i < bytes; i += NF_REGION_PAGE)
        sum += (unsigned char)v[i];
    return sum;
}
