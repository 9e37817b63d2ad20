/* compare/session.c: the runs of a planned comparison.
 *
 * Order: repetition, then workload, then thread count, then allocator
 * innermost, so the allocators take turns (A B C A B C ...) and drift on a
 * noisy box hits all alike. The first repetition of each (allocator,
 * workload, threads) is followed by its counting run (syscalls.c) and its
 * verification run (worker --verify: every byte of every block checked),
 * both untimed. The JSON is rewritten after every run. */
#include "compare.h"

#include "notfree/clock.h"

#include <errno.h>
#include <string.h>

static void fmt_duration(double s, char *buf, size_t len)
{
    if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, len, "%.0fs", s);
}

/* The verification run of rec's triple, untimed: every byte checked; its
 * RSS sampled unless the timed runs are (--timeline). */
static void verify(const nf_cmp_session *s, const nf_cmp_job *job, nf_cmp_record *rec)
{
    nf_cmp_job v = *job;
    v.verify = 1;
    v.latency_every = 0;
    v.timeline = s->timeline ? NULL : &rec->timeline;
    rec->sampled |= !s->timeline;
    rec->verified = 1;
    if (nf_cmp_run(&v, &rec->verify) != 0 && !rec->verify.error[0])
        snprintf(rec->verify.error, sizeof rec->verify.error, "cannot start the worker: %s", strerror(errno));
}

/* The counting run of rec's triple, untimed. */
static void count(nf_cmp_session *s, const nf_cmp_job *job, nf_cmp_record *rec)
{
    char *cargv[16], bufs[3][64], line[256], err[256];
    nf_cmp_job c = *job;
    c.latency_every = 0; /* the counter counts system calls; latencies are the timed runs' */
    c.timeline = NULL;
    nf_cmp_argv(&c, cargv, 16, bufs);
    int rc = nf_cmp_count_syscalls(cargv, job->alloc->preload ? job->alloc->path : NULL, job->timeout_s, rec->syscalls,
                                   line, sizeof line, err, sizeof err);
    nf_cmp_result cr = {0};
    unsigned long long corrupt, fails;
    int mapped;
    if (rc == 0 && nf_cmp_parse_line(line, &cr, &corrupt, &fails, &mapped) == 7) {
        rec->counted = 1;
        rec->count_ops = cr.ops;
    } else if (!s->count_error[0]) {
        snprintf(s->count_error, sizeof s->count_error, "%s %s %u: %.150s", job->alloc->name, job->workload,
                 job->threads, rc ? err : "no result line from the worker");
    }
}

/* A triple whose verification run failed has no valid run: rec (one of
 * its runs) is not ok, with the verification's error. */
static void apply_verification(const nf_cmp_session *s, nf_cmp_record *rec)
{
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *v = &s->recs[i];
        if (!v->verified || v->verify.ok || v->alloc != rec->alloc || v->workload != rec->workload ||
            v->threads != rec->threads || !rec->r.ok)
            continue;
        rec->r.ok = 0;
        rec->r.ops_per_s = 0;
        snprintf(rec->r.error, sizeof rec->r.error, "verification run: %.480s", v->verify.error);
    }
}

int nf_cmp_session_run(nf_cmp_plan *p)
{
    nf_cmp_session *s = &p->s;
    unsigned nw = s->nworkloads, nt = s->nthreads, reps = s->reps;
    unsigned ntimed = p->navail * nw * nt * reps, ncount = p->navail * nw * nt, total = ntimed + 2 * ncount, done = 0;
    fprintf(stderr,
            "notfree compare: %u allocators, %u workloads, %u thread counts, %u reps: %u runs + %u counting"
            " and %u verification runs -> %s\n",
            p->navail, nw, nt, reps, ntimed, ncount, ncount, p->path);
    if (nf_cmp_write_json(p->path, s) != 0)
        return -1;
    int failed = 0;
    double t0 = nf_now_s();
    for (unsigned rep = 0; rep < reps; rep++)
        for (unsigned w = 0; w < nw; w++)
            for (unsigned t = 0; t < nt; t++)
                for (unsigned a = 0; a < s->nallocs; a++) {
                    const nf_cmp_alloc *al = &s->allocs[a];
                    if (!al->available)
                        continue;
                    nf_cmp_record *rec = &s->recs[s->nrecs];
                    *rec = (nf_cmp_record){
                        .alloc = a, .workload = w, .threads = s->threads[t], .rep = rep, .sampled = s->timeline};
                    nf_cmp_job job = {p->worker,
                                      al,
                                      s->workloads[w],
                                      s->threads[t],
                                      s->ops[w],
                                      s->timeout_s,
                                      0,
                                      s->timeline ? &rec->timeline : NULL,
                                      s->latency_every,
                                      s->trace && w == nw - 1 ? s->trace : NULL};
                    if (nf_cmp_run(&job, &rec->r) != 0 && !rec->r.error[0])
                        snprintf(rec->r.error, sizeof rec->r.error, "cannot start the worker: %s", strerror(errno));
                    s->nrecs++;
                    done++;
                    char note[160] = "";
                    if (rep == 0) {
                        count(s, &job, rec);
                        done++;
                        verify(s, &job, rec);
                        done++;
                        snprintf(note, sizeof note, "; counted: %s; verified: %s", rec->counted ? "yes" : "no",
                                 rec->verify.ok ? "yes" : "FAILED");
                    }
                    apply_verification(s, rec);
                    failed |= !rec->r.ok;
                    if (nf_cmp_write_json(p->path, s) != 0)
                        fprintf(stderr, "notfree compare: cannot write %s: %s\n", p->path, strerror(errno));
                    double el = nf_now_s() - t0;
                    char left[32];
                    fmt_duration(el / done * (total - done), left, sizeof left);
                    if (rec->r.ok)
                        fprintf(stderr, "[%u/%u] %-9s %-17s t=%u rep %u/%u: %7.2f Mops/s, %5.2f s%s%s; ~%s left\n",
                                done, total, al->name, s->workloads[w], s->threads[t], rep + 1, reps,
                                rec->r.ops_per_s / 1e6, rec->r.wall_s, rec->r.disturbed ? " (steal!)" : "", note, left);
                    else
                        fprintf(stderr, "[%u/%u] %-9s %-17s t=%u rep %u/%u: FAILED: %s%s; ~%s left\n", done, total,
                                al->name, s->workloads[w], s->threads[t], rep + 1, reps, rec->r.error, note, left);
                }
    return failed ? 1 : 0;
}
