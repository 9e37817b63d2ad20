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

/* nf_model_access of a proc that is current and alive, with a TLB, inline:
 * the L1 hit of a read returns at once, a miss whose leaf allows the
 * access counts the walk and fills the TLB here; faults and stores that
 * hit take the generic path (nf_access_slow). Same counts and order as
 * nf_model_access. */
static inline nf_model_result access_tlb(nf_model *m, nf_model_proc *p, nf_tlb *t, uint16_t asid, uint64_t va,
                                         bool write)
{
    m->c.accesses++;
    if (nf_tlb_lookup_va(t, asid, va, NULL) != NF_TLB_MISS) {
        if (__builtin_expect(!write, 1))
            return NF_MODEL_OK;
        return nf_access_slow(m, p, va, true, 1);
    }
    bool huge;
    uint64_t *pte = nf_pt_leaf(m, p, va, &huge);
    uint64_t need = PTE_P | PTE_US | (write ? PTE_RW : 0);
    if (__builtin_expect(pte && (*pte & (need | PTE_SWAP)) == need, 1)) {
        *pte |= PTE_A | (write ? PTE_D : 0);
        m->c.walks++;
        m->c.walk_refs += nf_tlb_walk_fill(t, asid, va, huge ? NF_PG_2M : NF_PG_4K);
        return NF_MODEL_OK;
    }
    return nf_access_slow(m, p, va, write, 0);
}

/* nf_access_prefetch with the TLB known. */
static inline void prefetch_tlb(nf_model *m, nf_model_proc *p, nf_tlb *t, uint16_t asid, uint64_t va)
{
    nf_tlb_prefetch(t, asid, va);
    nf_pt_prefetch_leaf(m, p, va);
}

/* The replay of a stream by its current, live proc with a TLB: the access
 * and the prefetch inline (the common case of the replay bench). */
static size_t replay_tlb(nf_model *m, nf_model_proc *p, const uint64_t *refs, size_t n, nf_model_result *last)
{
    nf_tlb *t = m->cfg.tlb;
    uint16_t asid = nf_asid(p);
    nf_model_result r = NF_MODEL_OK;
    size_t i = 0;
    for (size_t k = 0; k < n && k < PREFETCH_AHEAD; k++)
        prefetch_tlb(m, p, t, asid, refs[k] & ~NF_MODEL_REF_WRITE);
    for (; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            prefetch_tlb(m, p, t, asid, refs[i + PREFETCH_AHEAD] & ~NF_MODEL_REF_WRITE);
        uint64_t x = refs[i];
        if (__builtin_expect(p != m->cur || !p->alive, 0))
            r = nf_model_access(p, x & ~NF_MODEL_REF_WRITE, (x & NF_MODEL_REF_WRITE) != 0);
        else
            r = access_tlb(m, p, t, asid, x & ~NF_MODEL_REF_WRITE, (x & NF_MODEL_REF_WRITE) != 0);
        if (r != NF_MODEL_OK)
            break;
    }
    if (last)
        *last = r;
    return i;
}

size_t nf_model_replay(nf_model_proc *p, const uint64_t *refs, size_t n, nf_model_result *last)
{
    nf_model *m = p->m;
    if (m->cfg.tlb)
        return replay_tlb(m, p, refs, n, last);
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
