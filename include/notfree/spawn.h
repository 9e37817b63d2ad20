/* notfree/spawn.h: run a program with its stdout and stderr on pipes, and
 * read both until they close or a deadline passes. What `notfree check`
 * (a probe per allocator) and `notfree compare` (the worker, the --whoami
 * question) each did by hand.
 */
#ifndef NOTFREE_SPAWN_H
#define NOTFREE_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A running child. Invariant: out and err are the read ends of its stdout
 * and stderr (close-on-exec), open until nf_spawn_drain closes them. */
typedef struct nf_spawn {
    pid_t pid;
    int out, err;
} nf_spawn;

enum { NF_SPAWN_PIPE = -1, NF_SPAWN_FORK = -2 };

/* Forks; in the child stdout and stderr go to the pipes, setup(arg) runs
 * (may be NULL: the environment, limits), then execv(path, argv). A failed
 * exec writes "cannot run PATH: REASON" on the child's stderr and exits
 * 127. Flushes stdio first. Returns 0, or NF_SPAWN_PIPE / NF_SPAWN_FORK
 * with errno set (nothing left open). */
int nf_spawn_piped(nf_spawn *sp, const char *path, char *const argv[], void (*setup)(void *arg), void *arg);

/* Where a pipe's bytes go: the first cap-1 kept, NUL-terminated; the rest
 * read and dropped, so the child never blocks on a full pipe. */
typedef struct nf_spawn_sink {
    char *buf;
    size_t cap, used;
} nf_spawn_sink;

/* Called while waiting: due_ms (NULL: none) says in how many ms tick is
 * wanted; tick runs after every wake-up. For sampling the child (compare's
 * RSS timeline). */
typedef struct nf_spawn_ticker {
    int (*due_ms)(void *arg);
    void (*tick)(void *arg);
    void *arg;
} nf_spawn_ticker;

/* Reads sp's stdout into out and stderr into err until both close (0), or
 * until deadline (nf_now_s() seconds) passes: then SIGKILLs the child and
 * returns 1; -1 when poll fails. Closes both pipes; does not reap the
 * child. ticker may be NULL. */
int nf_spawn_drain(nf_spawn *sp, nf_spawn_sink *out, nf_spawn_sink *err, double deadline,
                   const nf_spawn_ticker *ticker);

#ifdef __cplusplus
}
#endif
#endif
