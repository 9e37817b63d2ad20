/* base/spawn.c: a child with stdout and stderr on pipes (notfree/spawn.h). */
#include "notfree/spawn.h"

#include "notfree/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int nf_spawn_piped(nf_spawn *sp, const char *path, char *const argv[], void (*setup)(void *arg), void *arg)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return NF_SPAWN_PIPE;
    if (pipe2(err, O_CLOEXEC) != 0) {
        int e = errno;
        close(out[0]), close(out[1]);
        errno = e;
        return NF_SPAWN_PIPE;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        errno = e;
        return NF_SPAWN_FORK;
    }
    if (pid == 0) {
        /* dup2 clears close-on-exec on 1 and 2; the pipes' own ends close at exec */
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (setup)
            setup(arg);
        execv(path, argv);
        dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    sp->pid = pid;
    sp->out = out[0];
    sp->err = err[0];
    return 0;
}

/* Reads what is there into s; 0 at EOF or on an error, else 1. */
static int take(int fd, nf_spawn_sink *s)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0)
        return n == 0 || (errno != EINTR && errno != EAGAIN) ? 0 : 1;
    size_t room = s->cap - 1 - s->used;
    size_t k = (size_t)n < room ? (size_t)n : room;
    memcpy(s->buf + s->used, tmp, k);
    s->used += k;
    s->buf[s->used] = '\0';
    return 1;
}

int nf_spawn_drain(nf_spawn *sp, nf_spawn_sink *out, nf_spawn_sink *err, double deadline, const nf_spawn_ticker *ticker)
{
    int open_out = 1, open_err = 1, rc = 0;
    while (open_out || open_err) {
        double left = deadline - nf_now_s();
        if (left <= 0) {
            kill(sp->pid, SIGKILL);
            rc = 1;
            break;
        }
        struct pollfd p[2] = {{open_out ? sp->out : -1, POLLIN, 0}, {open_err ? sp->err : -1, POLLIN, 0}};
        int wait_ms = (int)(left * 1000) + 1;
        if (ticker && ticker->due_ms && ticker->due_ms(ticker->arg) < wait_ms)
            wait_ms = ticker->due_ms(ticker->arg);
        int n = poll(p, 2, wait_ms);
        if (ticker && ticker->tick)
            ticker->tick(ticker->arg);
        if (n < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        if (n <= 0)
            continue;
        if (open_out && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            open_out = take(sp->out, out);
        if (open_err && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            open_err = take(sp->err, err);
    }
    close(sp->out);
    close(sp->err);
    sp->out = sp->err = -1;
    return rc;
}
