/* tests/compare/mmap10.c: makes a known number of counted system calls
 * between the two getppid markers: ten anonymous mmaps, from the main
 * thread (argument "main") or from a second thread ("thread", which shows
 * the counter follows threads). Nothing else in the window. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *ten_mmaps(void *arg)
{
    (void)arg;
    getppid(); /* marker: counting starts */
    for (int i = 0; i < 10; i++)
        if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
            return "mmap failed";
    getppid(); /* marker: counting stops */
    return NULL;
}

int main(int argc, char **argv)
{
    void *err = NULL;
    if (argc > 1 && !strcmp(argv[1], "thread")) {
        pthread_t t;
        if (pthread_create(&t, NULL, ten_mmaps, NULL) != 0)
            return 1;
        pthread_join(t, &err);
    } else {
        err = ten_mmaps(NULL);
    }
    printf("done\n");
    return err ? 1 : 0;
}
