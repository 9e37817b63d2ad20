/* resultfile.c: results directories and file names (notfree/resultfile.h). */
#include "notfree/resultfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int nf_mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (!dir || !dir[0]) {
        errno = ENOENT;
        return -1;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s", dir) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* Each parent in turn; an existing one (EEXIST) is fine. */
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    /* EEXIST may name a file, not a directory. */
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int nf_result_path(char *buf, size_t cap, const char *dir, const char *prefix)
{
    char host[256] = "unknown-host", stamp[32];
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "unknown-host");
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    int n = snprintf(buf, cap, "%s/%s%s-%s.json", dir, prefix ? prefix : "", host, stamp);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}
