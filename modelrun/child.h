/* child.h: a function run in a forked child (child.c). Internal. */
#ifndef NF_MODELRUN_CHILD_H
#define NF_MODELRUN_CHILD_H

#include <stddef.h>

/* Forks; the child calls fn(arg, rep, n), sends the n bytes of rep back
 * and exits; the parent fills rep with them. 0, or -1 with the reason in
 * err (the child died, e.g. of a signal). */
int nf_modelrun_in_child(void (*fn)(void *arg, void *rep, size_t n), void *arg, void *rep, size_t n, char *err,
                         size_t errcap);

/* Formats the reason into err; returns -1 (for `return nf_modelrun_errf(...)`). */
__attribute__((format(printf, 3, 4))) int nf_modelrun_errf(char *err, size_t cap, const char *fmt, ...);

#endif
