/* check/probe_table.c: the battery, in the order of the scorecard: API
 * edge cases (probes_api.c), alignment (probes_align.c), misuse
 * (probes_misuse.c). */
#include "probe.h"

#include <string.h>

extern const nf_probe nf_probes_api[], nf_probes_align[], nf_probes_misuse[];
extern const size_t nf_probes_api_count, nf_probes_align_count, nf_probes_misuse_count;

const nf_probe *nf_probe_at(size_t i)
{
    if (i < nf_probes_api_count)
        return &nf_probes_api[i];
    i -= nf_probes_api_count;
    if (i < nf_probes_align_count)
        return &nf_probes_align[i];
    i -= nf_probes_align_count;
    return i < nf_probes_misuse_count ? &nf_probes_misuse[i] : NULL;
}

size_t nf_probe_count(void) { return nf_probes_api_count + nf_probes_align_count + nf_probes_misuse_count; }

const nf_probe *nf_probe_find(const char *name)
{
    for (size_t i = 0; i < nf_probe_count(); i++)
        if (!strcmp(nf_probe_at(i)->name, name))
            return nf_probe_at(i);
    return NULL;
}
