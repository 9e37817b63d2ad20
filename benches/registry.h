/* benches/registry.h: every bench file's registration function.
 * Adding a bench family: one file with one nf_register_<family>() and one
 * line here and in registry.c. */
#ifndef NOTFREE_BENCHES_REGISTRY_H
#define NOTFREE_BENCHES_REGISTRY_H

void nf_register_shim_benches(void);   /* shim_overhead.c, shim_overhead_cxx.cc */
void nf_register_fault_benches(void);  /* fault.c */
void nf_register_fork_benches(void);   /* fork.c */
void nf_register_rss_benches(void);    /* rss.c */
void nf_register_model_benches(void);  /* model.c */
void nf_register_tlb_benches(void);    /* tlb.c */
void nf_register_alloc_benches(void);  /* alloc.c */

/* Sizes: the default run keeps to small sizes; --full (notfree run --full,
 * or NOTFREE_FULL=1 in the environment) adds the large ones. */
int nf_benches_full(void);

/* Registers every family, once. */
void nf_register_all_benches(void);

#endif
