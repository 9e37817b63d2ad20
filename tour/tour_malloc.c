/* tour/tour_malloc.c: notfree-tour-malloc, the fresh process whose system
 * calls the tour counts (steps 1 and 2), run under each allocator's
 * LD_PRELOAD by the counter of `notfree compare`, which counts only the
 * calls between the first two getppid() markers.
 *   first        marker, malloc(64), marker: the first malloc of main
 *   next N       malloc(64) once, marker, N more malloc(64) kept, marker
 *   size S       marker, malloc(S), marker
 *   dynamic S    malloc(S), free, marker, malloc(S), marker: glibc raises
 *                its mmap threshold after freeing a mapped block
 *   mallopt T S  mallopt(M_MMAP_THRESHOLD, T), marker, malloc(S), marker
 * Each block is written once so no allocator can elide it. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void marker(void) { (void)getppid(); }

static void touch(char *p)
{
    if (!p) {
        fprintf(stderr, "malloc failed\n");
        exit(1);
    }
    p[0] = 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "first")) {
        marker();
        touch(malloc(64));
        marker();
    } else if (argc >= 3 && !strcmp(argv[1], "next")) {
        long n = atol(argv[2]);
        touch(malloc(64));
        marker();
        for (long i = 0; i < n; i++)
            touch(malloc(64));
        marker();
    } else if (argc >= 3 && !strcmp(argv[1], "size")) {
        size_t s = strtoull(argv[2], NULL, 10);
        marker();
        touch(malloc(s));
        marker();
    } else if (argc >= 3 && !strcmp(argv[1], "dynamic")) {
        size_t s = strtoull(argv[2], NULL, 10);
        char *p = malloc(s);
        touch(p);
        free(p);
        marker();
        touch(malloc(s));
        marker();
    } else if (argc >= 4 && !strcmp(argv[1], "mallopt")) {
        mallopt(M_MMAP_THRESHOLD, atoi(argv[2]));
        size_t s = strtoull(argv[3], NULL, 10);
        marker();
        touch(malloc(s));
        marker();
    } else {
        fprintf(stderr, "usage: notfree-tour-malloc first | next N | size S | dynamic S | mallopt T S\n");
        return 2;
    }
    printf("ok\n");
    return 0;
}
