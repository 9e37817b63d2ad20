/* pin.c: hwloc topology, loaded once, and thread binding (see notfree/pin.h).
 *
 * PUs are named by hwloc's logical index ("L#"), which orders them by
 * locality; the OS number ("P#") is what taskset and /proc call a CPU.
 */
#include "notfree/pin.h"
#include "notfree/json.h"

#include <dirent.h>
#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static hwloc_topology_t g_topo;
static int g_pus; /* 0 when the topology failed */
static char g_init_err[160];
static atomic_int g_base = -1; /* -1: not set, use the default */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    if (hwloc_topology_init(&g_topo) != 0) {
        snprintf(g_init_err, sizeof g_init_err, "hwloc_topology_init: %s", strerror(errno));
        return;
    }
    /* hwloc drops instruction caches unless asked; the context lists them. */
    hwloc_topology_set_icache_types_filter(g_topo, HWLOC_TYPE_FILTER_KEEP_ALL);
    if (hwloc_topology_load(g_topo) != 0) {
        snprintf(g_init_err, sizeof g_init_err, "hwloc_topology_load: %s", strerror(errno));
        hwloc_topology_destroy(g_topo);
        return;
    }
    int n = hwloc_get_nbobjs_by_type(g_topo, HWLOC_OBJ_PU);
    if (n <= 0) {
        snprintf(g_init_err, sizeof g_init_err, "hwloc found no processing units");
        hwloc_topology_destroy(g_topo);
        return;
    }
    g_pus = n;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int nf_pin_init(char *err, size_t errlen)
{
    pthread_once(&g_once, init_once);
    if (g_pus > 0)
        return 0;
    set_err(err, errlen, "%s", g_init_err);
    return -1;
}

int nf_pin_pu_count(void)
{
    pthread_once(&g_once, init_once);
    return g_pus;
}

int nf_pin_default_pu(void) { return nf_pin_pu_count() - 1; }

/* 0 when pu names a PU of this box; else -1 and why in err. */
static int check_pu(int pu, char *err, size_t errlen)
{
    int n = nf_pin_pu_count();
    if (n <= 0) {
        set_err(err, errlen, "no topology: %s", g_init_err);
        return -1;
    }
    if (pu < 0 || pu >= n) {
        set_err(err, errlen, "PU %d out of range: this box has PUs 0..%d (hwloc logical index)", pu, n - 1);
        return -1;
    }
    return 0;
}

int nf_pin_set_base(int pu, char *err, size_t errlen)
{
    if (check_pu(pu, err, errlen) != 0)
        return -1;
    atomic_store(&g_base, pu);
    return 0;
}

int nf_pin_base(void)
{
    int b = atomic_load(&g_base);
    return b >= 0 ? b : nf_pin_default_pu();
}

int nf_pin_pu_for_thread(int thread_index)
{
    int n = nf_pin_pu_count();
    if (n <= 0)
        return -1;
    long long pu = ((long long)nf_pin_base() + thread_index) % n;
    return (int)(pu < 0 ? pu + n : pu);
}

int nf_pin_thread_to(int pu, char *err, size_t errlen)
{
    if (check_pu(pu, err, errlen) != 0)
        return -1;
    hwloc_obj_t obj = hwloc_get_obj_by_type(g_topo, HWLOC_OBJ_PU, (unsigned)pu);
    if (!obj) {
        set_err(err, errlen, "hwloc has no PU L#%d", pu);
        return -1;
    }
    if (hwloc_set_cpubind(g_topo, obj->cpuset, HWLOC_CPUBIND_THREAD) != 0) {
        set_err(err, errlen, "hwloc_set_cpubind(PU L#%d (P#%u)): %s", pu, obj->os_index, strerror(errno));
        return -1;
    }
    return 0;
}

int nf_pin_thread(int thread_index, char *err, size_t errlen)
{
    int pu = nf_pin_pu_for_thread(thread_index);
    if (pu < 0) {
        set_err(err, errlen, "no topology: %s", g_init_err);
        return -1;
    }
    return nf_pin_thread_to(pu, err, errlen);
}

int nf_pin_current(char *desc, size_t desclen)
{
    if (desc && desclen)
        desc[0] = '\0';
    if (nf_pin_pu_count() <= 0) {
        set_err(desc, desclen, "no topology");
        return -1;
    }
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) {
        set_err(desc, desclen, "out of memory");
        return -1;
    }
    int result = -1;
    if (hwloc_get_cpubind(g_topo, set, HWLOC_CPUBIND_THREAD) != 0) {
        set_err(desc, desclen, "hwloc_get_cpubind: %s", strerror(errno));
    } else if (hwloc_bitmap_weight(set) == 1) {
        hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(g_topo, set, HWLOC_OBJ_PU, 0);
        if (pu) {
            result = (int)pu->logical_index;
            set_err(desc, desclen, "PU L#%u (P#%u)", pu->logical_index, pu->os_index);
        } else {
            set_err(desc, desclen, "cpu %d (not in the topology)", hwloc_bitmap_first(set));
        }
    } else {
        char list[96];
        hwloc_bitmap_list_snprintf(list, sizeof list, set);
        set_err(desc, desclen, "cpuset %s", list);
    }
    hwloc_bitmap_free(set);
    return result;
}

/* ---- topology as JSON ---- */

static const char *cache_type_name(hwloc_obj_cache_type_t t)
{
    switch (t) {
    case HWLOC_OBJ_CACHE_DATA:
        return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION:
        return "instruction";
    default:
        return "unified";
    }
}

/* Page sizes: hwloc's NUMA nodes list them; else the base page and
 * /sys/kernel/mm/hugepages (hwloc reads the same place). */
static json_t *page_sizes(void)
{
    unsigned long long sizes[16];
    int n = 0;
    hwloc_obj_t node = NULL;
    while ((node = hwloc_get_next_obj_by_type(g_topo, HWLOC_OBJ_NUMANODE, node)) != NULL) {
        for (unsigned i = 0; i < node->attr->numanode.page_types_len; i++) {
            unsigned long long s = node->attr->numanode.page_types[i].size;
            bool seen = false;
            for (int j = 0; j < n; j++)
                seen |= sizes[j] == s;
            if (!seen && s && n < 16)
                sizes[n++] = s;
        }
    }
    if (n == 0) { /* hwloc gave none: the base page and hugepages-<N>kB */
        sizes[n++] = (unsigned long long)sysconf(_SC_PAGESIZE);
        DIR *d = opendir("/sys/kernel/mm/hugepages");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL && n < 16) {
            unsigned long long kib;
            if (sscanf(e->d_name, "hugepages-%llukB", &kib) == 1)
                sizes[n++] = kib * 1024;
        }
        if (d)
            closedir(d);
    }
    /* ascending */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && sizes[j - 1] > sizes[j]; j--) {
            unsigned long long t = sizes[j];
            sizes[j] = sizes[j - 1];
            sizes[j - 1] = t;
        }
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)(sizes[i] / 1024)));
    return a;
}

json_t *nf_pin_topology_to_json(void)
{
    if (nf_pin_pu_count() <= 0)
        return json_pack("{s:s}", "unavailable", "hwloc topology did not load");
    json_t *o = json_pack("{s:i, s:i, s:i, s:i}", "packages", hwloc_get_nbobjs_by_type(g_topo, HWLOC_OBJ_PACKAGE),
                          "cores", hwloc_get_nbobjs_by_type(g_topo, HWLOC_OBJ_CORE), "pus", g_pus, "numa_nodes",
                          hwloc_get_nbobjs_by_type(g_topo, HWLOC_OBJ_NUMANODE));
    /* One entry per cache kind (level and type), from its first instance. */
    static const hwloc_obj_type_t kinds[] = {
        HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L2ICACHE,
        HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
    };
    json_t *caches = json_array();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int count = hwloc_get_nbobjs_by_type(g_topo, kinds[k]);
        hwloc_obj_t c = hwloc_get_obj_by_type(g_topo, kinds[k], 0);
        if (count <= 0 || !c)
            continue;
        json_array_append_new(caches, json_pack("{s:i, s:s, s:I, s:i, s:i, s:i, s:i}", "level",
                                                (int)c->attr->cache.depth, "type", cache_type_name(c->attr->cache.type),
                                                "size_kib", (json_int_t)(c->attr->cache.size / 1024), "line",
                                                (int)c->attr->cache.linesize, "ways", c->attr->cache.associativity,
                                                "shared_by_pus", hwloc_bitmap_weight(c->cpuset), "count", count));
    }
    json_object_set_new(o, "caches", caches);
    json_object_set_new(o, "page_sizes_kib", page_sizes());
    return o;
}

size_t nf_pin_topology_json(char *buf, size_t cap)
{
    json_t *o = nf_pin_topology_to_json();
    size_t n = nf_json_dump_buf(o, buf, cap);
    json_decref(o);
    return n;
}
