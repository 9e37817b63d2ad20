/* child.h: run misuse in a forked child and check how it died: what the
 * allocator tests of bins, slab and shard share. Needs check.h first. */
#ifndef NF_TESTS_ALLOC_CHILD_H
#define NF_TESTS_ALLOC_CHILD_H

#include "notfree/alloc.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*misuse_fn)(nf_heap *h);

/* Runs fn on a new heap of a (or body(), when fn is NULL) in a child whose
 * stderr goes into buf; returns the child's wait status. */
static int child_stderr(const nf_allocator *a, misuse_fn fn, void (*body)(void), char *buf, size_t cap)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(stdout); /* or the child's exit would print it twice */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        if (fn)
            fn(a->create(NULL));
        else
            body();
        _exit(0); /* not reached if the misuse was caught */
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fds[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
}

/* fn must make a's heap abort with `message` on stderr. */
static void expect_abort(const nf_allocator *a, const char *what, misuse_fn fn, const char *message)
{
    char buf[512];
    int status = child_stderr(a, fn, NULL, buf, sizeof buf);
    REQUIREF(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: child did not abort (status %d)", what, status);
    REQUIREF(strstr(buf, message) != NULL, "%s: stderr was \"%s\", wanted \"%s\"", what, buf, message);
    printf("  %-26s %s", what, buf);
}

/* body must be caught by AddressSanitizer (in ASan builds). */
static inline void expect_asan_report(void (*body)(void), const char *what)
{
    static char buf[65536];
    int status = child_stderr(NULL, NULL, body, buf, sizeof buf);
    REQUIREF(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "%s: not caught", what);
    REQUIREF(strstr(buf, "AddressSanitizer") != NULL, "%s: no ASan report: %s", what, buf);
    printf("  %s: caught by ASan\n", what);
}

#endif
