/* benches/registry.h: every bench file's registration function.
 * Adding a bench family: one file that defines nf_register_<family>_benches()
 * and one line in benches/meson.build's bench_families list; the
 * prototypes below and the calls in registry.c come from that list. */
#ifndef NOTFREE_BENCHES_REGISTRY_H
#define NOTFREE_BENCHES_REGISTRY_H

#define NF_BENCH_FAMILY(name) void nf_register_##name##_benches(void);
#include "bench_families.h"
#undef NF_BENCH_FAMILY

/* Sizes: the default run keeps to small sizes; --full (notfree run --full,
 * or NOTFREE_FULL=1 in the environment) adds the large ones. */
int nf_benches_full(void);

/* Registers every family, once. */
void nf_register_all_benches(void);

#endif
