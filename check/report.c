/* check/report.c: the scorecard: a table (probes as rows, allocators as
 * columns, colored on a terminal), the cells in the expected-file format,
 * and the JSON (context, probes, every cell with its detail and the
 * allocator's message), written atomically (path.tmp, then rename). */
#include "check.h"

#include "notfree/json.h"

#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char *color_of(nf_cell c)
{
    switch (c) {
    case NF_CELL_CORRECT:
    case NF_CELL_DETECTED:
        return "\033[32m"; /* green */
    case NF_CELL_LATE:
    case NF_CELL_SILENT:
        return "\033[33m"; /* yellow */
    case NF_CELL_WRONG:
    case NF_CELL_CRASH:
    case NF_CELL_HANG:
        return "\033[31m"; /* red */
    case NF_CELL_CORRUPT:
        return "\033[1;31m"; /* bold red */
    default:
        return "";
    }
}

static const nf_check_outcome *cell(const nf_check_card *c, size_t row, size_t col)
{
    return &c->cells[row * c->ncols + col];
}

void nf_check_table(FILE *f, const nf_check_card *c, int color)
{
    size_t w0 = 6;
    for (size_t r = 0; r < c->nrows; r++)
        if (strlen(c->rows[r]->name) > w0)
            w0 = strlen(c->rows[r]->name);
    size_t *w = calloc(c->ncols ? c->ncols : 1, sizeof *w);
    if (!w)
        return;
    fprintf(f, "%-*s", (int)w0, "probe");
    for (size_t k = 0; k < c->ncols; k++) {
        w[k] = strlen(c->cols[k].name) > 8 ? strlen(c->cols[k].name) : 8;
        fprintf(f, "  %-*s", (int)w[k], c->cols[k].name);
    }
    fputc('\n', f);
    int family = -1;
    for (size_t r = 0; r < c->nrows; r++) {
        if ((int)c->rows[r]->family != family) {
            family = (int)c->rows[r]->family;
            fprintf(f, "%s\n", family == NF_PROBE_API ? "-- API edge cases" : "-- misuse");
        }
        fprintf(f, "%-*s", (int)w0, c->rows[r]->name);
        for (size_t k = 0; k < c->ncols; k++) {
            nf_cell v = cell(c, r, k)->cell;
            if (color)
                fprintf(f, "  %s%-*s\033[0m", color_of(v), (int)w[k], nf_cell_name(v));
            else
                fprintf(f, "  %-*s", (int)w[k], nf_cell_name(v));
        }
        fputc('\n', f);
    }
    free(w);
    /* What went wrong, cell by cell: the part of the JSON a reader needs first. */
    int header = 0;
    for (size_t r = 0; r < c->nrows; r++)
        for (size_t k = 0; k < c->ncols; k++) {
            const nf_check_outcome *o = cell(c, r, k);
            if (o->cell != NF_CELL_WRONG && o->cell != NF_CELL_CRASH && o->cell != NF_CELL_CORRUPT &&
                o->cell != NF_CELL_HANG)
                continue;
            if (!header++)
                fprintf(f, "\nwhy:\n");
            fprintf(f, "  %s / %s: %s: %s\n", c->rows[r]->name, c->cols[k].name, nf_cell_name(o->cell), o->detail);
        }
    fprintf(f,
            "\ncells: correct (as C/POSIX say), wrong, detected (aborted with a message at the bad call),\n"
            "late (aborted at a later call), silent (nothing happened), corrupt (overlapping blocks or an\n"
            "address the program chose), crash (died without a message), hang (past %.0f s)\n",
            c->timeout_s);
}

void nf_check_expected_format(FILE *f, const nf_check_card *c)
{
    for (size_t k = 0; k < c->ncols; k++)
        for (size_t r = 0; r < c->nrows; r++)
            fprintf(f, "%s\t%s\t%s\n", c->rows[r]->name, c->cols[k].name, nf_cell_name(cell(c, r, k)->cell));
}

/* A string, or null when s is NULL or empty. */
static json_t *str_or_null(const char *s) { return nf_json_string(s && s[0] ? s : NULL); }

int nf_check_write_json(const char *path, const nf_check_card *c)
{
    struct utsname u;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    uname(&u);
    json_t *allocs = json_array();
    for (size_t k = 0; k < c->ncols; k++) {
        const nf_check_column *a = &c->cols[k];
        json_array_append_new(allocs, json_pack("{s:o, s:o, s:b, s:o, s:o}", "name", nf_json_string(a->name), "library",
                                                str_or_null(a->path), "preloaded", a->preload, "package",
                                                str_or_null(a->package), "version", str_or_null(a->version)));
    }
    json_t *ctx = json_pack("{s:o, s:o, s:o, s:f, s:o}", "host", nf_json_string(host), "kernel",
                            nf_json_string(u.release), "glibc", nf_json_string(gnu_get_libc_version()),
                            "probe_timeout_s", c->timeout_s, "allocators", allocs);
    json_t *probes = json_array();
    for (size_t r = 0; r < c->nrows; r++)
        json_array_append_new(probes, json_pack("{s:o, s:s, s:o}", "name", nf_json_string(c->rows[r]->name), "family",
                                                c->rows[r]->family == NF_PROBE_API ? "api" : "misuse", "what",
                                                nf_json_string(c->rows[r]->what)));
    json_t *cells = json_array();
    for (size_t r = 0; r < c->nrows; r++)
        for (size_t k = 0; k < c->ncols; k++) {
            const nf_check_outcome *o = cell(c, r, k);
            json_t *e = json_pack("{s:o, s:o, s:s, s:o, s:o, s:o}", "probe", nf_json_string(c->rows[r]->name),
                                  "allocator", nf_json_string(c->cols[k].name), "cell", nf_cell_name(o->cell), "detail",
                                  nf_json_string(o->detail), "message", str_or_null(o->message), "pointer",
                                  str_or_null(o->pointer));
            /* to the millisecond, as the table shows it */
            nf_json_set_real(e, "seconds", (double)(long long)(o->seconds * 1000 + 0.5) / 1000);
            json_array_append_new(cells, e);
        }
    json_t *doc = json_pack("{s:o, s:o, s:o}", "context", ctx, "probes", probes, "cells", cells);
    int rc = nf_json_write_file(doc, path);
    json_decref(doc);
    return rc;
}
