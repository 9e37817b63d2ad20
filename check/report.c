/* check/report.c: the scorecard: a table (probes as rows, allocators as
 * columns, colored on a terminal), the cells in the expected-file format,
 * and the JSON (context, probes, every cell with its detail and the
 * allocator's message), written atomically (path.tmp, then rename). */
#include "check.h"

#include "notfree/context.h"

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
        return "\033[32m";   /* green */
    case NF_CELL_LATE:
    case NF_CELL_SILENT:
        return "\033[33m";   /* yellow */
    case NF_CELL_WRONG:
    case NF_CELL_CRASH:
    case NF_CELL_HANG:
        return "\033[31m";   /* red */
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
    fprintf(f, "\ncells: correct (as C/POSIX say), wrong, detected (aborted with a message at the bad call),\n"
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

static void json_str(FILE *f, const char *s)
{
    size_t n = strlen(s ? s : "") * 6 + 3;
    char *b = malloc(n);
    if (!b) {
        fputs("null", f);
        return;
    }
    nf_json_escape(b, n, s ? s : "");
    fputs(b, f);
    free(b);
}

static void json_str_or_null(FILE *f, const char *s)
{
    if (s && s[0])
        json_str(f, s);
    else
        fputs("null", f);
}

int nf_check_write_json(const char *path, const nf_check_card *c)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    struct utsname u;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    uname(&u);
    fprintf(f, "{\n  \"context\": {\"host\": ");
    json_str(f, host);
    fprintf(f, ", \"kernel\": ");
    json_str(f, u.release);
    fprintf(f, ", \"glibc\": ");
    json_str(f, gnu_get_libc_version());
    fprintf(f, ", \"probe_timeout_s\": %g,\n    \"allocators\": [", c->timeout_s);
    for (size_t k = 0; k < c->ncols; k++) {
        const nf_check_column *a = &c->cols[k];
        fprintf(f, "%s\n      {\"name\": ", k ? "," : "");
        json_str(f, a->name);
        fprintf(f, ", \"library\": ");
        json_str_or_null(f, a->path);
        fprintf(f, ", \"preloaded\": %s, \"package\": ", a->preload ? "true" : "false");
        json_str_or_null(f, a->package);
        fprintf(f, ", \"version\": ");
        json_str_or_null(f, a->version);
        fputc('}', f);
    }
    fprintf(f, "]},\n  \"probes\": [");
    for (size_t r = 0; r < c->nrows; r++) {
        fprintf(f, "%s\n    {\"name\": ", r ? "," : "");
        json_str(f, c->rows[r]->name);
        fprintf(f, ", \"family\": \"%s\", \"what\": ", c->rows[r]->family == NF_PROBE_API ? "api" : "misuse");
        json_str(f, c->rows[r]->what);
        fputc('}', f);
    }
    fprintf(f, "],\n  \"cells\": [");
    int first = 1;
    for (size_t r = 0; r < c->nrows; r++)
        for (size_t k = 0; k < c->ncols; k++) {
            const nf_check_outcome *o = cell(c, r, k);
            fprintf(f, "%s\n    {\"probe\": ", first ? "" : ",");
            first = 0;
            json_str(f, c->rows[r]->name);
            fprintf(f, ", \"allocator\": ");
            json_str(f, c->cols[k].name);
            fprintf(f, ", \"cell\": \"%s\", \"detail\": ", nf_cell_name(o->cell));
            json_str(f, o->detail);
            fprintf(f, ", \"message\": ");
            json_str_or_null(f, o->message);
            fprintf(f, ", \"pointer\": ");
            json_str_or_null(f, o->pointer);
            fprintf(f, ", \"seconds\": %.3f}", o->seconds);
        }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
