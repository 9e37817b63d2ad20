/* check/check.h: the parent side of the battery: running probes under an
 * allocator (run.c), turning what a probe said and how it ended into a
 * cell (classify.c), the expected cells (expected.c) and the scorecard
 * (report.c). probe.h has the glossary. */
#ifndef NF_CHECK_CHECK_H
#define NF_CHECK_CHECK_H

#include <stdio.h>

#include "probe.h"

/* What the markers of one run said (classify.c parses them line by line). */
typedef struct nf_probe_trace {
    char last_call[256]; /* the last call or bad marker's text */
    char bad[256];       /* the bad marker's text */
    int bad_seen, done_seen;
    int has_result;
    char result[512]; /* "CELL DETAIL" */
} nf_probe_trace;

void nf_probe_trace_line(nf_probe_trace *t, const char *line);
/* The first non-empty line of s, without its newline. */
void nf_check_first_line(const char *s, char *out, size_t len);

typedef struct nf_check_outcome {
    nf_cell cell;
    char detail[512];   /* what was wrong, where it stopped, the message's first line */
    char message[1024]; /* the child's stderr, trimmed */
    char pointer[32];   /* the pointer the bad marker named, or "" */
    int status;         /* wait status; -1 when not started */
    double seconds;
} nf_check_outcome;

/* The cell for probe p from its trace, its wait status, whether it was
 * killed at the timeout and its stderr. */
void nf_check_classify(const nf_probe *p, const nf_probe_trace *t, int status, int timed_out, double timeout_s,
                       const char *err, nf_check_outcome *o);

/* ---- run.c ---- */
typedef struct nf_check_job {
    const nf_probe *probe;
    const char *preload; /* LD_PRELOAD, or NULL (glibc) */
    nf_check_outcome out;
} nf_check_job;

typedef struct nf_check_plan {
    const char *probe_exe; /* notfree-probe */
    double timeout_s;      /* per probe; past it: hang */
    unsigned parallel;     /* probes running at once */
    /* In the child before exec: the environment for preload (notfree
     * compare's nf_cmp_child_env). */
    void (*child_env)(const char *preload);
} nf_check_plan;

/* Runs every job, pl->parallel at a time. 0, or -1 when a process could
 * not be started (errno). */
int nf_check_run(const nf_check_plan *pl, nf_check_job *jobs, size_t n);

/* ---- expected.c: check/expected.tsv, `probe<TAB>allocator<TAB>cell` ---- */
typedef struct nf_check_expect {
    char probe[64], alloc[64];
    unsigned cells; /* bit c set: cell c expected */
} nf_check_expect;

/* Loads path into a malloc'd array (*out, *n). -1 with a reason in why
 * (the file, the line) when it cannot be read or a line is malformed. */
int nf_check_expect_load(const char *path, nf_check_expect **out, size_t *n, char *why, size_t len);
/* The expected cells of (probe, alloc) as a mask (1 << cell), 0 when none. */
unsigned nf_check_expect_find(const nf_check_expect *e, size_t n, const char *probe, const char *alloc);

/* ---- report.c ---- */
typedef struct nf_check_column {
    const char *name;                     /* allocator */
    const char *path, *package, *version; /* for the JSON context ("" when unknown) */
    int preload;
} nf_check_column;

/* cells[probe index * ncols + col] for the probes rows[0..nrows). */
typedef struct nf_check_card {
    const nf_probe *const *rows;
    size_t nrows;
    const nf_check_column *cols;
    size_t ncols;
    const nf_check_outcome *cells;
    double timeout_s;
} nf_check_card;

void nf_check_table(FILE *f, const nf_check_card *c, int color);
void nf_check_expected_format(FILE *f, const nf_check_card *c);
int nf_check_write_json(const char *path, const nf_check_card *c);

#endif
