/* misuse.c: deliberate misuse through the nf_allocator interface must
 * abort with a message, never corrupt.
 *
 *   misuse --linked NAME              through the interface
 * Through free() under LD_PRELOAD, misuse is the check battery's
 * (check/probes_misuse.c, run by tests/check for bins, slab and shard:
 * every cell as check/expected.tsv says, and every `detected` message
 * naming the allocator and the pointer). Each case runs in a child whose stderr goes to a pipe; the child must die
 * of SIGABRT, and what it wrote must name the allocator and the pointer.
 *   double-free   free(p); free(p)
 *   foreign       free() of a pointer into a static array it never gave out
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"
#include "mem.h"

static mem M;
static const char *name;

static _Alignas(64) unsigned char foreign_buf[512];

static void tell(int fd, const void *p)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%p", p);
    if (write(fd, b, (size_t)n) < 0)
        _exit(9);
    close(fd);
}

static void misuse_double_free(int fd)
{
    void *p = mem_malloc(&M, 48);
    void *keep = mem_malloc(&M, 48); /* p is not the last block */
    tell(fd, p);
    mem_free(&M, p);
    mem_free(&M, p);
    (void)keep;
}

static void misuse_foreign(int fd)
{
    void *p = (void *)opaque((size_t)(foreign_buf + 256)); /* hidden from -Wfree-nonheap-object */
    tell(fd, p);
    mem_free(&M, p);
}

/* Runs fn in a child with stderr on a pipe; fn writes the pointer it
 * misuses to the fd it is given. */
static void run_case(const char *what, void (*fn)(int))
{
    check_test = what;
    int err[2], ptr[2];
    if (pipe(err) != 0 || pipe(ptr) != 0) {
        CHECK(0, "pipe");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        close(ptr[0]);
        fn(ptr[1]);
        _exit(0); /* not reached when the allocator catches it */
    }
    close(err[1]);
    close(ptr[1]);
    char out[4096] = "", addr[64] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(err[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    r = read(ptr[0], addr, sizeof addr - 1);
    addr[r > 0 ? r : 0] = '\0';
    close(err[0]);
    close(ptr[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s: child status %#x, want SIGABRT; stderr: %s", what, st, out);
    CHECK(strstr(out, name) != NULL, "%s: message does not name '%s': %s", what, name, out);
    CHECK(addr[0] && strstr(out, addr) != NULL, "%s: message does not name the pointer %s: %s", what, addr, out);
    printf("%s %s: %s", WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? "ok  " : "FAIL", what,
           out[0] ? out : "(no message)\n");
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--linked")) {
        fprintf(stderr, "usage: misuse --linked NAME\n");
        return 2;
    }
    name = argv[2];
    if (mem_linked(&M, name) != 0) {
        fprintf(stderr, "misuse: no allocator '%s'\n", name);
        return 2;
    }
    run_case("double-free", misuse_double_free);
    run_case("foreign", misuse_foreign);
    return check_done();
}
