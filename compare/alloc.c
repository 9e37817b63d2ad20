/* compare/alloc.c: the allocators `notfree compare` (and `notfree check`)
 * know and where their libraries are.
 *   glibc              no preload: the C library's own malloc (package libc6)
 *   jemalloc           libjemalloc.so.2          (Debian libjemalloc2)
 *   mimalloc           libmimalloc.so.2          (Debian libmimalloc2.0)
 *   tcmalloc           libtcmalloc_minimal.so.4  (Debian libtcmalloc-minimal4)
 *   bins, slab, shard  notfree's drop-ins (the registry's allocators with a
 *                      process-wide heap), libnotfree-<name>.so in the
 *                      build tree or the install tree (locate.c)
 *   NAME=/path/to.so   any other drop-in a user brings
 * A library that is not there leaves the allocator unavailable, with what
 * to install or build; it is listed, never dropped. A NAME=/path library
 * must load (dlopen, in a child) and, preloaded, must serve malloc
 * (nf_cmp_alloc_probe): the plan refuses it otherwise. */
#include "compare.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const nf_cmp_known[] = {"glibc", "jemalloc", "mimalloc", "tcmalloc", "bins", "slab", "shard"};
const unsigned nf_cmp_nknown = sizeof nf_cmp_known / sizeof nf_cmp_known[0];

typedef struct system_lib {
    const char *name, *file, *package;
} system_lib;

static const system_lib system_libs[] = {
    {"jemalloc", "libjemalloc.so.2", "libjemalloc2"},
    {"mimalloc", "libmimalloc.so.2", "libmimalloc2.0"},
    {"tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"},
};

/* Where Debian puts shared libraries (multiarch first). */
static const char *const lib_dirs[] = {
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
};

/* dpkg-query's version of an installed package, or "" */
static void package_version(const char *pkg, char *buf, size_t len)
{
    buf[0] = '\0';
    char cmd[256];
    snprintf(cmd, sizeof cmd, "dpkg-query -W -f='${Version}' '%s' 2>/dev/null", pkg);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (!fgets(buf, (int)len, p))
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    pclose(p);
}

static int find_lib(const char *file, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof lib_dirs / sizeof lib_dirs[0]; i++) {
        snprintf(buf, len, "%s/%s", lib_dirs[i], file);
        if (access(buf, R_OK) == 0)
            return 0;
    }
    buf[0] = '\0';
    return -1;
}

/* dlopen(path) in a child (its constructors run there, not in notfree);
 * 0, or -1 with dlerror's message in err. */
static int loads(const char *path, char *err, size_t errlen)
{
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        const char *e = dlopen(path, RTLD_LAZY | RTLD_LOCAL) ? NULL : dlerror();
        if (e && write(fd[1], e, strlen(e)) < 0)
            _exit(2);
        _exit(e ? 1 : 0);
    }
    close(fd[1]);
    char msg[PATH_MAX + 128];
    ssize_t n, used = 0;
    while (used < (ssize_t)sizeof msg - 1 && (n = read(fd[0], msg + used, sizeof msg - 1 - (size_t)used)) > 0)
        used += n;
    msg[used] = '\0';
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    snprintf(err, errlen, "%.4000s",
             used                  ? msg
             : WIFSIGNALED(status) ? "dlopen crashed the loading process"
                                   : "dlopen failed");
    return -1;
}

int nf_cmp_alloc_probe(const char *worker, const nf_cmp_alloc *a, char *err, size_t errlen)
{
    if (!a->preload)
        return 0;
    return nf_cmp_is_malloc(worker, a->path, 60, err, errlen);
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

int nf_cmp_alloc_resolve(const char *item, nf_cmp_alloc *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    const char *eq = strchr(item, '=');
    if (eq) {
        if (!valid_name(item, (size_t)(eq - item)) || eq[1] != '/') {
            snprintf(err, errlen, "'%s': expected NAME=/absolute/path/to/lib.so (NAME: letters, digits, - _ .)", item);
            return -1;
        }
        memcpy(a->name, item, (size_t)(eq - item));
        snprintf(a->path, sizeof a->path, "%s", eq + 1);
        a->preload = 1;
        snprintf(a->package, sizeof a->package, "user");
        char why[PATH_MAX + 64];
        a->available = loads(a->path, why, sizeof why) == 0;
        if (!a->available)
            snprintf(a->reason, sizeof a->reason, "cannot be loaded: %s", why);
        return 0;
    }
    if (!valid_name(item, strlen(item))) {
        snprintf(err, errlen, "'%s': not an allocator name", item);
        return -1;
    }
    /* memcpy, not snprintf("%s"): gcc 12 under UBSan wrongly sees item as
     * possibly null here and fails -Werror=format-truncation. */
    size_t n = strlen(item);
    if (n >= sizeof a->name)
        n = sizeof a->name - 1;
    memcpy(a->name, item, n);
    a->name[n] = 0;
    if (!strcmp(item, "glibc")) {
        snprintf(a->package, sizeof a->package, "libc6");
        package_version("libc6", a->version, sizeof a->version);
        find_lib("libc.so.6", a->path, sizeof a->path); /* for the context; not preloaded */
        a->available = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof system_libs / sizeof system_libs[0]; i++) {
        const system_lib *l = &system_libs[i];
        if (strcmp(item, l->name) != 0)
            continue;
        snprintf(a->package, sizeof a->package, "%s", l->package);
        a->available = find_lib(l->file, a->path, sizeof a->path) == 0;
        a->preload = 1;
        if (a->available)
            package_version(l->package, a->version, sizeof a->version);
        else
            snprintf(a->reason, sizeof a->reason, "%s not found: install it with `sudo apt-get install %s`", l->file,
                     l->package);
        return 0;
    }
    if (nf_cmp_is_dropin(item)) {
        char dir[PATH_MAX - 64];
        nf_cmp_exe_dir(dir, sizeof dir);
        snprintf(a->package, sizeof a->package, "notfree");
        a->preload = 1;
        a->available = nf_cmp_locate_dropin(item, a->path, sizeof a->path) == 0;
        if (!a->available)
            snprintf(a->reason, sizeof a->reason,
                     "%.2000s not built (a sanitizer build has no drop-ins): build with `ninja -C %.1000s`", a->path,
                     dir);
        return 0;
    }
    snprintf(err, errlen,
             "unknown allocator '%s' (known: glibc jemalloc mimalloc tcmalloc bins slab shard,"
             " or NAME=/path/to/lib.so)",
             item);
    return -1;
}
