/* check/probe.h: the probe battery behind `notfree check`, one source of
 * truth for the CLI and the tests.
 *
 * Glossary
 *   probe    a small program fragment that exercises one API edge case or
 *            one misuse through the plain C names (malloc, free, ...); it
 *            runs alone in its own process, notfree-probe, under the
 *            allocator (preloaded, or glibc's own).
 *   marker   a line the probe writes to stdout (write(2), unbuffered, so
 *            it survives an abort) before and after what it does:
 *              call TEXT     about to make the call TEXT
 *              bad TEXT      about to do the misuse TEXT (misuse probes)
 *              done          the misuse returned (or the bad write is done)
 *              result CELL DETAIL   the probe ended on its own
 *   cell     the verdict on one (probe, allocator), from the markers and
 *            how the process ended (check/classify.c):
 *              correct   the API edge case behaved as C/POSIX say
 *              wrong     it did not (the detail says what)
 *              detected  aborted with a message at the bad call
 *              late      aborted at a later call (for a bad write, the
 *                        earliest an allocator can notice)
 *              silent    nothing happened
 *              corrupt   two live blocks overlap, or an address the
 *                        program chose was returned
 *              crash     died (SIGSEGV, SIGBUS, ...) without a message, or
 *                        an API probe died at all
 *              hang      did not end within the timeout
 *
 * Adding a probe: a function in the family's file (probes_*.c) and one row
 * in probe_table.c. */
#ifndef NF_CHECK_PROBE_H
#define NF_CHECK_PROBE_H

#include <stddef.h>

typedef enum nf_cell {
    NF_CELL_CORRECT,
    NF_CELL_WRONG,
    NF_CELL_DETECTED,
    NF_CELL_LATE,
    NF_CELL_SILENT,
    NF_CELL_CORRUPT,
    NF_CELL_CRASH,
    NF_CELL_HANG,
    NF_CELL_COUNT
} nf_cell;

/* "correct", ...; NF_CELL_COUNT for an unknown name. */
const char *nf_cell_name(nf_cell c);
nf_cell nf_cell_parse(const char *s);

typedef enum nf_probe_family { NF_PROBE_API, NF_PROBE_MISUSE } nf_probe_family;

typedef struct nf_probe {
    const char *name; /* e.g. "double-free-delayed" */
    nf_probe_family family;
    const char *what;  /* one line for the table and --list */
    void (*run)(void); /* in notfree-probe only: ends with nf_probe_result */
} nf_probe;

const nf_probe *nf_probe_at(size_t i);
size_t nf_probe_count(void);
const nf_probe *nf_probe_find(const char *name);

/* ---- inside notfree-probe (check/probe_out.c) ---- */
/* Marker lines, written with write(2); printf-style. */
void nf_probe_call(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nf_probe_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nf_probe_done(void);
/* The probe's own verdict (correct, wrong, silent, corrupt) and its
 * detail; the probe returns after it. */
void nf_probe_result(nf_cell c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A value the compiler cannot see through (impossible sizes, pointers
 * into a stack or a global that -Wfree-nonheap-object would refuse). */
static inline size_t nf_opaque(size_t x)
{
    __asm__("" : "+r"(x));
    return x;
}
static inline void *nf_opaque_ptr(void *p)
{
    __asm__("" : "+r"(p));
    return p;
}

#endif
