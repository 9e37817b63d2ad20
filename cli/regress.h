/* cli/regress.h: `notfree regress`: two sides (two builds of notfree, or
 * two allocator libraries) run alternately, each run its own `notfree
 * compare` or `notfree bench` process, their samples merged per side and
 * judged by `notfree diff`'s rules.
 *
 * Invariant: after nf_ab_run, side[i].compare is NULL or a compare
 * document {context, runs} holding every run of every round of side i
 * (rep = the round), and side[i].bench NULL or a bench document {context,
 * benchmarks} with one iteration entry per bench per round
 * (repetition_index = the round). */
#ifndef NOTFREE_CLI_REGRESS_H
#define NOTFREE_CLI_REGRESS_H

#include "notfree/json.h"

#include <limits.h>
#include <stdbool.h>

typedef struct nf_ab_side {
    char label[64];          /* "base" / "head", or the NAME of --a / --b */
    char notfree[PATH_MAX];  /* the notfree program this side runs */
    char allocators[1024];   /* --allocators of its compare runs */
    char rev[64];            /* the git revision, "" when not a build of one */
    json_t *compare, *bench; /* merged documents (owned), NULL: none yet */
    unsigned runs, failed;   /* processes run, and those that failed */
    double seconds;          /* wall time of its processes */
} nf_ab_side;

typedef struct nf_ab_plan {
    unsigned reps;
    const char *workloads; /* NULL: no compare runs */
    const char *threads;
    const char *scale;
    const char *benches; /* NULL: no bench runs, else a --benchmark_filter */
    const char *bench_min_time;
    const char *timeout;
    const char *tmpdir; /* where each run's JSON and log go */
} nf_ab_plan;

/* Rounds 1..reps; in round r the sides run in the order (0, 1) when r is
 * odd, (1, 0) when even, so neither side always runs first. Progress on
 * stderr. Returns 0, or -1 with the reason (a side's notfree refused its
 * flags: exit 2, or every run of a side failed). */
int nf_ab_run(const nf_ab_plan *p, nf_ab_side side[2], char *err, size_t cap);

/* `--base REV`: makes build/regress/<sha>/ under the source tree (a git
 * worktree of REV in src/, a meson build in build/), reused when present,
 * and writes its notfree's path into side. Returns 0, or -1 with the
 * reason. Build output goes to build/regress/<sha>/build.log. */
int nf_regress_build_base(const char *source_dir, const char *rev, nf_ab_side *side, char *err, size_t cap);

#endif
