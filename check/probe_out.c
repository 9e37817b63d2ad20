/* check/probe_out.c: the marker lines a probe writes (see probe.h), and
 * the cell names. Markers go out with write(2), never through stdio: a
 * probe may die at its next call, and what it said before must be there. */
#include "probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const cell_names[NF_CELL_COUNT] = {
    "correct", "wrong", "detected", "late", "silent", "corrupt", "crash", "hang",
};

const char *nf_cell_name(nf_cell c) { return c < NF_CELL_COUNT ? cell_names[c] : "?"; }

nf_cell nf_cell_parse(const char *s)
{
    for (int c = 0; c < NF_CELL_COUNT; c++)
        if (!strcmp(s, cell_names[c]))
            return (nf_cell)c;
    return NF_CELL_COUNT;
}

static void put_line(const char *tag, const char *fmt, va_list *ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s", tag);
    if (fmt) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, *ap);
        n += m < 0 ? 0 : m;
        if (n > (int)sizeof line - 2)
            n = (int)sizeof line - 2;
    }
    for (int i = 0; i < n; i++) /* one marker, one line */
        if (line[i] == '\n')
            line[i] = ' ';
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, (size_t)(n - off));
        if (w <= 0)
            _exit(9);
        off += (int)w;
    }
}

void nf_probe_call(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_line("call ", fmt, &ap);
    va_end(ap);
}

void nf_probe_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_line("bad ", fmt, &ap);
    va_end(ap);
}

void nf_probe_done(void) { put_line("done", NULL, NULL); }

void nf_probe_result(nf_cell c, const char *fmt, ...)
{
    char tag[32];
    snprintf(tag, sizeof tag, "result %s ", nf_cell_name(c));
    va_list ap;
    va_start(ap, fmt);
    put_line(tag, fmt, &ap);
    va_end(ap);
}
