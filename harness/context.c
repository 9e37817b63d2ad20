/* context.c: the registry of unavailable figures and extra keys, the box
 * facts, and the notfree context JSON (see notfree/context.h).
 *
 * The registry allocates (it is never used inside a measured region); the
 * fact readers use fixed buffers.
 */
#include "notfree/context.h"
#include "notfree/counters.h"
#include "notfree/cpuinfo.h"
#include "notfree/pin.h"
#include "notfree/json.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char default_memory_temperature[] =
    "hot: benches touch memory freed just before; benches named /cold wait idle first";

/* ---- registry ---- */

typedef struct kv {
    char *key, *value;
} kv;
typedef struct kv_list {
    kv *items;
    size_t n, cap;
} kv_list;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static kv_list g_unavailable; /* first reason wins */
static kv_list g_set;         /* last value wins */

static kv *kv_find_locked(kv_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

static void kv_add_locked(kv_list *l, const char *key, const char *value)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kv *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return;
        l->items = items;
        l->cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return;
    }
    l->items[l->n++] = (kv){k, v};
}

void nf_context_unavailable(const char *name, const char *reason)
{
    if (!name)
        return;
    pthread_mutex_lock(&g_lock);
    if (!kv_find_locked(&g_unavailable, name))
        kv_add_locked(&g_unavailable, name, reason && reason[0] ? reason : "unknown");
    pthread_mutex_unlock(&g_lock);
}

void nf_context_unavailable_each(void (*cb)(const char *name, const char *reason, void *user), void *user)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_unavailable.n; i++)
        cb(g_unavailable.items[i].key, g_unavailable.items[i].value, user);
    pthread_mutex_unlock(&g_lock);
}

void nf_context_set(const char *key, const char *value)
{
    if (!key)
        return;
    if (!value)
        value = "";
    pthread_mutex_lock(&g_lock);
    kv *e = kv_find_locked(&g_set, key);
    if (e) {
        char *v = strdup(value);
        if (v) {
            free(e->value);
            e->value = v;
        }
    } else {
        kv_add_locked(&g_set, key, value);
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- facts ---- */

/* Reads a small file into buf (NUL-terminated); -1 if unreadable. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* The [bracketed] word of a sysfs choice file, as one of `choices`. */
static const char *bracketed(const char *path, const char *const *choices)
{
    char buf[256];
    if (read_small(path, buf, sizeof buf) < 0)
        return NULL;
    char *l = strchr(buf, '['), *r = l ? strchr(l, ']') : NULL;
    if (!r)
        return NULL;
    *r = '\0';
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(l + 1, choices[i]) == 0)
            return choices[i];
    return NULL;
}

const char *nf_thp_mode(void)
{
    static const char *const modes[] = {"always", "madvise", "never", NULL};
    return bracketed("/sys/kernel/mm/transparent_hugepage/enabled", modes);
}

static const char *thp_defrag(void)
{
    static const char *const modes[] = {"always", "defer", "defer+madvise", "madvise", "never", NULL};
    return bracketed("/sys/kernel/mm/transparent_hugepage/defrag", modes);
}

int nf_overcommit_mode(void)
{
    char buf[32];
    if (read_small("/proc/sys/vm/overcommit_memory", buf, sizeof buf) <= 0)
        return -1;
    char *end;
    long v = strtol(buf, &end, 10);
    return end == buf ? -1 : (int)v;
}

long long nf_swap_total_kib(void)
{
    char buf[8192];
    if (read_small("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    const char *p = strstr(buf, "\nSwapTotal:");
    if (!p)
        return -1;
    char *end;
    long long v = strtoll(p + strlen("\nSwapTotal:"), &end, 10);
    return end == p + strlen("\nSwapTotal:") ? -1 : v;
}

/* ---- the JSON document ---- */

/* Facts gathered once: pieces that do not change during the run. */
static json_t *g_topology;
static json_t *g_tlb;
static char g_kernel_release[128];
static pthread_once_t g_facts_once = PTHREAD_ONCE_INIT;

static void facts_init_once(void)
{
    char err[160];
    if (nf_pin_init(err, sizeof err) == 0) {
        g_topology = nf_pin_topology_to_json();
    } else {
        nf_context_unavailable("topology", err);
        g_topology = nf_json_string(err);
    }
    g_tlb = nf_cpuinfo_tlb_to_json(nf_cpuinfo_get());
    if (nf_cpuinfo_get()->ntlb == 0)
        nf_context_unavailable("tlb_geometry", nf_cpuinfo_get()->tlb_unavailable);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(g_kernel_release, sizeof g_kernel_release, "%s", u.release);
    nf_counters_probe_all();
}

/* Whether a key was set with nf_context_set (which then replaces the
 * built-in entry of that name). */
static bool is_set_locked(const char *key) { return kv_find_locked(&g_set, key) != NULL; }

/* obj[key] = v unless the caller set key (v is consumed either way). */
static void builtin_locked(json_t *obj, const char *key, json_t *v)
{
    if (is_set_locked(key))
        json_decref(v);
    else
        json_object_set_new(obj, key, v ? v : json_null());
}

static json_t *pinning_json(void)
{
    if (nf_pin_pu_count() <= 0)
        return json_null();
    char desc[128];
    int cur = nf_pin_current(desc, sizeof desc);
    json_t *p = json_pack("{s:i, s:i, s:s, s:i}", "pus", nf_pin_pu_count(), "base_pu", nf_pin_base(), "policy",
                          "thread i on PU (base + i) mod pus", "caller_bound_pu", cur);
    nf_json_set_str(p, "caller_binding", desc);
    return p;
}

json_t *nf_context_to_json(void)
{
    pthread_once(&g_facts_once, facts_init_once);
    json_t *o = json_object();
    pthread_mutex_lock(&g_lock);
    const nf_cpuinfo *ci = nf_cpuinfo_get();
    int oc = nf_overcommit_mode();
    long long sw = nf_swap_total_kib();
    builtin_locked(o, "topology", json_deep_copy(g_topology));
    builtin_locked(o, "cpu_model", nf_json_string(ci->model[0] ? ci->model : NULL));
    builtin_locked(o, "hypervisor", nf_json_string(ci->hypervisor[0] ? ci->hypervisor : NULL));
    builtin_locked(o, "tlb", json_deep_copy(g_tlb));
    builtin_locked(o, "kernel_release", nf_json_string(g_kernel_release[0] ? g_kernel_release : NULL));
    builtin_locked(o, "notfree_version", nf_json_string(NF_VERSION));
    builtin_locked(o, "thp_mode", nf_json_string(nf_thp_mode()));
    builtin_locked(o, "thp_defrag", nf_json_string(thp_defrag()));
    builtin_locked(o, "overcommit_mode", oc >= 0 ? json_integer(oc) : json_null());
    builtin_locked(o, "swap_total_kib", sw >= 0 ? json_integer(sw) : json_null());
    uint64_t mask = nf_counters_probed_mask();
    json_t *avail = json_array();
    for (int i = 0; i < NF_CTR_COUNT; i++)
        if (mask & NF_CTR_BIT(i))
            json_array_append_new(avail, json_string(nf_counter_name((nf_counter_id)i)));
    builtin_locked(o, "counters_available", avail);
    builtin_locked(o, "memory_temperature", json_string(default_memory_temperature));
    builtin_locked(o, "pinning", pinning_json());
    for (size_t i = 0; i < g_set.n; i++)
        nf_json_set_str(o, g_set.items[i].key, g_set.items[i].value);
    json_t *un = json_object();
    for (size_t i = 0; i < g_unavailable.n; i++)
        nf_json_set_str(un, g_unavailable.items[i].key, g_unavailable.items[i].value);
    json_object_set_new(o, "unavailable", un);
    pthread_mutex_unlock(&g_lock);
    return o;
}

char *nf_context_json(void)
{
    json_t *o = nf_context_to_json();
    char *text = json_dumps(o, NF_JSON_FLAGS);
    json_decref(o);
    return text;
}

/* ---- the console's short form ---- */

static const char *set_value_locked(const char *key)
{
    kv *e = kv_find_locked(&g_set, key);
    return e ? e->value : NULL;
}

char *nf_context_summary(void)
{
    pthread_once(&g_facts_once, facts_init_once);
    const nf_cpuinfo *ci = nf_cpuinfo_get();
    const char *thp = nf_thp_mode(), *defrag = thp_defrag();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "notfree: CPU %s, %d PUs; kernel %s; hypervisor %s\n", ci->model[0] ? ci->model : "unknown",
            nf_pin_pu_count(), g_kernel_release[0] ? g_kernel_release : "unknown",
            !ci->hypervisor[0]                ? "unknown"
            : !strcmp(ci->hypervisor, "none") ? "none (bare metal)"
                                              : ci->hypervisor);
    pthread_mutex_lock(&g_lock);
    const char *pinning = set_value_locked("pinning");
    char pin_desc[160];
    if (!pinning) {
        snprintf(pin_desc, sizeof pin_desc, "thread i on PU (%d + i) mod %d", nf_pin_base(), nf_pin_pu_count());
        pinning = pin_desc;
    }
    fprintf(f, "notfree: THP %s (defrag %s); pinning: %s\n", thp ? thp : "unreadable", defrag ? defrag : "unreadable",
            pinning);
    /* The PMU: any hardware event that opened, else the reason the first
     * one gave. */
    bool pmu = (nf_counters_probed_mask() & NF_CTR_SET_PERF_HW) != 0;
    kv *why = kv_find_locked(&g_unavailable, "counter:perf_cycles");
    fprintf(f, "notfree: PMU %s%s%s; the full context goes into the JSON output\n",
            pmu ? "available (hardware counters)" : "unavailable", !pmu && why ? ": " : "",
            !pmu && why ? why->value : "");
    pthread_mutex_unlock(&g_lock);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
