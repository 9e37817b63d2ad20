/* tour/cgroup.c: the memory cgroups the tour's risky children run in.
 *
 * Which hierarchy: the one that has the memory controller for this
 * process: v1 ("N:memory:/path" in /proc/self/cgroup, mounted with the
 * memory option) or v2 ("0::/path", memory in cgroup.controllers). A
 * cgroup is made under our own, so nothing outside our subtree changes,
 * and its limit must be far below MemAvailable (a quarter at most):
 * whatever the child does, the box keeps its memory. Swap is capped at
 * the same limit (v1 memory.memsw) or at 0 (v2 memory.swap.max), so a
 * child cannot spill into the box's swap either. */
#include "tour.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The directory of our memory cgroup and its version; -1 with why. */
static int own_cgroup(char *dir, size_t cap, int *version, char *why, size_t whylen)
{
    char v1path[512] = "", v2path[512] = "", line[1024];
    int have_v1 = 0, have_v2 = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) {
        snprintf(why, whylen, "/proc/self/cgroup unreadable: %s", strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctrls = c1 + 1, *path = c2 + 1;
        if (!strcmp(line, "0") && *ctrls == '\0') {
            snprintf(v2path, sizeof v2path, "%s", path);
            have_v2 = 1;
        }
        char list[256];
        snprintf(list, sizeof list, ",%s,", ctrls);
        if (strstr(list, ",memory,")) {
            snprintf(v1path, sizeof v1path, "%s", path);
            have_v1 = 1;
        }
    }
    fclose(f);
    /* Mount points from mountinfo: field 5 is the mount point; after " - "
     * come the type and the super options. */
    char v1mnt[256] = "", v2mnt[256] = "";
    f = fopen("/proc/self/mountinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char mnt[256], type[64], opts[512];
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
            sscanf(dash + 3, "%63s %*s %511s", type, opts) != 2)
            continue;
        char list[520];
        snprintf(list, sizeof list, ",%s,", opts);
        if (!strcmp(type, "cgroup") && strstr(list, ",memory,"))
            snprintf(v1mnt, sizeof v1mnt, "%s", mnt);
        if (!strcmp(type, "cgroup2") && !v2mnt[0])
            snprintf(v2mnt, sizeof v2mnt, "%s", mnt);
    }
    if (f)
        fclose(f);
    if (have_v1 && v1mnt[0]) {
        snprintf(dir, cap, "%s%s", v1mnt, strcmp(v1path, "/") ? v1path : "");
        *version = 1;
        return 0;
    }
    if (have_v2 && v2mnt[0]) {
        char ctl[1024], buf[256] = "";
        snprintf(dir, cap, "%s%s", v2mnt, strcmp(v2path, "/") ? v2path : "");
        snprintf(ctl, sizeof ctl, "%s/cgroup.controllers", dir);
        FILE *c = fopen(ctl, "r");
        if (c) {
            if (!fgets(buf, sizeof buf, c))
                buf[0] = '\0';
            fclose(c);
        }
        if (!strstr(buf, "memory")) {
            snprintf(why, whylen, "cgroup v2 at %s has no memory controller", dir);
            return -1;
        }
        *version = 2;
        return 0;
    }
    snprintf(why, whylen, "no memory cgroup controller mounted (neither v1 nor v2)");
    return -1;
}

static int write_str(const char *dir, const char *file, const char *s)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    int ok = fputs(s, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int nf_tour_cgroup_possible(char *why, size_t whylen)
{
    char dir[512];
    int v;
    if (own_cgroup(dir, sizeof dir, &v, why, whylen) != 0)
        return 0;
    if (access(dir, W_OK) != 0) {
        snprintf(why, whylen, "our memory cgroup %s is not writable (%s): run as root", dir, strerror(errno));
        return 0;
    }
    return 1;
}

int nf_tour_cgroup_make(nf_tour_cgroup *cg, const char *name, uint64_t limit, char *why, size_t whylen)
{
    char parent[400];
    memset(cg, 0, sizeof *cg);
    if (own_cgroup(parent, sizeof parent, &cg->version, why, whylen) != 0)
        return -1;
    long avail = nf_tour_meminfo_kib("MemAvailable");
    if (avail <= 0 || limit > (uint64_t)avail * 1024 / 4) {
        snprintf(why, whylen, "a limit of %llu MiB is not far below MemAvailable (%ld MiB): refused",
                 (unsigned long long)(limit >> 20), avail / 1024);
        return -1;
    }
    if (snprintf(cg->path, sizeof cg->path, "%.400s/notfree-tour-%.32s-%d", parent, name, (int)getpid()) >=
        (int)sizeof cg->path) {
        snprintf(why, whylen, "the cgroup path is too long");
        return -1;
    }
    if (mkdir(cg->path, 0755) != 0) {
        snprintf(why, whylen, "mkdir %s: %s", cg->path, strerror(errno));
        return -1;
    }
    nf_tour_register_dir(cg->path);
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)limit);
    int rc;
    if (cg->version == 1) {
        rc = write_str(cg->path, "memory.limit_in_bytes", num);
        if (rc == 0) /* absent without swap accounting: fine, there is no swap to cap */
            (void)write_str(cg->path, "memory.memsw.limit_in_bytes", num);
    } else {
        char probe[1024];
        snprintf(probe, sizeof probe, "%s/memory.max", cg->path);
        if (access(probe, F_OK) != 0) /* the controller is not enabled below us yet */
            (void)write_str(parent, "cgroup.subtree_control", "+memory");
        rc = write_str(cg->path, "memory.max", num);
        if (rc == 0)
            (void)write_str(cg->path, "memory.swap.max", "0");
    }
    if (rc != 0) {
        snprintf(why, whylen, "cannot set the limit of %s: %s", cg->path, strerror(errno));
        nf_tour_cgroup_remove(cg);
        return -1;
    }
    cg->limit = limit;
    return 0;
}

int nf_tour_cgroup_join(const nf_tour_cgroup *cg)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    return write_str(cg->path, "cgroup.procs", pid);
}

long nf_tour_cgroup_oom_kills(const nf_tour_cgroup *cg)
{
    char p[1024], line[256];
    snprintf(p, sizeof p, "%s/%s", cg->path, cg->version == 1 ? "memory.oom_control" : "memory.events");
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    long n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "oom_kill %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

void nf_tour_cgroup_remove(nf_tour_cgroup *cg)
{
    if (!cg->path[0])
        return;
    for (int t = 0; t < 200 && rmdir(cg->path) != 0 && errno == EBUSY; t++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    nf_tour_unregister_dir(cg->path);
    cg->path[0] = '\0';
}

int nf_tour_guard(nf_tour_run *r, nf_tour_cgroup *cg, const char *name, uint64_t limit, char *why, size_t whylen)
{
    if (nf_tour_cgroup_make(cg, name, limit, why, whylen) == 0) {
        nf_tour_did(r, "the child runs in memory cgroup v%d %s, limited to %llu MiB", cg->version, cg->path,
                    (unsigned long long)(limit >> 20));
        return 1;
    }
    long avail = nf_tour_meminfo_kib("MemAvailable");
    if (avail > 0 && limit < (uint64_t)avail * 1024 / 16) {
        nf_tour_did(r, "no memory cgroup (%s); the child's %llu MiB is under a sixteenth of MemAvailable (%ld MiB)",
                    why, (unsigned long long)(limit >> 20), avail / 1024);
        cg->path[0] = '\0';
        return 0;
    }
    return -1;
}
