/* cli/cmd_trace_record.c: `notfree trace record --out FILE -- PROGRAM
 * [ARGS...]`: PROGRAM runs with libnotfree-trace.so preloaded and
 * NOTFREE_TRACE_DIR set to a fresh temporary directory, where every
 * process image it starts writes its raw recording (trace/raw.h); then
 * one image's recording (--process) becomes FILE and the directory goes.
 * PROGRAM's stdin, stdout and stderr are its own. */
#include "commands.h"
#include "cmd_trace.h"
#include "compare.h"

#include "notfree/clock.h"
#include "notfree/trace.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct image {
    char path[PATH_MAX + 256];
    nf_trace_raw_info info;
} image;

/* Is prog runnable (a path, or a name on PATH)? */
static int runnable(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    char dirs[8192], full[PATH_MAX];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *s = dirs, *save = NULL, *d; (d = strtok_r(s, ":", &save)); s = NULL) {
        snprintf(full, sizeof full, "%s/%s", d, prog);
        if (access(full, X_OK) == 0)
            return 1;
    }
    return 0;
}

static int dir_writable(const char *file)
{
    char dir[PATH_MAX];
    nf_cli_parent_dir(file, dir, sizeof dir);
    return access(dir, W_OK) == 0;
}

/* Runs argv with the recorder; the exit status (-1: could not run). */
static int run_recorded(char **argv, const char *lib, const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char pre[PATH_MAX * 2];
        const char *old = getenv("LD_PRELOAD");
        snprintf(pre, sizeof pre, "%s%s%s", lib, old && old[0] ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", pre, 1);
        setenv("NOTFREE_TRACE_DIR", dir, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "notfree trace: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

/* The raw files in dir, with their headers; *n of them (malloc'd). */
static image *list_images(const char *dir, unsigned *n)
{
    DIR *d = opendir(dir);
    image *im = NULL;
    unsigned k = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strstr(e->d_name, ".raw"))
            continue;
        if (k == cap) {
            image *ni = realloc(im, (cap = cap ? 2 * cap : 16) * sizeof *im);
            if (!ni)
                break;
            im = ni;
        }
        char err[256];
        if (snprintf(im[k].path, sizeof im[k].path, "%s/%.255s", dir, e->d_name) >= (int)sizeof im[k].path)
            continue;
        if (nf_trace_raw_info_read(im[k].path, &im[k].info, err, sizeof err) == 0)
            k++;
    }
    if (d)
        closedir(d);
    *n = k;
    return im;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX + 256];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The image to keep: main is the program itself (its pid's first image),
 * largest the one with the most calls. */
static int choose(const image *im, unsigned n, int main_pid, int largest)
{
    int best = -1;
    for (unsigned k = 0; k < n; k++) {
        if (largest ? best < 0 || im[k].info.calls > im[best].info.calls
                    : im[k].info.pid == main_pid && (best < 0 || im[k].info.start_ns < im[best].info.start_ns))
            best = (int)k;
    }
    return best;
}

static int convert(const image *im, const char *out, double t0)
{
    nf_trace *t = NULL;
    nf_trace_convert_notes notes;
    char err[512];
    if (im->info.calls > 2000000)
        fprintf(stderr, "notfree trace: converting %llu calls ...\n", (unsigned long long)im->info.calls);
    if (nf_trace_raw_convert(im->path, &t, &notes, err, sizeof err) != 0) {
        fprintf(stderr, "notfree trace: %s\n", err);
        return 1;
    }
    if (nf_trace_save(t, out) != 0) {
        fprintf(stderr, "notfree trace: cannot write %s: %s\n", out, strerror(errno));
        nf_trace_free(t);
        return 1;
    }
    char buf[32];
    struct stat st;
    uint64_t bytes = stat(out, &st) == 0 ? (uint64_t)st.st_size : 0;
    fprintf(stderr, "notfree trace: %s: %llu events of %s, %u threads, %s (%.2f bytes per event), in %.1f s\n", out,
            (unsigned long long)t->nevents, t->command, t->nthreads, nf_trace_fmt_bytes(buf, sizeof buf, bytes),
            t->nevents ? (double)bytes / (double)t->nevents : 0, nf_now_s() - t0);
    if (notes.unmatched_frees || notes.unmatched_reallocs || notes.reborn || notes.truncated)
        fprintf(stderr,
                "notfree trace: note: %llu frees and %llu reallocs of blocks born before the recording "
                "(dropped; reallocs kept as realloc(NULL, n)), %llu addresses born while live%s\n",
                (unsigned long long)notes.unmatched_frees, (unsigned long long)notes.unmatched_reallocs,
                (unsigned long long)notes.reborn,
                notes.truncated ? "; the recording ended early (a write failed)" : "");
    nf_trace_free(t);
    return 0;
}

int nf_trace_record_main(int argc, char **argv)
{
    const char *out = NULL;
    int largest = 1, i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--out") && v) {
            out = v, i++;
        } else if (!strcmp(a, "--process") && v && (!strcmp(v, "largest") || !strcmp(v, "main"))) {
            largest = !strcmp(v, "largest"), i++;
        } else if (a[0] == '-') {
            return nf_trace_bad("record: bad or incomplete flag '%s'", a);
        } else {
            break;
        }
    }
    if (!out)
        return nf_trace_bad("record: --out FILE is required");
    if (i >= argc)
        return nf_trace_bad("record: which PROGRAM? (notfree trace record --out FILE -- PROGRAM [ARGS...])");
    if (!dir_writable(out))
        return nf_trace_bad("record: --out %s: its directory is missing or not writable", out);
    if (!runnable(argv[i]))
        return nf_trace_bad("record: %s: no such program (not a path, not on PATH, or not executable)", argv[i]);
    char lib[PATH_MAX];
    const char *env = getenv("NOTFREE_TRACE_LIB");
    if (env && env[0])
        snprintf(lib, sizeof lib, "%s", env);
    else if (nf_cmp_locate_library("libnotfree-trace.so", "trace", lib, sizeof lib) != 0) {
        fprintf(stderr,
                "notfree trace: the recorder %s is missing: build it with ninja (sanitized builds have "
                "none: a sanitizer runtime must come first in a process)\n",
                lib);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/notfree-trace.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "notfree trace: cannot make a directory in %s: %s\n", tmp && tmp[0] ? tmp : "/tmp",
                strerror(errno));
        return 1;
    }
    double t0 = nf_now_s();
    int st = run_recorded(argv + i, lib, dir);
    double t1 = nf_now_s();
    unsigned n = 0;
    image *im = list_images(dir, &n);
    if (st == -1 || (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !n)) {
        remove_dir(dir);
        free(im);
        return st == -1 ? 1 : nf_trace_bad("record: %s could not be run", argv[i]);
    }
    if (WIFSIGNALED(st))
        fprintf(stderr, "notfree trace: %s was killed by signal %d: what it had not written is lost\n", argv[i],
                WTERMSIG(st));
    else if (WEXITSTATUS(st))
        fprintf(stderr, "notfree trace: %s exited with status %d (its trace is kept)\n", argv[i], WEXITSTATUS(st));
    fprintf(stderr, "notfree trace: %s ran %.2f s recorded; %u process image(s) made calls\n", argv[i], t1 - t0, n);
    int best = choose(im, n, 0, 1);
    if (!largest && n) {
        /* main: the pid the program started with is the first image's */
        unsigned first = 0;
        for (unsigned k = 1; k < n; k++)
            if (im[k].info.start_ns < im[first].info.start_ns)
                first = k;
        best = choose(im, n, im[first].info.pid, 0);
    }
    int rc = 1;
    if (best < 0) {
        fprintf(stderr, "notfree trace: no process recorded any call (a static program, or one that never"
                        " allocates?)\n");
    } else {
        for (unsigned k = 0; k < n; k++)
            if ((int)k != best && im[k].info.calls)
                fprintf(stderr, "  also: pid %d, %llu calls: %.100s\n", im[k].info.pid,
                        (unsigned long long)im[k].info.calls, im[k].info.command);
        rc = convert(&im[best], out, t1);
    }
    free(im);
    remove_dir(dir);
    return rc;
}
