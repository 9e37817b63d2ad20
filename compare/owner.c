/* compare/owner.c: which library serves malloc, asked from inside the
 * preloaded process (owner.h). */
#include "owner.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nf_malloc_owner(char *obj, size_t len)
{
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    if (!m || !dladdr(m, &info) || !info.dli_fname) {
        const char *e = dlerror();
        snprintf(obj, len, "cannot find which library serves malloc (%s)", e ? e : "dladdr found none");
        return -1;
    }
    snprintf(obj, len, "%s", info.dli_fname);
    return 0;
}

int nf_same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra))
        snprintf(ra, sizeof ra, "%s", a);
    if (!realpath(b, rb))
        snprintf(rb, sizeof rb, "%s", b);
    return strcmp(ra, rb) == 0;
}

int nf_malloc_in(const char *path, char *why, size_t len)
{
    char obj[PATH_MAX];
    if (nf_malloc_owner(obj, sizeof obj) != 0) {
        snprintf(why, len, "%s", obj);
        return 0;
    }
    if (nf_same_file(obj, path))
        return 1;
    snprintf(why, len, "malloc resolves into %s, not into %s", obj, path);
    return 0;
}

int nf_whoami_main(const char *path)
{
    char obj[PATH_MAX];
    if (nf_malloc_owner(obj, sizeof obj) != 0)
        snprintf(obj, sizeof obj, "?");
    /* A preload that failed only warns (ld.so goes on without it): the
     * dlopen says why it does not load. */
    if (path && !dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
        const char *e = dlerror();
        printf("dlopen-error %s\n", e ? e : "unknown");
        return 0;
    }
    printf("malloc-in %s\n", obj);
    return 0;
}
