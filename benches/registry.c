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
#define NF_BENCH_FAMILY(name) nf_register_##name##_benches();
#include "bench_families.h"
#undef NF_BENCH_FAMILY
}
