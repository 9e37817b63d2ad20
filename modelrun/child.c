/* child.c: run a function in a forked child and read back its reply.
 *
 * Why a child: live mode is process-wide (one SIGSEGV handler, one
 * reservation), and a child forked from the same parent state gets the
 * same address for its model reservation as its siblings, so runs under
 * different presets see the same allocator decisions. A native run in a
 * child has its own getrusage and VmHWM.
 */
#include "child.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int nf_modelrun_errf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads (writing false) or writes exactly n bytes of buf; 0 or -1. */
static int xfer_all(int fd, void *buf, size_t n, bool writing)
{
    char *b = buf;
    while (n) {
        ssize_t k = writing ? write(fd, b, n) : read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

int nf_modelrun_in_child(void (*fn)(void *, void *, size_t), void *arg, void *rep, size_t n, char *err, size_t errcap)
{
    int fd[2];
    if (pipe(fd) != 0)
        return nf_modelrun_errf(err, errcap, "pipe: %s", strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return nf_modelrun_errf(err, errcap, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fd[0]);
        fn(arg, rep, n);
        _exit(xfer_all(fd[1], rep, n, true) == 0 ? 0 : 1);
    }
    close(fd[1]);
    int got = xfer_all(fd[0], rep, n, false);
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st))
        return nf_modelrun_errf(err, errcap, "the run died of signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    if (got != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return nf_modelrun_errf(err, errcap, "the run's process ended without its figures (status %d)", st);
    return 0;
}
