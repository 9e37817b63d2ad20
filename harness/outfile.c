/* outfile.c: a results file that is never seen half written (see
 * notfree/outfile.h).
 *
 * Who may touch the file is one atomic state, so that a signal taken on
 * any thread, in the middle of a write or not, ends it exactly once:
 *
 *   CLOSED    no file open; a signal does what it did before.
 *   IDLE      the file holds whole steps; a signal handler may take it
 *             (IDLE -> FINISHING) and close it as a partial file.
 *   WRITING   the writer is appending a step; a signal handler only marks
 *             it (WRITING -> PENDING) and the writer closes the file when
 *             its step is complete.
 *   FINISHING one party (a handler, commit or discard) owns the file until
 *             the process ends or the file is closed.
 *
 * Everything a handler calls is async-signal-safe (write, close, rename,
 * unlink, getpid, sigaction, raise).
 */
#include "notfree/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CLOSED, IDLE, WRITING, PENDING, FINISHING };

static const int k_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGNALS (sizeof k_signals / sizeof k_signals[0])

static atomic_int g_state = CLOSED;
static char g_final[PATH_MAX];
static char g_tmp[PATH_MAX];
static int g_direct; /* a device or FIFO: written in place */
static int g_fd = -1;
static pid_t g_owner;                  /* the process that opened the file */
static const char *volatile g_closing; /* closes the file after the last step */
static volatile sig_atomic_t g_keep;   /* a partial file is worth keeping */
static volatile sig_atomic_t g_write_errno;
static volatile sig_atomic_t g_pending_sig;
static struct sigaction g_old[NSIGNALS];

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "a signal";
    }
}

/* The signal, delivered again with its default action (the process ends
 * as it would have without us; exit status 128 + sig in a shell). */
static void reraise(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

/* Closes the file as a partial one (or removes it when nothing worth
 * keeping was written) and ends the process. Caller owns FINISHING. */
static void finish_interrupted(int sig)
{
    say("\nnotfree: interrupted by ");
    say(sig_name(sig));
    if (g_direct) {
        if (g_keep && g_closing)
            write_all(g_fd, g_closing, strlen(g_closing));
        close(g_fd);
        say("\n");
    } else if (g_keep && !g_write_errno) {
        int bad = g_closing ? write_all(g_fd, g_closing, strlen(g_closing)) : 0;
        close(g_fd);
        if (!bad && rename(g_tmp, g_final) == 0) {
            say(": the benches that finished are in ");
            say(g_final);
            say(g_closing ? " (marked \"partial\": true)\n" : "\n");
        } else {
            unlink(g_tmp);
            say(": could not keep the partial results; nothing written\n");
        }
    } else {
        close(g_fd);
        unlink(g_tmp);
        say(" before any bench finished: no results file written\n");
    }
    reraise(sig);
}

static void on_signal(int sig)
{
    if (getpid() != g_owner) { /* a forked child: the file is its parent's */
        reraise(sig);
        return;
    }
    for (;;) {
        int s = atomic_load(&g_state);
        if (s == IDLE) {
            if (atomic_compare_exchange_strong(&g_state, &s, FINISHING)) {
                finish_interrupted(sig);
                return;
            }
        } else if (s == WRITING) {
            g_pending_sig = sig;
            if (atomic_compare_exchange_strong(&g_state, &s, PENDING))
                return;
        } else if (s == PENDING || s == FINISHING) {
            if (!g_pending_sig)
                g_pending_sig = sig; /* commit re-raises it when done */
            return;
        } else {
            reraise(sig);
            return;
        }
    }
}

static void restore_signals(void)
{
    for (size_t i = 0; i < NSIGNALS; i++)
        sigaction(k_signals[i], &g_old[i], NULL);
}

/* Another thread's handler owns the file and is ending the process. */
static void wait_for_the_end(void)
{
    for (;;)
        pause();
}

/* Splits path into directory and base name (no allocation). */
static void split_path(const char *path, char *dir, size_t dircap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dircap, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dircap, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dircap, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

/* Stale temporaries in dir: ".<base>.<pid>.tmp" (any base when base is
 * NULL) whose pid is no longer a process. */
static int clean_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        if (n[0] != '.' || len < 7 || strcmp(n + len - 4, ".tmp") != 0)
            continue;
        const char *p = n + len - 4; /* the ".tmp" */
        const char *q = p;
        while (q > n && q[-1] >= '0' && q[-1] <= '9')
            q--;
        if (q == p || q - 1 <= n || q[-1] != '.')
            continue;
        if (base && ((size_t)(q - 1 - (n + 1)) != strlen(base) || strncmp(n + 1, base, strlen(base)) != 0))
            continue;
        long pid = strtol(q, NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), n, 0) == 0) {
            fprintf(stderr, "notfree: removed %s/%s, left by a run that was killed (pid %ld)\n", dir, n, pid);
            removed++;
        }
    }
    closedir(d);
    return removed;
}

int nf_outfile_clean_stale(const char *dir) { return clean_stale(dir, NULL); }

static int start(const char *final_path, int fd);

int nf_outfile_open(const char *final_path, char *err, size_t errlen)
{
    if (atomic_load(&g_state) != CLOSED) {
        snprintf(err, errlen, "cannot write %s: another output file is open", final_path);
        return -1;
    }
    struct stat st;
    int exists = stat(final_path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot write %s: %s", final_path, strerror(EISDIR));
        return -1;
    }
    /* A device or FIFO (/dev/stdout) is written in place: a rename would
     * replace it. A symlink to a file is followed, as a plain open would. */
    g_direct = exists && !S_ISREG(st.st_mode);
    char resolved[PATH_MAX];
    if (exists && !g_direct && realpath(final_path, resolved))
        final_path = resolved;
    if (g_direct) {
        int fd = open(final_path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || strlen(final_path) >= sizeof g_final) {
            snprintf(err, errlen, "cannot write %s: %s", final_path, strerror(fd < 0 ? errno : ENAMETOOLONG));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        g_tmp[0] = '\0';
        return start(final_path, fd);
    }
    char dir[PATH_MAX];
    const char *base;
    split_path(final_path, dir, sizeof dir, &base);
    if (!*base) {
        snprintf(err, errlen, "cannot write %s: %s", final_path, strerror(EISDIR));
        return -1;
    }
    if (strlen(final_path) >= sizeof g_final ||
        (size_t)snprintf(g_tmp, sizeof g_tmp, "%s/.%s.%ld.tmp", dir, base, (long)getpid()) >= sizeof g_tmp) {
        snprintf(err, errlen, "cannot write %s: %s", final_path, strerror(ENAMETOOLONG));
        return -1;
    }
    clean_stale(dir, base);
    int fd = open(g_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", final_path, strerror(errno));
        return -1;
    }
    return start(final_path, fd);
}

/* The file is open: take the signals. */
static int start(const char *final_path, int fd)
{
    snprintf(g_final, sizeof g_final, "%s", final_path);
    g_fd = fd;
    g_owner = getpid();
    g_closing = NULL;
    g_keep = 0;
    g_write_errno = 0;
    g_pending_sig = 0;
    atomic_store(&g_state, IDLE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGNALS; i++)
        sigaddset(&sa.sa_mask, k_signals[i]);
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < NSIGNALS; i++) {
        sigaction(k_signals[i], NULL, &g_old[i]);
        /* An ignored signal stays ignored (nohup, a background job). */
        if (g_old[i].sa_handler != SIG_IGN)
            sigaction(k_signals[i], &sa, NULL);
    }
    return 0;
}

int nf_outfile_write(const char *buf, size_t n, const char *closing, int keep)
{
    int s = IDLE;
    if (!atomic_compare_exchange_strong(&g_state, &s, WRITING)) {
        if (s == FINISHING)
            wait_for_the_end();
        return -1;
    }
    if (!g_write_errno) {
        int e = write_all(g_fd, buf, n);
        if (e)
            g_write_errno = e;
    }
    g_closing = closing;
    g_keep = keep;
    s = WRITING;
    if (!atomic_compare_exchange_strong(&g_state, &s, IDLE)) {
        /* PENDING: a signal came during the step; it is whole now. */
        atomic_store(&g_state, FINISHING);
        finish_interrupted(g_pending_sig);
    }
    return g_write_errno ? -1 : 0;
}

/* Takes the file for commit or discard; 0 when it was open. */
static int take(void)
{
    int s = IDLE;
    if (atomic_compare_exchange_strong(&g_state, &s, FINISHING))
        return 0;
    if (s == FINISHING)
        wait_for_the_end();
    return -1;
}

/* Gives the signals back, then delivers one that came while we held the
 * file (the file is settled by then). */
static void release(void)
{
    close(g_fd);
    g_fd = -1;
    restore_signals();
    atomic_store(&g_state, CLOSED);
    int sig = g_pending_sig;
    g_pending_sig = 0;
    if (sig)
        raise(sig);
}

int nf_outfile_commit(char *err, size_t errlen)
{
    if (take() != 0) {
        snprintf(err, errlen, "no output file is open");
        return -1;
    }
    int e = g_write_errno;
    if (!e && fsync(g_fd) != 0 && errno != EINVAL)
        e = errno;
    if (!e && !g_direct && rename(g_tmp, g_final) != 0)
        e = errno;
    if (e) {
        if (!g_direct)
            unlink(g_tmp);
        snprintf(err, errlen, "cannot write %s: %s", g_final, strerror(e));
    }
    release();
    return e ? -1 : 0;
}

void nf_outfile_discard(void)
{
    if (take() != 0)
        return;
    if (!g_direct)
        unlink(g_tmp);
    release();
}
