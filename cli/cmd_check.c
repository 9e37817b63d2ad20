/* cli/cmd_check.c: `notfree check`, the misuse and conformance scorecard:
 * parse the flags, resolve the allocators (compare's resolution, then a
 * probe under each preload to prove it loads and owns malloc), run the
 * battery (check/), report the table, the expected-file format or the
 * JSON, and compare with expected cells when asked. */
#include "commands.h"

#include "check.h"
#include "compare.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nf_cmd_check_help(FILE *f)
{
    fprintf(f, "usage: notfree check [--allocators LIST] [--probes LIST] [--json FILE]\n"
               "                     [--format table|expected] [--expect FILE] [--timeout SEC] [--jobs N] [--list]\n\n"
               "Runs a battery of small probes, each in its own process under the allocator\n"
               "(preloaded as `notfree compare` does; glibc with no preload), and prints a\n"
               "scorecard: probes as rows, allocators as columns.\n\n"
               "  --allocators LIST  comma-separated: glibc jemalloc mimalloc tcmalloc bins slab\n"
               "                     shard, or NAME=/path/to/lib.so (default: every one\n"
               "                     available; those missing are named on stderr)\n"
               "  --probes LIST      probe names, or `api` / `misuse` for a family (default: all)\n"
               "  --json FILE        the scorecard with its context and every cell's detail and\n"
               "                     message\n"
               "  --format expected  print `probe<TAB>allocator<TAB>cell` lines (the format of\n"
               "                     check/expected.tsv) instead of the table\n"
               "  --expect FILE      compare every cell with FILE; exit 1 on a difference\n"
               "  --timeout SEC      per probe, past it the cell is `hang` (default 10)\n"
               "  --jobs N           probes running at once (default twice the CPUs)\n"
               "  --list             the probes, and exit\n\n"
               "Cells:\n"
               "  correct   the API edge case behaved as C17/POSIX.1-2024 say\n"
               "  wrong     it did not (the `why` lines say what)\n"
               "  detected  aborted with a message at the bad call\n"
               "  late      aborted at a later call (for a bad write the earliest possible)\n"
               "  silent    nothing happened\n"
               "  corrupt   two live blocks overlap, or an address the program chose came back\n"
               "  crash     died (SIGSEGV, SIGBUS, ...) without a message; or an API probe died\n"
               "  hang      did not end within the timeout\n\n"
               "Exit: 0 the scorecard was made; 1 a cell differs from --expect; 2 bad flags, or\n"
               "an allocator named that is missing or does not load (with the reason).\n");
}

typedef struct opts {
    const char *allocators, *probes, *json, *expect;
    int expected_format, list;
    double timeout_s;
    unsigned jobs;
} opts;

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "notfree check: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see notfree check --help)\n");
    return 2;
}

static int parse(int argc, char **argv, opts *o)
{
    o->timeout_s = 10;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = ncpu > 0 ? (unsigned)(2 * ncpu) : 2;
    if (o->jobs > 32)
        o->jobs = 32;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
        char name[32];
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof name)
            return bad("unknown flag '%s'", a);
        memcpy(name, a, n);
        name[n] = '\0';
        if (!strcmp(name, "--list")) {
            if (eq)
                return bad("--list takes no value: '%s'", a);
            o->list = 1;
            continue;
        }
        const char **str = !strcmp(name, "--allocators") ? &o->allocators
                           : !strcmp(name, "--probes")   ? &o->probes
                           : !strcmp(name, "--json")     ? &o->json
                           : !strcmp(name, "--expect")   ? &o->expect
                                                         : NULL;
        int known = str || !strcmp(name, "--format") || !strcmp(name, "--timeout") || !strcmp(name, "--jobs");
        if (!known)
            return bad("unknown flag '%s'", a);
        v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v || !v[0])
            return bad("%s needs a value", name);
        char *end;
        if (str) {
            *str = v;
        } else if (!strcmp(name, "--format")) {
            if (strcmp(v, "table") && strcmp(v, "expected"))
                return bad("--format is `table` or `expected`, not '%s'", v);
            o->expected_format = !strcmp(v, "expected");
        } else if (!strcmp(name, "--timeout")) {
            errno = 0;
            o->timeout_s = strtod(v, &end);
            if (errno || *end || !(o->timeout_s >= 0.1 && o->timeout_s <= 3600))
                return bad("--timeout wants seconds from 0.1 to 3600, not '%s'", v);
        } else {
            errno = 0;
            unsigned long j = strtoul(v, &end, 10);
            if (errno || *end || v[0] == '-' || j < 1 || j > 32)
                return bad("--jobs wants 1 to 32, not '%s'", v);
            o->jobs = (unsigned)j;
        }
    }
    return 0;
}

/* Splits a comma list into items; an empty item (",,", a trailing comma)
 * is an error. Returns the count, or -1. */
static int split(char *s, char **items, int cap)
{
    int n = 0;
    for (char *p = s;; p++) {
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        if (!*p || n == cap)
            return -1;
        items[n++] = p;
        if (!c)
            return n;
        p = c;
    }
}

static int pick_probes(const char *list, const nf_probe **rows, size_t *nrows)
{
    *nrows = 0;
    if (!list) {
        for (size_t i = 0; i < nf_probe_count(); i++)
            rows[(*nrows)++] = nf_probe_at(i);
        return 0;
    }
    char buf[4096], *items[128];
    snprintf(buf, sizeof buf, "%s", list);
    int n = split(buf, items, 128);
    if (n < 0)
        return bad("--probes '%s' has an empty item", list);
    /* In the battery's order, each once. */
    for (size_t i = 0; i < nf_probe_count(); i++) {
        const nf_probe *p = nf_probe_at(i);
        for (int k = 0; k < n; k++)
            if (!strcmp(items[k], p->name) || (!strcmp(items[k], "api") && p->family == NF_PROBE_API) ||
                (!strcmp(items[k], "misuse") && p->family == NF_PROBE_MISUSE)) {
                rows[(*nrows)++] = p;
                break;
            }
    }
    for (int k = 0; k < n; k++)
        if (strcmp(items[k], "api") && strcmp(items[k], "misuse") && !nf_probe_find(items[k]))
            return bad("unknown probe '%s' (notfree check --list names them)", items[k]);
    return 0;
}

/* The allocators to check: compare's resolution, then a probe under each
 * preload. Named ones that are missing or do not load are errors (2);
 * in the default list they are named on stderr and left out. */
static int pick_allocators(const opts *o, const nf_check_plan *pl, nf_cmp_alloc *al, unsigned *nal)
{
    char buf[4096], *items[32];
    int n;
    int named = o->allocators != NULL;
    if (named) {
        snprintf(buf, sizeof buf, "%s", o->allocators);
        n = split(buf, items, 32);
        if (n < 0)
            return bad("--allocators '%s' has an empty item or too many", o->allocators);
    } else {
        n = (int)nf_cmp_nknown;
        for (int k = 0; k < n; k++)
            items[k] = (char *)nf_cmp_known[k];
    }
    *nal = 0;
    for (int k = 0; k < n; k++) {
        nf_cmp_alloc *a = &al[*nal];
        char err[512], why[1024];
        if (nf_cmp_alloc_resolve(items[k], a, err, sizeof err) != 0)
            return bad("%s", err);
        for (unsigned j = 0; j < *nal; j++)
            if (!strcmp(al[j].name, a->name))
                return bad("allocator '%s' named twice", a->name);
        int user = strchr(items[k], '=') != NULL;
        int ok = a->available;
        if (ok && a->preload && nf_cmp_is_malloc(pl->probe_exe, a->path, pl->timeout_s, why, sizeof why) != 0)
            ok = 0;
        else if (!ok && !(user && nf_cmp_is_malloc(pl->probe_exe, a->path, pl->timeout_s, why, sizeof why) != 0))
            snprintf(why, sizeof why, "%.1000s", a->reason); /* else the dynamic linker's reason */
        if (!ok && named) {
            fprintf(stderr, "notfree check: allocator '%s' cannot be checked: %s\n", a->name, why);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "notfree check: not checked: %s: %s\n", a->name, why);
            continue;
        }
        (*nal)++;
    }
    if (*nal == 0) {
        fprintf(stderr, "notfree check: no allocator to check\n");
        return 2;
    }
    return 0;
}

/* Compares the card with the expected file; prints each difference. */
static int compare_expected(const char *path, const nf_check_card *c)
{
    nf_check_expect *e = NULL;
    size_t ne = 0;
    char why[512];
    if (nf_check_expect_load(path, &e, &ne, why, sizeof why) != 0) {
        fprintf(stderr, "notfree check: --expect %s\n", why);
        return 2;
    }
    unsigned diff = 0;
    for (size_t k = 0; k < c->ncols; k++)
        for (size_t r = 0; r < c->nrows; r++) {
            const nf_check_outcome *o = &c->cells[r * c->ncols + k];
            unsigned want = nf_check_expect_find(e, ne, c->rows[r]->name, c->cols[k].name);
            if (want & (1u << o->cell))
                continue;
            diff++;
            char names[128] = "";
            for (int v = 0; v < NF_CELL_COUNT; v++)
                if (want & (1u << v))
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? "|" : "",
                             nf_cell_name((nf_cell)v));
            fprintf(stderr, "notfree check: %s / %s: %s, expected %s (%s)\n", c->rows[r]->name, c->cols[k].name,
                    nf_cell_name(o->cell), want ? names : "no cell in the file", o->detail);
        }
    free(e);
    if (diff)
        fprintf(stderr, "notfree check: %u cell(s) differ from %s\n", diff, path);
    return diff ? 1 : 0;
}

int nf_cmd_check(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    const nf_probe **rows = calloc(nf_probe_count(), sizeof *rows);
    size_t nrows = 0;
    if (!rows)
        return 2;
    if ((rc = pick_probes(o.probes, rows, &nrows)) != 0) {
        free(rows);
        return rc;
    }
    if (o.list) {
        for (size_t i = 0; i < nrows; i++)
            printf("%-24s %-7s %s\n", rows[i]->name, rows[i]->family == NF_PROBE_API ? "api" : "misuse", rows[i]->what);
        free(rows);
        return 0;
    }

    char dir[PATH_MAX], probe[PATH_MAX + 32];
    nf_cmp_exe_dir(dir, sizeof dir);
    if (nf_cmp_locate_program("notfree-probe", "check", "NOTFREE_PROBE", probe, sizeof probe) != 0) {
        fprintf(stderr, "notfree check: the probe program %s is missing: build it with `ninja -C %s`\n", probe, dir);
        free(rows);
        return 2;
    }
    nf_check_plan pl = {probe, o.timeout_s, o.jobs, nf_cmp_child_env};

    nf_cmp_alloc *al = calloc(32, sizeof *al);
    unsigned nal = 0;
    if (!al || (rc = pick_allocators(&o, &pl, al, &nal)) != 0) {
        free(al);
        free(rows);
        return rc ? rc : 2;
    }

    /* Plan: every (probe, allocator), row-major like the card. */
    nf_check_job *jobs = calloc(nrows * nal, sizeof *jobs);
    nf_check_outcome *cells = calloc(nrows * nal, sizeof *cells);
    nf_check_column *cols = calloc(nal, sizeof *cols);
    if (!jobs || !cells || !cols) {
        rc = 2;
        goto out;
    }
    for (unsigned k = 0; k < nal; k++)
        cols[k] = (nf_check_column){al[k].name, al[k].path, al[k].package, al[k].version, al[k].preload};
    for (size_t r = 0; r < nrows; r++)
        for (unsigned k = 0; k < nal; k++)
            jobs[r * nal + k] = (nf_check_job){rows[r], al[k].preload ? al[k].path : NULL, {0}};
    if (nf_check_run(&pl, jobs, nrows * nal) != 0) {
        fprintf(stderr, "notfree check: cannot start a probe: %s\n", strerror(errno));
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < nrows * nal; i++)
        cells[i] = jobs[i].out;

    nf_check_card card = {rows, nrows, cols, nal, cells, o.timeout_s};
    const char *nc = getenv("NO_COLOR"); /* no-color.org: set and not empty */
    if (o.expected_format)
        nf_check_expected_format(stdout, &card);
    else
        nf_check_table(stdout, &card, isatty(1) && !(nc && nc[0]));
    fflush(stdout);
    if (o.json && nf_check_write_json(o.json, &card) != 0) {
        fprintf(stderr, "notfree check: cannot write %s: %s\n", o.json, strerror(errno));
        rc = 2;
        goto out;
    }
    if (o.expect)
        rc = compare_expected(o.expect, &card);
out:
    free(jobs);
    free(cells);
    free(cols);
    free(al);
    free(rows);
    return rc;
}
