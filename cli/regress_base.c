/* cli/regress_base.c: the base side of `notfree regress --base REV`: REV
 * checked out as a git worktree and built with meson, both under
 * <source>/build/regress/<sha>/ (src/ and build/), kept for the next run:
 * a base that has been built once costs nothing more. */
#include "regress.h"

#include "notfree/resultfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv (found in PATH) with stdout into out (NULL: the log), stderr
 * into the log (NULL: /dev/null). Returns the exit status, or 127. */
static int run(char *const argv[], char *out, size_t cap, const char *log)
{
    int pfd[2] = {-1, -1};
    if (out && pipe(pfd) != 0)
        return 127;
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            if (!out)
                dup2(fd, 1);
            close(fd);
        }
        if (out) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (out) {
        close(pfd[1]);
        size_t n = 0;
        ssize_t r;
        while (n + 1 < cap && (r = read(pfd[0], out + n, cap - 1 - n)) > 0)
            n += (size_t)r;
        out[n] = '\0';
        out[strcspn(out, "\n")] = '\0';
        close(pfd[0]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

int nf_regress_build_base(const char *source_dir, const char *rev, nf_ab_side *side, char *err, size_t cap)
{
    char spec[300], sha[128];
    snprintf(spec, sizeof spec, "%s^{commit}", rev);
    char *rp[] = {"git", "-C", (char *)source_dir, "rev-parse", "--verify", "--quiet", spec, NULL};
    if (run(rp, sha, sizeof sha, NULL) != 0 || strlen(sha) < 7) {
        snprintf(err, cap, "--base '%s': not a revision of the repository at %s", rev, source_dir);
        return -1;
    }
    char dir[PATH_MAX], src[PATH_MAX + 8], build[PATH_MAX + 8], log[PATH_MAX + 16], done[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/build/regress/%.12s", source_dir, sha);
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(build, sizeof build, "%s/build", dir);
    snprintf(log, sizeof log, "%s/build.log", dir);
    snprintf(done, sizeof done, "%s/built", dir);
    if (strlen(build) + sizeof "/notfree" > sizeof side->notfree) {
        snprintf(err, cap, "the source path %s is too long", source_dir);
        return -1;
    }
    snprintf(side->notfree, sizeof side->notfree, "%.*s/notfree", (int)(sizeof side->notfree - 16), build);
    snprintf(side->rev, sizeof side->rev, "%.12s", sha);
    if (exists(done) && access(side->notfree, X_OK) == 0) {
        fprintf(stderr, "notfree regress: base %.12s: reusing %s\n", sha, build);
        return 0;
    }
    if (nf_mkdir_p(dir) != 0) {
        snprintf(err, cap, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    fprintf(stderr, "notfree regress: base %.12s: building in %s (log: %s)\n", sha, dir, log);
    if (!exists(src)) {
        char *wt[] = {"git", "-C", (char *)source_dir, "worktree", "add", "--detach", "--force", src, sha, NULL};
        if (run(wt, NULL, 0, log) != 0) {
            snprintf(err, cap, "git worktree add %s %.12s failed (see %s)", src, sha, log);
            return -1;
        }
    }
    char ninja_file[PATH_MAX + 32];
    snprintf(ninja_file, sizeof ninja_file, "%s/build.ninja", build);
    if (!exists(ninja_file)) {
        char *ms[] = {"meson", "setup", "--buildtype=release", build, src, NULL};
        if (run(ms, NULL, 0, log) != 0) {
            snprintf(err, cap, "meson setup of the base %.12s failed (see %s)", sha, log);
            return -1;
        }
    }
    char *nj[] = {"ninja", "-C", build, NULL};
    if (run(nj, NULL, 0, log) != 0 || access(side->notfree, X_OK) != 0) {
        snprintf(err, cap, "building the base %.12s failed (see %s)", sha, log);
        return -1;
    }
    int fd = open(done, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0)
        close(fd);
    return 0;
}
