/* tour/tour_fork.c: notfree-tour-fork N, a small fresh process (step 11)
 * that touches N pages, forks 5 times (the child exits at once) and
 * prints the median time of the fork call and its own RSS: the article's
 * "thousand-page process", without notfree's own pages around it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0, page = sysconf(_SC_PAGESIZE);
    if (n <= 0) {
        fprintf(stderr, "usage: notfree-tour-fork PAGES\n");
        return 2;
    }
    char *p = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    for (long i = 0; i < n; i++)
        p[i * page] = 1;
    double t[5];
    for (int k = 0; k < 5; k++) {
        double t0 = now_us();
        pid_t c = fork();
        double t1 = now_us();
        if (c == 0)
            _exit(0);
        waitpid(c, NULL, 0);
        t[k] = t1 - t0;
    }
    qsort(t, 5, sizeof t[0], cmp);
    long rss = -1;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &rss) == 1)
            break;
    if (f)
        fclose(f);
    printf("fork_us=%.2f rss_kib=%ld\n", t[2], rss);
    return 0;
}
