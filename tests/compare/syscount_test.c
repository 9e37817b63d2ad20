/* tests/compare/syscount_test.c: the system-call counter of `notfree
 * compare` (compare/syscalls.c) on a program with a known number of
 * calls: mmap10 makes ten mmaps in its window, from the main thread or
 * from another thread; nothing else counted may appear there. */
#include "compare.h"

#include <stdio.h>
#include <string.h>

static int check(const char *prog, const char *mode)
{
    char *argv[] = {(char *)prog, (char *)mode, NULL}, line[64], err[256];
    long long n[NF_CMP_NSYS];
    if (nf_cmp_count_syscalls(argv, NULL, 30, n, line, sizeof line, err, sizeof err) != 0) {
        printf("FAIL %s: counter failed: %s\n", mode, err);
        return 1;
    }
    int bad = strcmp(line, "done") != 0;
    for (int k = 0; k < NF_CMP_NSYS; k++) {
        long long want = k == 0 ? 10 : 0; /* mmap first */
        printf("%s %s: %lld (want %lld)\n", mode, nf_cmp_sys_names[k], n[k], want);
        bad |= n[k] != want;
    }
    if (bad)
        printf("FAIL %s (program said '%s')\n", mode, line);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: syscount_test PATH/TO/mmap10\n");
        return 2;
    }
    return check(argv[1], "main") | check(argv[1], "thread");
}
