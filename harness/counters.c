/* counters.c: perf events, getrusage and /proc gauges around a region
 * (see notfree/counters.h).
 *
 * Reading (start/stop) never allocates: fixed stack buffers, open/read,
 * no stdio, so it can run around measured regions and under an LD_PRELOAD'd
 * allocator. A set belongs to the thread that opened it (perf pid = 0,
 * RUSAGE_THREAD): start and stop it on that thread.
 *
 * Order: start reads the gauges first and perf last; stop reads perf first
 * and the gauges last, so the /proc reads stay outside the event deltas.
 */
#include "notfree/counters.h"
#include "notfree/context.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HW_CACHE(cache, op, result) ((cache) | ((uint64_t)(op) << 8) | ((uint64_t)(result) << 16))

typedef struct counter_desc {
    const char *name;
    nf_counter_source src;
    uint32_t perf_type; /* perf events only */
    uint64_t perf_config;
} counter_desc;

static const counter_desc g_desc[NF_CTR_COUNT] = {
    [NF_CTR_PERF_PAGE_FAULTS] = {"perf_page_faults", NF_SRC_PERF_SOFTWARE, PERF_TYPE_SOFTWARE,
                                 PERF_COUNT_SW_PAGE_FAULTS},
    [NF_CTR_PERF_MINOR_FAULTS] = {"perf_minor_faults", NF_SRC_PERF_SOFTWARE, PERF_TYPE_SOFTWARE,
                                  PERF_COUNT_SW_PAGE_FAULTS_MIN},
    [NF_CTR_PERF_MAJOR_FAULTS] = {"perf_major_faults", NF_SRC_PERF_SOFTWARE, PERF_TYPE_SOFTWARE,
                                  PERF_COUNT_SW_PAGE_FAULTS_MAJ},
    [NF_CTR_PERF_CONTEXT_SWITCHES] = {"perf_context_switches", NF_SRC_PERF_SOFTWARE, PERF_TYPE_SOFTWARE,
                                      PERF_COUNT_SW_CONTEXT_SWITCHES},
    [NF_CTR_PERF_CYCLES] = {"perf_cycles", NF_SRC_PERF_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    [NF_CTR_PERF_INSTRUCTIONS] = {"perf_instructions", NF_SRC_PERF_HARDWARE, PERF_TYPE_HARDWARE,
                                  PERF_COUNT_HW_INSTRUCTIONS},
    [NF_CTR_PERF_DTLB_LOADS] = {"perf_dtlb_loads", NF_SRC_PERF_HARDWARE, PERF_TYPE_HW_CACHE,
                                HW_CACHE(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
                                         PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
    [NF_CTR_PERF_DTLB_LOAD_MISSES] = {"perf_dtlb_load_misses", NF_SRC_PERF_HARDWARE, PERF_TYPE_HW_CACHE,
                                      HW_CACHE(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
                                               PERF_COUNT_HW_CACHE_RESULT_MISS)},
    [NF_CTR_PERF_DTLB_STORE_MISSES] = {"perf_dtlb_store_misses", NF_SRC_PERF_HARDWARE, PERF_TYPE_HW_CACHE,
                                       HW_CACHE(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_WRITE,
                                                PERF_COUNT_HW_CACHE_RESULT_MISS)},
    [NF_CTR_PERF_ITLB_LOAD_MISSES] = {"perf_itlb_load_misses", NF_SRC_PERF_HARDWARE, PERF_TYPE_HW_CACHE,
                                      HW_CACHE(PERF_COUNT_HW_CACHE_ITLB, PERF_COUNT_HW_CACHE_OP_READ,
                                               PERF_COUNT_HW_CACHE_RESULT_MISS)},
    [NF_CTR_RU_MINFLT] = {"ru_minflt", NF_SRC_RUSAGE, 0, 0},
    [NF_CTR_RU_MAJFLT] = {"ru_majflt", NF_SRC_RUSAGE, 0, 0},
    [NF_CTR_RU_NVCSW] = {"ru_nvcsw", NF_SRC_RUSAGE, 0, 0},
    [NF_CTR_RU_NIVCSW] = {"ru_nivcsw", NF_SRC_RUSAGE, 0, 0},
    [NF_CTR_VSZ_KIB] = {"vsz_kib", NF_SRC_PROC, 0, 0},
    [NF_CTR_RSS_KIB] = {"rss_kib", NF_SRC_PROC, 0, 0},
    [NF_CTR_ANON_HUGE_KIB] = {"anon_huge_kib", NF_SRC_PROC, 0, 0},
    [NF_CTR_LAZYFREE_KIB] = {"lazyfree_kib", NF_SRC_PROC, 0, 0},
    [NF_CTR_LOCKED_KIB] = {"locked_kib", NF_SRC_PROC, 0, 0},
};

/* The event each perf counter opens: its own, or a stand-in's (tests). */
static nf_counter_id g_event_of[NF_CTR_COUNT];
static bool g_event_of_set;

static const counter_desc *event_desc(int id) { return g_event_of_set ? &g_desc[g_event_of[id]] : &g_desc[id]; }

static bool is_perf(nf_counter_id id)
{
    return (unsigned)id < NF_CTR_COUNT &&
           (g_desc[id].src == NF_SRC_PERF_SOFTWARE || g_desc[id].src == NF_SRC_PERF_HARDWARE);
}

int nf_counters_stand_in(nf_counter_id id, nf_counter_id stand_in)
{
    if (!is_perf(id) || !is_perf(stand_in))
        return -1;
    if (!g_event_of_set) {
        for (int i = 0; i < NF_CTR_COUNT; i++)
            g_event_of[i] = (nf_counter_id)i;
        g_event_of_set = true;
    }
    g_event_of[id] = stand_in;
    return 0;
}

const char *nf_counter_name(nf_counter_id id) { return (unsigned)id < NF_CTR_COUNT ? g_desc[id].name : "unknown"; }

nf_counter_source nf_counter_source_of(nf_counter_id id)
{
    return (unsigned)id < NF_CTR_COUNT ? g_desc[id].src : NF_SRC_PROC;
}

const char *nf_counter_source_name(nf_counter_source s)
{
    switch (s) {
    case NF_SRC_PERF_SOFTWARE:
        return "perf software event";
    case NF_SRC_PERF_HARDWARE:
        return "perf hardware event";
    case NF_SRC_RUSAGE:
        return "getrusage(RUSAGE_THREAD)";
    case NF_SRC_PROC:
        return "/proc/self";
    }
    return "unknown";
}

bool nf_counter_is_gauge(nf_counter_id id) { return nf_counter_source_of(id) == NF_SRC_PROC; }

/* ---- /proc without stdio ---- */

static ssize_t read_file(const char *path, char *buf, size_t cap, int *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

static int64_t parse_u64(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    return v;
}

/* The kB value of "\n<key>" in an smaps_rollup text, -1 if absent. */
static int64_t smaps_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? parse_u64(p + strlen(key)) : -1;
}

/* Fills m; *statm_err / *smaps_err get errno (0 when read). */
static void proc_read(nf_proc_mem *m, bool statm, bool smaps, int *statm_err, int *smaps_err)
{
    char buf[4096];
    m->vsz_kib = m->rss_kib = m->anon_huge_kib = m->lazyfree_kib = m->locked_kib = -1;
    *statm_err = *smaps_err = 0;
    if (statm && read_file("/proc/self/statm", buf, sizeof buf, statm_err) > 0) {
        int64_t pages = parse_u64(buf);
        if (pages >= 0)
            m->vsz_kib = pages * (sysconf(_SC_PAGESIZE) / 1024);
    }
    if (smaps && read_file("/proc/self/smaps_rollup", buf, sizeof buf, smaps_err) > 0) {
        m->rss_kib = smaps_field(buf, "\nRss:");
        m->anon_huge_kib = smaps_field(buf, "\nAnonHugePages:");
        m->lazyfree_kib = smaps_field(buf, "\nLazyFree:");
        m->locked_kib = smaps_field(buf, "\nLocked:");
    }
}

int nf_proc_mem_read(nf_proc_mem *m)
{
    int e1, e2;
    proc_read(m, true, true, &e1, &e2);
    return m->vsz_kib >= 0 && m->rss_kib >= 0 && m->anon_huge_kib >= 0 && m->lazyfree_kib >= 0 && m->locked_kib >= 0
               ? 0
               : -1;
}

static int64_t proc_value(const nf_proc_mem *m, nf_counter_id id)
{
    switch (id) {
    case NF_CTR_VSZ_KIB:
        return m->vsz_kib;
    case NF_CTR_RSS_KIB:
        return m->rss_kib;
    case NF_CTR_ANON_HUGE_KIB:
        return m->anon_huge_kib;
    case NF_CTR_LAZYFREE_KIB:
        return m->lazyfree_kib;
    case NF_CTR_LOCKED_KIB:
        return m->locked_kib;
    default:
        return -1;
    }
}

/* ---- perf ---- */

static int perf_open(const counter_desc *d, bool exclude_kernel)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = d->perf_type;
    a.config = d->perf_config;
    a.exclude_kernel = exclude_kernel;
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return (int)syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1 /* any cpu */, -1 /* no group */,
                        PERF_FLAG_FD_CLOEXEC);
}

static void perf_reason(char *out, size_t cap, int err, bool hardware)
{
    const char *why = "";
    char paranoid[64] = "";
    switch (err) {
    case ENOENT:
    case ENODEV:
        why = hardware ? " (no PMU on this box)" : " (event unknown to this kernel)";
        break;
    case EOPNOTSUPP:
        why = " (the PMU does not support this event)";
        break;
    case EACCES:
    case EPERM: {
        char buf[32];
        int e;
        if (read_file("/proc/sys/kernel/perf_event_paranoid", buf, sizeof buf, &e) > 0) {
            bool neg = buf[0] == '-';
            int level = (int)parse_u64(buf + neg);
            snprintf(paranoid, sizeof paranoid, " (/proc/sys/kernel/perf_event_paranoid = %d)", neg ? -level : level);
        } else {
            snprintf(paranoid, sizeof paranoid, " (see /proc/sys/kernel/perf_event_paranoid)");
        }
        why = paranoid;
        break;
    }
    case ENOSYS:
        why = " (kernel built without perf events)";
        break;
    default:
        break;
    }
    snprintf(out, cap, "perf_event_open: %s%s", strerror(err), why);
}

/* The count, scaled by enabled/running when the PMU multiplexed the event
 * (running < enabled); exact when it ran the whole time, as software
 * events always do. */
static uint64_t perf_read(int fd)
{
    uint64_t v[3] = {0, 0, 0}; /* value, time enabled, time running */
    ssize_t n;
    do
        n = read(fd, v, sizeof v);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof v)
        return 0;
    if (v[2] == 0 || v[2] >= v[1])
        return v[0];
    return (uint64_t)((double)v[0] * ((double)v[1] / (double)v[2]));
}

/* ---- the set ---- */

void nf_counters_open(nf_counters *c, uint64_t wanted)
{
    memset(c, 0, sizeof *c);
    c->wanted = wanted & NF_CTR_SET_ALL;
    for (int i = 0; i < NF_CTR_COUNT; i++)
        c->fd[i] = -1;

    for (int i = 0; i < NF_CTR_COUNT; i++) {
        if (!(c->wanted & NF_CTR_BIT(i)))
            continue;
        const counter_desc *d = &g_desc[i];
        if (d->src == NF_SRC_PERF_SOFTWARE || d->src == NF_SRC_PERF_HARDWARE) {
            const counter_desc *ev = event_desc(i);
            int fd = perf_open(ev, false);
            int err = errno;
            if (fd < 0 && (err == EACCES || err == EPERM)) {
                fd = perf_open(ev, true);
                if (fd < 0)
                    err = errno;
            }
            if (fd < 0)
                perf_reason(c->reason[i], sizeof c->reason[i], err, ev->src == NF_SRC_PERF_HARDWARE);
            else {
                c->fd[i] = fd;
                c->avail[i] = true;
            }
        } else if (d->src == NF_SRC_RUSAGE) {
            struct rusage ru;
            if (getrusage(RUSAGE_THREAD, &ru) == 0)
                c->avail[i] = true;
            else
                snprintf(c->reason[i], sizeof c->reason[i], "getrusage(RUSAGE_THREAD): %s", strerror(errno));
        }
    }

    if (c->wanted & NF_CTR_SET_PROC) {
        nf_proc_mem m;
        int statm_err, smaps_err;
        proc_read(&m, true, true, &statm_err, &smaps_err);
        for (int i = NF_CTR_VSZ_KIB; i <= NF_CTR_LOCKED_KIB; i++) {
            if (!(c->wanted & NF_CTR_BIT(i)))
                continue;
            if (proc_value(&m, (nf_counter_id)i) >= 0) {
                c->avail[i] = true;
                continue;
            }
            bool statm = i == NF_CTR_VSZ_KIB;
            int err = statm ? statm_err : smaps_err;
            const char *file = statm ? "/proc/self/statm" : "/proc/self/smaps_rollup";
            if (err)
                snprintf(c->reason[i], sizeof c->reason[i], "%s: %s", file, strerror(err));
            else
                snprintf(c->reason[i], sizeof c->reason[i], "%s has no %s figure", file, g_desc[i].name);
        }
    }
}

void nf_counters_close(nf_counters *c)
{
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        if (c->fd[i] >= 0)
            close(c->fd[i]);
        c->fd[i] = -1;
        c->avail[i] = false;
    }
}

static bool want(const nf_counters *c, uint64_t set)
{
    for (int i = 0; i < NF_CTR_COUNT; i++)
        if ((set & NF_CTR_BIT(i)) && c->avail[i])
            return true;
    return false;
}

static void read_proc_into(nf_counters *c, uint64_t *dst)
{
    if (!want(c, NF_CTR_SET_PROC))
        return;
    nf_proc_mem m;
    int e1, e2;
    proc_read(&m, c->avail[NF_CTR_VSZ_KIB], want(c, NF_CTR_SET_PROC & ~NF_CTR_BIT(NF_CTR_VSZ_KIB)), &e1, &e2);
    for (int i = NF_CTR_VSZ_KIB; i <= NF_CTR_LOCKED_KIB; i++)
        if (c->avail[i])
            dst[i] = (uint64_t)proc_value(&m, (nf_counter_id)i);
}

static void read_rusage_into(nf_counters *c, uint64_t *dst)
{
    if (!want(c, NF_CTR_SET_RUSAGE))
        return;
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0)
        return;
    dst[NF_CTR_RU_MINFLT] = (uint64_t)ru.ru_minflt;
    dst[NF_CTR_RU_MAJFLT] = (uint64_t)ru.ru_majflt;
    dst[NF_CTR_RU_NVCSW] = (uint64_t)ru.ru_nvcsw;
    dst[NF_CTR_RU_NIVCSW] = (uint64_t)ru.ru_nivcsw;
}

static void read_perf_into(nf_counters *c, uint64_t *dst)
{
    for (int i = 0; i < NF_CTR_COUNT; i++)
        if (c->fd[i] >= 0)
            dst[i] = perf_read(c->fd[i]);
}

void nf_counters_start(nf_counters *c)
{
    read_proc_into(c, c->start);
    read_rusage_into(c, c->start);
    read_perf_into(c, c->start);
}

void nf_counters_stop(nf_counters *c)
{
    read_perf_into(c, c->stop);
    read_rusage_into(c, c->stop);
    read_proc_into(c, c->stop);
}

bool nf_counters_available(const nf_counters *c, nf_counter_id id, const char **reason)
{
    if ((unsigned)id >= NF_CTR_COUNT) {
        if (reason)
            *reason = "no such counter";
        return false;
    }
    if (reason)
        *reason = c->avail[id] ? "" : !(c->wanted & NF_CTR_BIT(id)) ? "not requested" : c->reason[id];
    return c->avail[id];
}

double nf_counters_delta(const nf_counters *c, nf_counter_id id)
{
    if ((unsigned)id >= NF_CTR_COUNT || !c->avail[id])
        return NAN;
    return (double)(int64_t)(c->stop[id] - c->start[id]);
}

double nf_counters_value(const nf_counters *c, nf_counter_id id)
{
    if ((unsigned)id >= NF_CTR_COUNT || !c->avail[id])
        return NAN;
    return (double)c->stop[id];
}

/* ---- probing once per process ---- */

static uint64_t g_probed_mask;
static pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;

static void probe_once(void)
{
    nf_counters c;
    nf_counters_open(&c, NF_CTR_SET_ALL);
    char name[64];
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        if (c.avail[i]) {
            g_probed_mask |= NF_CTR_BIT(i);
            continue;
        }
        snprintf(name, sizeof name, "counter:%s", g_desc[i].name);
        nf_context_unavailable(name, c.reason[i]);
    }
    nf_counters_close(&c);
}

void nf_counters_probe_all(void) { pthread_once(&g_probe_once, probe_once); }

uint64_t nf_counters_probed_mask(void)
{
    pthread_once(&g_probe_once, probe_once);
    return g_probed_mask;
}
