/* base/procfs.c: "Key: N kB" figures from /proc (notfree/procfs.h). */
#include "notfree/procfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long nf_proc_kib(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t klen = strlen(key);
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0 || line[klen] != ':')
            continue;
        char *end;
        long long v = strtoll(line + klen + 1, &end, 10);
        if (end != line + klen + 1)
            kib = v;
        break;
    }
    fclose(f);
    return kib;
}
