#include "registry.h"

#include <stdlib.h>
#include <string.h>

int nf_benches_full(void)
{
    const char *s = getenv("NOTFREE_FULL");
    return s && *s && strcmp(s, "0") != 0;
}

void nf_register_all_benches(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    nf_register_shim_benches();
    nf_register_fault_benches();
    nf_register_fork_benches();
    nf_register_rss_benches();
    nf_register_model_benches();
    nf_register_tlb_benches();
    nf_register_alloc_benches();
}
