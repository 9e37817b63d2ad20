/* counters_tally.c: counters summed over measured regions, reported per
 * unit of work (see notfree/counters_tally.h). */
#include "notfree/counters_tally.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void nf_ctr_tally_open(nf_ctr_tally *t, uint64_t wanted)
{
    memset(t, 0, sizeof *t);
    nf_counters_open(&t->set, wanted);
}

void nf_ctr_tally_start(nf_ctr_tally *t) { nf_counters_start(&t->set); }

void nf_ctr_tally_stop(nf_ctr_tally *t)
{
    nf_counters_stop(&t->set);
    for (int i = 0; i < NF_CTR_COUNT; i++)
        if (t->set.avail[i])
            t->sum[i] += nf_counters_delta(&t->set, (nf_counter_id)i);
    t->rounds++;
}

/* Closing keeps `avail` (nf_counters_close clears it): the sums stay
 * readable after the fds are gone. */
void nf_ctr_tally_close(nf_ctr_tally *t)
{
    bool avail[NF_CTR_COUNT];
    memcpy(avail, t->set.avail, sizeof avail);
    nf_counters_close(&t->set);
    memcpy(t->set.avail, avail, sizeof avail);
}

void nf_ctr_tally_merge(nf_ctr_tally *dst, const nf_ctr_tally *src)
{
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        dst->set.avail[i] = dst->set.avail[i] && src->set.avail[i];
        dst->sum[i] += src->sum[i];
    }
    dst->rounds += src->rounds;
}

double nf_ctr_tally_per(const nf_ctr_tally *t, nf_counter_id id, double units)
{
    if ((unsigned)id >= NF_CTR_COUNT || !t->set.avail[id] || !(units > 0))
        return NAN;
    return t->sum[id] / units;
}

int nf_ctr_tally_hw_name(nf_counter_id id, const char *unit, char *buf, size_t cap)
{
    const char *n = nf_counter_name(id);
    if (!strncmp(n, "perf_", 5))
        n += 5;
    return snprintf(buf, cap, "hw_%s_per_%s", n, unit);
}

int nf_ctr_tally_report_hw(nf_state *st, const nf_ctr_tally *t, double units, const char *unit)
{
    int n = 0;
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        if (!(NF_CTR_SET_BENCH_HW & NF_CTR_BIT(i)))
            continue;
        double v = nf_ctr_tally_per(t, (nf_counter_id)i, units);
        if (isnan(v))
            continue;
        char name[96];
        nf_ctr_tally_hw_name((nf_counter_id)i, unit, name, sizeof name);
        nf_state_counter(st, name, v, NF_COUNTER_DEFAULT);
        n++;
    }
    return n;
}
