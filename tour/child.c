/* tour/child.c: the children steps measure in, and the registries of
 * everything the tour made, which the SIGINT handler walks.
 *
 * The registries are fixed arrays of pids and paths: the handler reads
 * them with async-signal-safe calls only (kill, waitpid, unlink, rmdir). */
#include "tour.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notfree/clock.h"

enum { MAX_PIDS = 16, MAX_PATHS = 16, PATH_CAP = 512 };

static volatile pid_t pids[MAX_PIDS];
static char files[MAX_PATHS][PATH_CAP];
static char dirs[MAX_PATHS][PATH_CAP];

void nf_tour_register_pid(pid_t pid)
{
    for (int i = 0; i < MAX_PIDS; i++)
        if (pids[i] == 0) {
            pids[i] = pid;
            return;
        }
}

void nf_tour_unregister_pid(pid_t pid)
{
    for (int i = 0; i < MAX_PIDS; i++)
        if (pids[i] == pid)
            pids[i] = 0;
}

static void put(char (*slots)[PATH_CAP], const char *path)
{
    for (int i = 0; i < MAX_PATHS; i++)
        if (slots[i][0] == '\0') {
            snprintf(slots[i], PATH_CAP, "%s", path);
            return;
        }
}

static void drop(char (*slots)[PATH_CAP], const char *path)
{
    for (int i = 0; i < MAX_PATHS; i++)
        if (!strcmp(slots[i], path))
            slots[i][0] = '\0';
}

void nf_tour_register_file(const char *path) { put(files, path); }
void nf_tour_remove_file(const char *path)
{
    unlink(path);
    drop(files, path);
}
void nf_tour_register_dir(const char *path) { put(dirs, path); }
void nf_tour_unregister_dir(const char *path) { drop(dirs, path); }

void nf_tour_cleanup_all(void)
{
    for (int i = 0; i < MAX_PIDS; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
    for (int i = 0; i < MAX_PATHS; i++)
        if (files[i][0]) {
            unlink(files[i]);
            files[i][0] = '\0';
        }
    /* A cgroup is removable once its last task is reaped; v1 can lag a
     * moment behind the reap, so retry without sleeping in libc. */
    for (int i = 0; i < MAX_PATHS; i++)
        if (dirs[i][0]) {
            for (int t = 0; t < 200 && rmdir(dirs[i]) != 0 && errno == EBUSY; t++) {
                struct timespec ts = {0, 5000000};
                nanosleep(&ts, NULL);
            }
            dirs[i][0] = '\0';
        }
}

static void on_signal(int sig)
{
    static const char msg[] = "\nnotfree tour: interrupted; children, cgroups and files removed\n";
    nf_tour_cleanup_all();
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing to do: we are leaving */
    }
    _exit(128 + sig);
}

void nf_tour_install_cleanup(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void nf_tour_out(int fd, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = (int)sizeof buf - 1;
    for (int off = 0; off < n;) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w <= 0)
            return;
        off += (int)w;
    }
}

long nf_tour_minflt(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

long nf_tour_majflt(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_majflt;
}

double nf_tour_get(const char *out, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = out; (p = strstr(p, key)) != NULL; p += k) {
        if ((p == out || p[-1] == ' ' || p[-1] == '\n') && p[k] == '=')
            return strtod(p + k + 1, NULL);
    }
    return NAN;
}

double nf_tour_get_last(const char *out, const char *key)
{
    double v = NAN;
    size_t k = strlen(key);
    for (const char *p = out; (p = strstr(p, key)) != NULL; p += k)
        if ((p == out || p[-1] == ' ' || p[-1] == '\n') && p[k] == '=')
            v = strtod(p + k + 1, NULL);
    return v;
}

int nf_tour_child(nf_tour_child_fn fn, void *arg, const nf_tour_cgroup *cg, double timeout_s, char *out, size_t cap)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(NULL);
    /* The handler must not see a pid it cannot reap: block SIGINT until
     * the child is registered. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(p[0]);
        if (cg && nf_tour_cgroup_join(cg) != 0) {
            nf_tour_out(p[1], "error=cgroup-join\n");
            _exit(125);
        }
        fn(arg, p[1]);
        _exit(0);
    }
    nf_tour_register_pid(pid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    size_t used = 0;
    double deadline = nf_now_s() + timeout_s;
    int killed = 0;
    for (;;) {
        double left = deadline - nf_now_s();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int n = poll(&pf, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char tmp[4096];
        ssize_t got = read(p[0], tmp, sizeof tmp);
        if (got <= 0)
            break; /* EOF: the child closed or died */
        size_t keep = (size_t)got;
        if (cap && used + keep > cap - 1)
            keep = cap - 1 - used;
        memcpy(out + used, tmp, keep);
        used += keep;
    }
    if (cap)
        out[used] = '\0';
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    nf_tour_unregister_pid(pid);
    if (killed && cap && used + 16 < cap)
        snprintf(out + used, cap - used, "timeout=1\n");
    return status;
}
