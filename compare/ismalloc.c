/* compare/ismalloc.c: is this library really the malloc? The parent side
 * of owner.h's question, the one check `notfree compare` and `notfree
 * check` both make before they measure a library: run `EXE --whoami PATH`
 * under LD_PRELOAD=PATH (EXE: notfree-workload or notfree-probe, both
 * answer it through owner.c) and read its line. A library without malloc
 * would otherwise be measured, or scored, as glibc under its name. */
#include "compare.h"
#include "owner.h"

#include "notfree/clock.h"
#include "notfree/spawn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_env(void *path) { nf_cmp_child_env(path); }

int nf_cmp_is_malloc(const char *exe, const char *path, double timeout_s, char *why, size_t len)
{
    char *argv[] = {(char *)exe, (char *)"--whoami", (char *)path, NULL};
    nf_spawn sp;
    int rc = nf_spawn_piped(&sp, exe, argv, child_env, (void *)path);
    if (rc != 0) {
        snprintf(why, len, "%s: %s", rc == NF_SPAWN_PIPE ? "pipe" : "fork", strerror(errno));
        return -1;
    }
    /* Both pipes to EOF (the answer is one line), or the timeout. */
    char buf[2][2048] = {"", ""};
    nf_spawn_sink out = {buf[0], sizeof buf[0], 0}, err = {buf[1], sizeof buf[1], 0};
    int killed = nf_spawn_drain(&sp, &out, &err, nf_now_s() + timeout_s, NULL) == 1;
    int st = 0;
    while (waitpid(sp.pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[0][strcspn(buf[0], "\n")] = '\0';
    buf[1][strcspn(buf[1], "\n")] = '\0';
    if (killed) {
        snprintf(why, len, "%s --whoami did not answer within %.0f s under LD_PRELOAD=%s", exe, timeout_s, path);
        return -1;
    }
    if (!strncmp(buf[0], "dlopen-error ", 13)) {
        snprintf(why, len, "%s", buf[0] + 13);
        return 1;
    }
    if (strncmp(buf[0], "malloc-in ", 10) != 0) {
        snprintf(why, len, "%s gave no answer under LD_PRELOAD=%s (status %#x)%s%.1000s", exe, path, st,
                 buf[1][0] ? ": " : "", buf[1]);
        return -1;
    }
    const char *obj = buf[0] + 10;
    if (nf_same_file(obj, path))
        return 0;
    snprintf(why, len,
             "malloc resolves into %s, not into %s: not an allocator (not a malloc replacement: it"
             " defines no malloc, or it was not preloaded)",
             obj, path);
    return 1;
}
