/* tour/syscalls.c: the system calls of one fresh notfree-tour-malloc
 * under one allocator, through the counter of `notfree compare`
 * (compare/syscalls.c: seccomp + ptrace, calls between two markers). */
#include "syscalls.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *nf_tour_helper(const nf_tour_run *r, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/tour/%s", r->exe_dir, name); /* the build tree */
    if (access(buf, X_OK) != 0)
        snprintf(buf, cap, "%s/%s", r->exe_dir, name); /* installed beside notfree */
    return buf;
}

int nf_tour_allocs(nf_cmp_alloc *out, unsigned cap)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nf_cmp_nknown && n < cap; i++) {
        char err[256];
        if (nf_cmp_alloc_resolve(nf_cmp_known[i], &out[n], err, sizeof err) == 0)
            n++;
    }
    return (int)n;
}

int nf_tour_count_calls(const nf_tour_run *r, const nf_cmp_alloc *a, char *const args[], long long *total,
                        long long counts[NF_CMP_NSYS], char *err, size_t errlen)
{
    char path[4096];
    char *argv[8];
    unsigned n = 0;
    argv[n++] = (char *)nf_tour_helper(r, "notfree-tour-malloc", path, sizeof path);
    for (unsigned i = 0; args[i] && n < 7; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char line[128];
    if (nf_cmp_count_syscalls(argv, a->preload ? a->path : NULL, 30, counts, line, sizeof line, err, errlen) != 0)
        return -1;
    if (strcmp(line, "ok") != 0) {
        snprintf(err, errlen, "the helper said '%s'", line);
        return -1;
    }
    *total = 0;
    for (unsigned i = 0; i < NF_CMP_NSYS; i++)
        *total += counts[i];
    return 0;
}
