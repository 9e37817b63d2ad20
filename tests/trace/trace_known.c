/* tests/trace/trace_known.c: a program whose allocation calls are known,
 * for `notfree trace record`. No stdio (its buffer would be one more
 * malloc): nothing but the calls below.
 *
 *   known        100 malloc (1000..1099 B) freed in reverse; 10 calloc
 *                (4 x 8..17); realloc(NULL, 16) and 4 reallocs up to 256;
 *                3 posix_memalign(64, 100), 2 aligned_alloc(128, 256),
 *                memalign(4096, 5000); everything freed, then free(NULL).
 *                malloc 100, calloc 10, realloc 5, free 118,
 *                posix_memalign 3, aligned_alloc 2, memalign 1;
 *                peak live 104950 bytes.
 *   threads N    N threads, each 1000 malloc(24)/free pairs and 10 frees
 *                of blocks the main thread allocated (cross-thread)
 *   fork         5 mallocs; a child makes 50 mallocs and frees them and
 *                exits; the parent frees its 5.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;
static void *volatile nothing;

static int known(void)
{
    void *a[100], *c[10], *al[6], *r = NULL;
    for (int i = 0; i < 100; i++)
        sink = a[i] = malloc(1000 + (size_t)i);
    for (int i = 99; i >= 0; i--)
        free(a[i]);
    for (int i = 0; i < 10; i++)
        sink = c[i] = calloc(4, 8 + (size_t)i);
    for (size_t n = 16; n <= 256; n *= 2)
        sink = r = realloc(r, n);
    for (int i = 0; i < 3; i++)
        if (posix_memalign(&al[i], 64, 100) != 0)
            return 1;
    sink = al[3] = aligned_alloc(128, 256);
    sink = al[4] = aligned_alloc(128, 256);
    sink = al[5] = memalign(4096, 5000);
    for (int i = 0; i < 10; i++)
        free(c[i]);
    free(r);
    for (int i = 0; i < 6; i++)
        free(al[i]);
    free(nothing); /* a volatile NULL: the compiler may not drop the call */
    return 0;
}

static void *handed[64][10];

static void *worker(void *v)
{
    int k = (int)(long)v;
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(24);
        memset(p, i, 24);
        sink = p;
        free(p);
    }
    for (int i = 0; i < 10; i++)
        free(handed[k][i]);
    return NULL;
}

static int threads(int n)
{
    pthread_t t[64];
    if (n < 1 || n > 64)
        return 2;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 10; i++)
            sink = handed[k][i] = malloc(48);
    for (int k = 0; k < n; k++)
        if (pthread_create(&t[k], NULL, worker, (void *)(long)k) != 0)
            return 1;
    for (int k = 0; k < n; k++)
        pthread_join(t[k], NULL);
    return 0;
}

static int forked(void)
{
    void *p[5];
    for (int i = 0; i < 5; i++)
        sink = p[i] = malloc(100);
    pid_t pid = fork();
    if (pid == 0) {
        void *q[50];
        for (int i = 0; i < 50; i++)
            sink = q[i] = malloc(200);
        for (int i = 0; i < 50; i++)
            free(q[i]);
        exit(0);
    }
    int st = 1;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 1;
    for (int i = 0; i < 5; i++)
        free(p[i]);
    return st;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "known"))
        return known();
    if (argc >= 3 && !strcmp(argv[1], "threads"))
        return threads(atoi(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "fork"))
        return forked();
    return 2;
}
