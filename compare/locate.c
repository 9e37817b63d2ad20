/* compare/locate.c: where notfree's own pieces are, from the running
 * notfree binary, in the build tree or the install tree:
 *
 *   piece                     build tree (beside build/notfree)   install tree (beside bin/notfree)
 *   notfree-workload          compare/notfree-workload            notfree-workload
 *   notfree-probe             check/notfree-probe                 notfree-probe
 *   libnotfree-<name>.so      allocators/dropin/                  <bindir>/NF_LIBDIR_FROM_BINDIR/
 *   libnotfree-trace.so       trace/                              <bindir>/NF_LIBDIR_FROM_BINDIR/
 *   plots/compare_render.sh   NF_SOURCE_DIR/plots/                <bindir>/NF_DATADIR_FROM_BINDIR/notfree/plots/
 *
 * The drop-ins are the registered allocators that have a process-wide
 * heap (nf_allocator.default_heap): the registry says which exist, this
 * file says where their libraries are. One locator for every command
 * (compare, check, alloc --list). */
#include "compare.h"

#include "notfree/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NF_LIBDIR_FROM_BINDIR
#define NF_LIBDIR_FROM_BINDIR "../lib"
#endif
#ifndef NF_DATADIR_FROM_BINDIR
#define NF_DATADIR_FROM_BINDIR "../share"
#endif
#ifndef NF_SOURCE_DIR
#define NF_SOURCE_DIR "."
#endif

void nf_cmp_exe_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(buf, len, ".");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    size_t k = strlen(exe) < len - 1 ? strlen(exe) : len - 1;
    memcpy(buf, exe, k);
    buf[k] = '\0';
}

/* The first of dirs[i]/name that passes access(mode), into buf (without
 * its "..": bin/../lib reads as lib); else the first and -1. */
static int first_of(char dirs[][PATH_MAX], size_t n, const char *name, int mode, char *buf, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, len, "%s/%s", dirs[i], name);
        char real[PATH_MAX];
        if (access(buf, mode) == 0) {
            if (realpath(buf, real) && strlen(real) < len)
                memcpy(buf, real, strlen(real) + 1);
            return 0;
        }
    }
    snprintf(buf, len, "%s/%s", dirs[0], name);
    return -1;
}

/* exe dir + "/" + rel into out. */
static void beside(char *out, const char *rel)
{
    char dir[PATH_MAX - 128];
    nf_cmp_exe_dir(dir, sizeof dir);
    snprintf(out, PATH_MAX, "%s/%s", dir, rel);
}

int nf_cmp_locate_program(const char *name, const char *build_subdir, const char *env, char *buf, size_t len)
{
    const char *e = env ? getenv(env) : NULL;
    if (e && e[0]) {
        snprintf(buf, len, "%s", e);
        return access(buf, X_OK) == 0 ? 0 : -1;
    }
    char dirs[2][PATH_MAX];
    beside(dirs[0], build_subdir);
    beside(dirs[1], ".");
    return first_of(dirs, 2, name, X_OK, buf, len);
}

int nf_cmp_is_dropin(const char *name)
{
    const nf_allocator *a = nf_allocator_find(name);
    return a && a->default_heap;
}

int nf_cmp_locate_library(const char *file, const char *build_subdir, char *buf, size_t len)
{
    char dirs[2][PATH_MAX];
    beside(dirs[0], build_subdir);
    beside(dirs[1], NF_LIBDIR_FROM_BINDIR);
    return first_of(dirs, 2, file, R_OK, buf, len);
}

int nf_cmp_locate_dropin(const char *name, char *buf, size_t len)
{
    char file[128];
    snprintf(file, sizeof file, "libnotfree-%s.so", name);
    return nf_cmp_locate_library(file, "allocators/dropin", buf, len);
}

int nf_cmp_locate_plots(char *buf, size_t len)
{
    const char *e = getenv("NOTFREE_PLOTS_DIR");
    if (e && e[0]) {
        snprintf(buf, len, "%s", e);
        return access(buf, R_OK) == 0 ? 0 : -1;
    }
    char dirs[2][PATH_MAX];
    beside(dirs[0], NF_DATADIR_FROM_BINDIR "/notfree");
    snprintf(dirs[1], PATH_MAX, "%s", NF_SOURCE_DIR);
    return first_of(dirs, 2, "plots", R_OK, buf, len);
}
