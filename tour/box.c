/* tour/box.c: small readers of the box's own accounting. */
#include "tour.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "notfree/clock.h"

static long field_kib(const char *path, const char *field)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    size_t k = strlen(field);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, k) && line[k] == ':') {
            v = strtol(line + k + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

long nf_tour_meminfo_kib(const char *field) { return field_kib("/proc/meminfo", field); }

long nf_tour_status_kib(pid_t pid, const char *field)
{
    char p[64];
    if (pid == 0)
        snprintf(p, sizeof p, "/proc/self/status");
    else
        snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    return field_kib(p, field);
}

long long nf_tour_read_ll(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v;
    int ok = fscanf(f, "%lld", &v) == 1;
    fclose(f);
    return ok ? v : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double nf_tour_median(double *v, size_t n)
{
    if (n == 0)
        return 0.0 / 0.0;
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int nf_tour_disk_dir(char *buf, size_t cap)
{
    const char *tries[] = {getenv("TMPDIR"), "/var/tmp", "."};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct statfs fs;
        if (!tries[i] || statfs(tries[i], &fs) != 0 || access(tries[i], W_OK) != 0)
            continue;
        if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)
            continue; /* shmem pages are swap-backed, not file cache */
        snprintf(buf, cap, "%s", tries[i]);
        return 0;
    }
    return -1;
}

void nf_tour_read_file(void *arg, int fd)
{
    const nf_tour_file_read *a = arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int f = open(a->path, O_RDONLY);
    char *p = f >= 0 ? mmap(NULL, a->len, PROT_READ, MAP_SHARED, f, 0) : MAP_FAILED;
    if (p == MAP_FAILED) {
        nf_tour_out(fd, "failed=%d\n", errno);
        return;
    }
    madvise(p, a->len, a->advice);
    unsigned sum = 0;
    for (int pass = 1; pass <= a->passes; pass++) {
        long m0 = nf_tour_majflt();
        double t0 = nf_now_ns();
        for (size_t off = 0; off < a->len; off += page)
            sum += (unsigned char)((volatile char *)p)[off];
        double t1 = nf_now_ns();
        nf_tour_out(fd, "pass%d_major=%ld pass%d_ms=%.2f ", pass, nf_tour_majflt() - m0, pass, (t1 - t0) / 1e6);
    }
    nf_tour_out(fd, "sum=%u\n", sum);
}

int nf_tour_cold_file(const char *path, size_t len, int create)
{
    int f = open(path, create ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0600);
    if (f < 0)
        return -1;
    if (create) {
        nf_tour_register_file(path);
        char buf[65536];
        memset(buf, 0x5a, sizeof buf);
        for (size_t done = 0; done < len; done += sizeof buf)
            if (write(f, buf, sizeof buf) != (ssize_t)sizeof buf) {
                close(f);
                return -1;
            }
        fsync(f);
    }
    posix_fadvise(f, 0, (off_t)len, POSIX_FADV_DONTNEED);
    close(f);
    return 0;
}
