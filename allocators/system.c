/* system.c: the adapter over the process's own malloc (glibc by default;
 * jemalloc, mimalloc or tcmalloc when one is preloaded), so comparisons
 * treat it as they treat ours.
 *
 * Which allocator serves malloc is found by asking the dynamic linker which
 * object defines the malloc this process calls (dladdr), then asking that
 * library for its version where it tells:
 *   glibc     gnu_get_libc_version()
 *   jemalloc  mallctl("version")
 *   mimalloc  mi_version() (an int, major*100 + minor*10 + patch)
 *   tcmalloc  tc_version(&major, &minor, &patch)
 *
 * trim gives memory back the allocator's own way: glibc malloc_trim(pad);
 * jemalloc mallctl("arena.<all>.purge"); mimalloc mi_collect(true);
 * tcmalloc MallocExtension_ReleaseFreeMemory(); any other malloc (a
 * notfree drop-in, a sanitizer runtime) its malloc_trim, which the
 * drop-ins define. Only malloc_trim says whether memory went back: the
 * purges return 0.
 *
 * Statistics are only what the allocator reports honestly: glibc through
 * mallinfo2 (live = uordblks + hblkhd, chunk bytes including headers;
 * mapped = arena + hblkhd), jemalloc through mallctl stats, tcmalloc through
 * MallocExtension_GetNumericProperty. Page-source calls and paths are never
 * known for a system allocator: those bits stay clear, never 0.
 */
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notfree/alloc.h"

typedef enum system_kind { SYS_UNKNOWN, SYS_GLIBC, SYS_JEMALLOC, SYS_MIMALLOC, SYS_TCMALLOC } system_kind;

struct nf_heap {
    system_kind kind;
    char object[256]; /* the file that defines malloc */
};

static struct nf_heap system_heap;

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef int (*mi_version_fn)(void);
typedef const char *(*tc_version_fn)(int *, int *, const char **);
typedef int (*tc_property_fn)(const char *, size_t *);
typedef void (*mi_collect_fn)(bool);
typedef void (*tc_release_fn)(void);

static system_kind detect(char *object, size_t len)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    const char *file = "";
    if (sym && dladdr(sym, &info) && info.dli_fname)
        file = info.dli_fname;
    snprintf(object, len, "%s", file);
    if (strstr(file, "jemalloc"))
        return SYS_JEMALLOC;
    if (strstr(file, "mimalloc"))
        return SYS_MIMALLOC;
    if (strstr(file, "tcmalloc"))
        return SYS_TCMALLOC;
    if (strstr(file, "libc.so") || strstr(file, "libc-"))
        return SYS_GLIBC;
    /* malloc defined elsewhere (a static build, a sanitizer runtime): fall
     * back to the version symbols a preloaded allocator would export. */
    if (dlsym(RTLD_DEFAULT, "mallctl"))
        return SYS_JEMALLOC;
    if (dlsym(RTLD_DEFAULT, "mi_version"))
        return SYS_MIMALLOC;
    if (dlsym(RTLD_DEFAULT, "tc_version"))
        return SYS_TCMALLOC;
    return SYS_UNKNOWN;
}

static nf_heap *system_create(nf_pages *ps)
{
    (void)ps; /* the system allocator has its own source of pages */
    if (system_heap.object[0] == '\0')
        system_heap.kind = detect(system_heap.object, sizeof system_heap.object);
    return &system_heap;
}

static void system_destroy(nf_heap *h) { (void)h; }
static void *system_malloc(nf_heap *h, size_t n)
{
    (void)h;
    return malloc(n);
}
static void system_free(nf_heap *h, void *p)
{
    (void)h;
    free(p);
}
static void *system_calloc(nf_heap *h, size_t n, size_t s)
{
    (void)h;
    return calloc(n, s);
}

static void *system_realloc(nf_heap *h, void *p, size_t n)
{
    (void)h;
    if (p && n == 0) { /* the interface's contract, whatever the allocator does */
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

static void *system_memalign(nf_heap *h, size_t align, size_t n)
{
    (void)h;
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align < 16)
        align = 16;
    void *p = NULL;
    int rc = posix_memalign(&p, align, n);
    if (rc) {
        errno = rc;
        return NULL;
    }
    return p;
}

static size_t system_usable_size(nf_heap *h, const void *p)
{
    (void)h;
    return malloc_usable_size((void *)p);
}

static int system_trim(nf_heap *h, size_t pad)
{
    switch (h->kind) {
    case SYS_JEMALLOC: {
        mallctl_fn ctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
        if (ctl) {
            ctl("arena.4096.purge", NULL, NULL, NULL, 0); /* 4096: MALLCTL_ARENAS_ALL */
            return 0;
        }
        break;
    }
    case SYS_MIMALLOC: {
        mi_collect_fn collect = (mi_collect_fn)dlsym(RTLD_DEFAULT, "mi_collect");
        if (collect) {
            collect(true);
            return 0;
        }
        break;
    }
    case SYS_TCMALLOC: {
        tc_release_fn release = (tc_release_fn)dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory");
        if (release) {
            release();
            return 0;
        }
        break;
    }
    default:
        break;
    }
    return malloc_trim(pad);
}

static int jemalloc_stat(mallctl_fn ctl, const char *name, uint64_t *out)
{
    size_t v = 0, len = sizeof v;
    if (ctl(name, &v, &len, NULL, 0) != 0)
        return -1;
    *out = v;
    return 0;
}

static int system_stats(nf_heap *h, nf_alloc_stats *out)
{
    memset(out, 0, sizeof *out);
    out->unavailable_reason = "the system allocator does not report this";
    switch (h->kind) {
    case SYS_GLIBC: {
        struct mallinfo2 mi = mallinfo2();
        out->live_bytes = mi.uordblks + mi.hblkhd;
        out->held_bytes = mi.arena + mi.hblkhd;
        out->mapped_bytes = mi.arena + mi.hblkhd;
        out->available = NF_STAT_HELD | NF_STAT_MAPPED;
        /* uordblks counts chunks with headers, so it is not live as
         * requested; peak is not kept by glibc. */
        out->unavailable_reason =
            "glibc: mallinfo2 gives in-use chunk bytes (with headers), no peaks, no page-source calls";
        return 0;
    }
    case SYS_JEMALLOC: {
        mallctl_fn ctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
        uint64_t epoch = 1, allocated, mapped;
        size_t elen = sizeof epoch;
        if (!ctl)
            break;
        ctl("epoch", &epoch, &elen, &epoch, elen);
        if (jemalloc_stat(ctl, "stats.allocated", &allocated) != 0 || jemalloc_stat(ctl, "stats.mapped", &mapped) != 0)
            break;
        out->live_bytes = allocated; /* jemalloc: bytes in size classes, not as requested */
        out->mapped_bytes = mapped;
        out->held_bytes = mapped;
        out->available = NF_STAT_HELD | NF_STAT_MAPPED;
        out->unavailable_reason = "jemalloc: stats.allocated counts size classes; no peaks, no page-source calls";
        return 0;
    }
    case SYS_TCMALLOC: {
        tc_property_fn get = (tc_property_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
        size_t heap_size = 0;
        if (!get || !get("generic.heap_size", &heap_size))
            break;
        out->mapped_bytes = heap_size;
        out->held_bytes = heap_size;
        out->available = NF_STAT_HELD | NF_STAT_MAPPED;
        out->unavailable_reason = "tcmalloc: generic.heap_size only";
        return 0;
    }
    default:
        break;
    }
    out->unavailable_reason = "this system allocator reports no statistics here";
    return -1;
}

static const char *system_identify(nf_heap *h, char *buf, size_t len)
{
    switch (h->kind) {
    case SYS_GLIBC:
        snprintf(buf, len, "glibc %s", gnu_get_libc_version());
        break;
    case SYS_JEMALLOC: {
        mallctl_fn ctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
        const char *v = NULL;
        size_t vlen = sizeof v;
        if (ctl && ctl("version", &v, &vlen, NULL, 0) == 0 && v)
            snprintf(buf, len, "jemalloc %s", v);
        else
            snprintf(buf, len, "jemalloc (version unknown)");
        break;
    }
    case SYS_MIMALLOC: {
        mi_version_fn ver = (mi_version_fn)dlsym(RTLD_DEFAULT, "mi_version");
        if (ver) {
            int v = ver();
            snprintf(buf, len, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
        } else {
            snprintf(buf, len, "mimalloc (version unknown)");
        }
        break;
    }
    case SYS_TCMALLOC: {
        tc_version_fn ver = (tc_version_fn)dlsym(RTLD_DEFAULT, "tc_version");
        int ma = 0, mi = 0;
        const char *patch = "";
        if (ver && ver(&ma, &mi, &patch))
            snprintf(buf, len, "tcmalloc %d.%d%s", ma, mi, patch ? patch : "");
        else
            snprintf(buf, len, "tcmalloc (version unknown)");
        break;
    }
    default:
        snprintf(buf, len, "unknown (malloc from %s)", h->object[0] ? h->object : "?");
        break;
    }
    return buf;
}

const nf_allocator nf_allocator_system = {
    .name = "system",
    .description = "the process's own malloc (glibc, or a preloaded jemalloc, mimalloc or tcmalloc)",
    .create = system_create,
    .destroy = system_destroy,
    .malloc = system_malloc,
    .free = system_free,
    .calloc = system_calloc,
    .realloc = system_realloc,
    .memalign = system_memalign,
    .usable_size = system_usable_size,
    .trim = system_trim,
    .stats = system_stats,
    .identify = system_identify,
};
