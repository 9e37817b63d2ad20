/* replay.c: address streams through the model: arrays and trace files.
 *
 * Trace format: one access per line, "R <hex>" or "W <hex>" (0x optional,
 * case-insensitive letter); blank lines and '#' comments are skipped.
 */
#include "model_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* How far ahead the replay starts loading the TLB sets and PTEs of the
 * stream (a random stream over a big table misses the cache at every
 * PTE: ~8 in flight hide most of it). */
enum { PREFETCH_AHEAD = 8 };

size_t nf_model_replay(nf_model_proc *p, const uint64_t *refs, size_t n, nf_model_result *last)
{
    nf_model *m = p->m;
    nf_model_result r = NF_MODEL_OK;
    size_t i = 0;
    for (size_t k = 0; k < n && k < PREFETCH_AHEAD; k++)
        nf_access_prefetch(m, p, refs[k] & ~NF_MODEL_REF_WRITE);
    for (; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            nf_access_prefetch(m, p, refs[i + PREFETCH_AHEAD] & ~NF_MODEL_REF_WRITE);
        uint64_t x = refs[i];
        r = nf_model_access(p, x & ~NF_MODEL_REF_WRITE, (x & NF_MODEL_REF_WRITE) != 0);
        if (r != NF_MODEL_OK)
            break;
    }
    if (last)
        *last = r;
    return i;
}

/* One line: 1 and *ref, 0 to skip, -1 when bad. */
static int parse_line(const char *s, uint64_t *ref)
{
    while (isspace((unsigned char)*s))
        s++;
    if (*s == 0 || *s == '#')
        return 0;
    uint64_t w;
    if (*s == 'R' || *s == 'r')
        w = 0;
    else if (*s == 'W' || *s == 'w')
        w = NF_MODEL_REF_WRITE;
    else
        return -1;
    s++;
    if (!isspace((unsigned char)*s))
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    if (!isxdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 16);
    if (errno || end == s || (a & NF_MODEL_REF_WRITE))
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end && *end != '#')
        return -1;
    *ref = (uint64_t)a | w;
    return 1;
}

long nf_model_replay_file(nf_model_proc *p, const char *path, long *bad_line, nf_model_result *last)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[256];
    long line = 0, done = 0;
    nf_model_result r = NF_MODEL_OK;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        uint64_t ref;
        int k = parse_line(buf, &ref);
        if (k < 0) {
            if (bad_line)
                *bad_line = line;
            fclose(f);
            errno = EINVAL;
            return -1;
        }
        if (k == 0)
            continue;
        r = nf_model_access(p, ref & ~NF_MODEL_REF_WRITE, (ref & NF_MODEL_REF_WRITE) != 0);
        if (r != NF_MODEL_OK)
            break;
        done++;
    }
    fclose(f);
    if (last)
        *last = r;
    return done;
}
