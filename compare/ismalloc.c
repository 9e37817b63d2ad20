/* compare/ismalloc.c: is this library really the malloc? The parent side
 * of owner.h's question, the one check `notfree compare` and `notfree
 * check` both make before they measure a library: run `EXE --whoami PATH`
 * under LD_PRELOAD=PATH (EXE: notfree-workload or notfree-probe, both
 * answer it through owner.c) and read its line. A library without malloc
 * would otherwise be measured, or scored, as glibc under its name. */
#include "compare.h"
#include "owner.h"

#include "notfree/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int nf_cmp_is_malloc(const char *exe, const char *path, double timeout_s, char *why, size_t len)
{
    int out[2], err[2];
    if (pipe(out) != 0) {
        snprintf(why, len, "pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe(err) != 0) {
        snprintf(why, len, "pipe: %s", strerror(errno));
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, len, "fork: %s", strerror(errno));
        close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        nf_cmp_child_env(path);
        execl(exe, exe, "--whoami", path, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    /* Both pipes to EOF (the answer is one line), or the timeout. */
    char buf[2][2048] = {"", ""};
    size_t used[2] = {0, 0};
    int fd[2] = {out[0], err[0]}, killed = 0;
    double deadline = nf_now_s() + timeout_s;
    while (fd[0] >= 0 || fd[1] >= 0) {
        struct pollfd p[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
        double left = deadline - nf_now_s();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        if (poll(p, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < 2; k++) {
            if (fd[k] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fd[k], buf[k] + used[k], sizeof buf[k] - 1 - used[k]);
            if (n > 0) {
                used[k] += (size_t)n;
                buf[k][used[k]] = '\0';
            }
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) || used[k] == sizeof buf[k] - 1) {
                close(fd[k]);
                fd[k] = -1;
            }
        }
    }
    for (int k = 0; k < 2; k++)
        if (fd[k] >= 0)
            close(fd[k]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[0][strcspn(buf[0], "\n")] = '\0';
    buf[1][strcspn(buf[1], "\n")] = '\0';
    if (killed) {
        snprintf(why, len, "%s --whoami did not answer within %.0f s under LD_PRELOAD=%s", exe, timeout_s, path);
        return -1;
    }
    if (!strncmp(buf[0], "dlopen-error ", 13)) {
        snprintf(why, len, "%s", buf[0] + 13);
        return 1;
    }
    if (strncmp(buf[0], "malloc-in ", 10) != 0) {
        snprintf(why, len, "%s gave no answer under LD_PRELOAD=%s (status %#x)%s%.1000s", exe, path, st,
                 buf[1][0] ? ": " : "", buf[1]);
        return -1;
    }
    const char *obj = buf[0] + 10;
    if (nf_same_file(obj, path))
        return 0;
    snprintf(why, len, "malloc resolves into %s, not into %s: not an allocator (not a malloc replacement: it"
             " defines no malloc, or it was not preloaded)", obj, path);
    return 1;
}
