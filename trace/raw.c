/* trace/raw.c: reading the recorder's raw files (raw.h): the header, and
 * the records of every chunk in file order. */
#include "notfree/trace.h"

#include "raw.h"
#include "rawread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nf_trace_raw_info_read(const char *path, nf_trace_raw_info *info, char *err, size_t len)
{
    memset(info, 0, sizeof *info);
    FILE *f = fopen(path, "rb");
    unsigned char h[NF_RAW_HEADER];
    if (!f) {
        snprintf(err, len, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = fread(h, 1, sizeof h, f);
    uint32_t pid, clen;
    memcpy(&pid, h + 8, 4);
    memcpy(&clen, h + 12, 4);
    memcpy(&info->start_ns, h + 16, 8);
    if (got != sizeof h || memcmp(h, NF_RAW_MAGIC, 8) != 0 || clen > NF_RAW_COMMAND_MAX) {
        fclose(f);
        snprintf(err, len, "%s: not a recorder file", path);
        return -1;
    }
    info->pid = (int)pid;
    size_t keep = clen < sizeof info->command - 1 ? clen : sizeof info->command - 1;
    info->command[fread(info->command, 1, keep, f)] = '\0';
    /* calls: the records of every chunk (each record starts after a seq) */
    if (fseek(f, (long)(NF_RAW_HEADER + clen), SEEK_SET) == 0) {
        uint32_t ch[2];
        unsigned char *buf = NULL;
        size_t cap = 0;
        while (fread(ch, 4, 2, f) == 2) {
            if (ch[1] > cap) {
                free(buf);
                cap = ch[1];
                buf = malloc(cap);
                if (!buf)
                    break;
            }
            if (fread(buf, 1, ch[1], f) != ch[1])
                break;
            nf_raw_record r;
            for (size_t off = 0; nf_raw_next(buf, ch[1], &off, &r) > 0;)
                info->calls++;
        }
        free(buf);
    }
    fclose(f);
    return 0;
}
