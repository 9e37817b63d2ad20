/* check/run.c: every (probe, allocator) in its own notfree-probe process,
 * a few at a time, stdout and stderr read as they come (a probe can write
 * thousands of markers), killed at the timeout.
 *
 * In the child: the caller's environment for the preload (compare's), no
 * core files, and LIBC_FATAL_STDERR_=1 so that glibc's own abort messages
 * ("free(): double free detected ...") go to stderr, not to /dev/tty. */
#include "check.h"

#include "notfree/clock.h"
#include "notfree/spawn.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One running child. Invariant: fd[i] >= 0 until that pipe reached EOF. */
typedef struct slot {
    nf_check_job *job;
    pid_t pid;
    int fd[2]; /* stdout, stderr */
    double start;
    int killed;
    char line[1024]; /* stdout's partial line */
    size_t nline;
    char first[512]; /* the first complete stdout line */
    char err[1024];  /* stderr, the first bytes */
    size_t nerr;
    nf_probe_trace trace;
} slot;

typedef struct child_setup {
    const nf_check_plan *pl;
    const slot *s;
} child_setup;

/* In the child, before exec. */
static void setup_child(void *arg)
{
    const child_setup *c = arg;
    if (c->pl->child_env)
        c->pl->child_env(c->s->job->preload);
    setenv("LIBC_FATAL_STDERR_", "1", 1);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
}

static int spawn(const nf_check_plan *pl, slot *s, char *const argv[])
{
    child_setup c = {pl, s};
    nf_spawn sp;
    if (nf_spawn_piped(&sp, argv[0], argv, setup_child, &c) != 0)
        return -1;
    memset(&s->trace, 0, sizeof s->trace);
    s->pid = sp.pid;
    s->fd[0] = sp.out;
    s->fd[1] = sp.err;
    s->start = nf_now_s();
    s->killed = 0;
    s->nline = s->nerr = 0;
    s->err[0] = '\0';
    s->first[0] = '\0';
    return 0;
}

static void take_stdout(slot *s, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || s->nline == sizeof s->line - 1) {
            s->line[s->nline] = '\0';
            if (!s->first[0])
                snprintf(s->first, sizeof s->first, "%.500s", s->line);
            nf_probe_trace_line(&s->trace, s->line);
            s->nline = 0;
            if (buf[i] == '\n')
                continue;
        }
        s->line[s->nline++] = buf[i];
    }
}

static void take_stderr(slot *s, const char *buf, size_t n)
{
    size_t room = sizeof s->err - 1 - s->nerr;
    if (n > room)
        n = room;
    memcpy(s->err + s->nerr, buf, n);
    s->nerr += n;
    s->err[s->nerr] = '\0';
}

/* Reads what is there; returns 1 when both pipes reached EOF. */
static int drain(slot *s, int which)
{
    char buf[4096];
    ssize_t r = read(s->fd[which], buf, sizeof buf);
    if (r > 0) {
        if (which == 0)
            take_stdout(s, buf, (size_t)r);
        else
            take_stderr(s, buf, (size_t)r);
        return 0;
    }
    if (r < 0 && errno == EINTR)
        return 0;
    close(s->fd[which]);
    s->fd[which] = -1;
    return s->fd[0] < 0 && s->fd[1] < 0;
}

static void finish(const nf_check_plan *pl, slot *s)
{
    int st = 0;
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (s->nline) { /* a last line without its newline */
        s->line[s->nline] = '\0';
        nf_probe_trace_line(&s->trace, s->line);
    }
    nf_check_outcome *o = &s->job->out;
    nf_check_classify(s->job->probe, &s->trace, st, s->killed, pl->timeout_s, s->err, o);
    o->seconds = nf_now_s() - s->start;
    s->job = NULL;
}

int nf_check_run(const nf_check_plan *pl, nf_check_job *jobs, size_t n)
{
    unsigned par = pl->parallel ? pl->parallel : 1;
    slot *slots = calloc(par, sizeof *slots);
    if (!slots)
        return -1;
    size_t next = 0, running = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        jobs[i].out.status = -1;
    while (next < n || running) {
        for (unsigned k = 0; k < par && next < n && rc == 0; k++) {
            if (slots[k].job)
                continue;
            slots[k].job = &jobs[next];
            char *argv[] = {(char *)pl->probe_exe, (char *)jobs[next].probe->name, NULL};
            if (spawn(pl, &slots[k], argv) != 0) {
                slots[k].job = NULL;
                rc = -1;
                break;
            }
            next++;
            running++;
        }
        if (rc != 0 && !running)
            break;
        if (rc != 0)
            next = n; /* start no more; let the running ones end */
        struct pollfd pfd[64];
        unsigned who[64];
        int which[64];
        nfds_t np = 0;
        for (unsigned k = 0; k < par && np + 2 <= 64; k++)
            for (int w = 0; w < 2; w++)
                if (slots[k].job && slots[k].fd[w] >= 0) {
                    pfd[np] = (struct pollfd){slots[k].fd[w], POLLIN, 0};
                    who[np] = k;
                    which[np++] = w;
                }
        if (poll(pfd, np, 100) < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        for (nfds_t i = 0; i < np; i++) {
            slot *s = &slots[who[i]];
            if (!s->job || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (drain(s, which[i])) {
                finish(pl, s);
                running--;
            }
        }
        double t = nf_now_s();
        for (unsigned k = 0; k < par; k++)
            if (slots[k].job && !slots[k].killed && t - slots[k].start > pl->timeout_s) {
                kill(slots[k].pid, SIGKILL); /* its pipes close; drain() ends it */
                slots[k].killed = 1;
            }
    }
    free(slots);
    return rc;
}
