/* cli/regress_ab.c: the interleaved A/B runner of `notfree regress`. Each
 * sample is its own process of the side's own notfree (`compare --reps 1`,
 * `bench --benchmark_repetitions=1`), so nothing of one run warms the
 * next, and the code under test (an allocator, a bench, the kernel model)
 * is the one that side built: nothing here links compare or bench code. */
#include "regress.h"

#include "notfree/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv with stdout and stderr into log; returns its exit status, 127
 * when it could not start, 128 + signal when killed. */
static int run_logged(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The line of a log that says what went wrong: the first of notfree's own
 * error lines ("notfree <cmd>: ..."), else the last line. */
static void last_line(const char *log, char *buf, size_t cap)
{
    FILE *f = fopen(log, "r");
    buf[0] = '\0';
    if (!f)
        return;
    char line[1024];
    bool own = false;
    while (fgets(line, sizeof line, f) && !own) {
        own = !strncmp(line, "notfree ", 8) && strstr(line, ": ");
        if (line[0] != '\n')
            snprintf(buf, cap, "%.*s", (int)(cap ? cap - 1 : 0), line);
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* Appends the runs (or iteration entries) of the file at path to the
 * side's merged document of that kind, numbered by round. */
static int merge(json_t **doc, const char *path, const char *array, unsigned round)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    json_t *items = j ? json_object_get(j, array) : NULL;
    if (!json_is_array(items)) {
        json_decref(j);
        return -1;
    }
    if (!*doc) {
        *doc = json_object();
        json_object_set(*doc, "context", json_object_get(j, "context"));
        json_object_set_new(*doc, array, json_array());
    }
    json_t *all = json_object_get(*doc, array);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(array, "runs")) {
            json_object_set_new(it, "rep", json_integer(round));
        } else {
            const char *t = json_string_value(json_object_get(it, "run_type"));
            if (t && strcmp(t, "iteration") != 0)
                continue;
            json_object_set_new(it, "repetition_index", json_integer(round));
        }
        json_array_append(all, it);
    }
    json_decref(j);
    return 0;
}

/* One process of one side in one round. Returns 0, 1 for a failed run
 * (its samples are missing, the rounds go on), -1 when the side's notfree
 * refused the flags (exit 2: no round can work). */
static int one(const nf_ab_plan *p, nf_ab_side *s, int si, unsigned round, bool bench, char *err, size_t cap)
{
    char out[PATH_MAX], log[PATH_MAX], flag_out[PATH_MAX + 32], flag_filter[1024], flag_min[64];
    snprintf(out, sizeof out, "%s/%c-%u-%s.json", p->tmpdir, 'a' + si, round, bench ? "bench" : "compare");
    snprintf(log, sizeof log, "%s/%c-%u-%s.log", p->tmpdir, 'a' + si, round, bench ? "bench" : "compare");
    char *argv[24];
    int n = 0;
    argv[n++] = s->notfree;
    if (bench) {
        snprintf(flag_out, sizeof flag_out, "--benchmark_out=%s", out);
        snprintf(flag_filter, sizeof flag_filter, "--benchmark_filter=%s", p->benches);
        snprintf(flag_min, sizeof flag_min, "--benchmark_min_time=%s", p->bench_min_time);
        char *b[] = {"bench", flag_filter, "--benchmark_repetitions=1", flag_out, "--benchmark_out_format=json",
                     flag_min};
        for (size_t k = 0; k < sizeof b / sizeof *b; k++)
            argv[n++] = b[k];
    } else {
        char *c[] = {"compare",        "--allocators",     s->allocators,      "--workloads", (char *)p->workloads,
                     "--threads",      (char *)p->threads, "--reps",           "1",           "--scale",
                     (char *)p->scale, "--timeout",        (char *)p->timeout, "--out",       out,
                     "--no-plots"};
        for (size_t k = 0; k < sizeof c / sizeof *c; k++)
            argv[n++] = c[k];
    }
    argv[n] = NULL;
    double t0 = nf_now_s();
    int rc = run_logged(argv, log);
    double dt = nf_now_s() - t0;
    s->seconds += dt;
    s->runs++;
    char why[512];
    last_line(log, why, sizeof why);
    if (rc == 2 || rc == 127) {
        snprintf(err, cap, "%s side: `%s %s` refused (exit %d): %s (log: %s)", s->label, s->notfree, argv[1], rc, why,
                 log);
        return -1;
    }
    int m = merge(bench ? &s->bench : &s->compare, out, bench ? "benchmarks" : "runs", round);
    fprintf(stderr, "  round %u %-10s %-7s %5.1f s  %s\n", round, s->label, argv[1], dt,
            rc == 0 && m == 0 ? "ok" : "FAILED (see the log)");
    if (rc != 0 || m != 0) {
        s->failed++;
        fprintf(stderr, "    exit %d: %s (log: %s)\n", rc, why, log);
        return 1;
    }
    return 0;
}

int nf_ab_run(const nf_ab_plan *p, nf_ab_side side[2], char *err, size_t cap)
{
    for (unsigned r = 1; r <= p->reps; r++) {
        int order[2] = {r % 2 ? 0 : 1, r % 2 ? 1 : 0};
        for (int k = 0; k < 2; k++) {
            int si = order[k];
            if (p->workloads && one(p, &side[si], si, r, false, err, cap) < 0)
                return -1;
            if (p->benches && one(p, &side[si], si, r, true, err, cap) < 0)
                return -1;
        }
    }
    for (int i = 0; i < 2; i++)
        if (side[i].failed == side[i].runs) {
            snprintf(err, cap, "every run of the %s side failed (logs in %s)", side[i].label, p->tmpdir);
            return -1;
        }
    return 0;
}
