/* cli/model_alloc.h: `notfree model --allocator` (cmd_model_alloc.c), its
 * chart (cmd_model_chart.c), and what they share with cmd_model.c. */
#ifndef NOTFREE_CLI_MODEL_ALLOC_H
#define NOTFREE_CLI_MODEL_ALLOC_H

#include <stdint.h>

#include "notfree/modelrun.h"

/* One run: an allocator on a workload under one preset. */
typedef struct nf_model_alloc_row {
    const char *alloc, *workload;
    uint64_t ops_asked;
    nf_modelrun_figures fig;
} nf_model_alloc_row;

/* "notfree model: <message> (notfree model --help for usage)" on stderr; 2. */
__attribute__((format(printf, 1, 2))) int nf_model_usage_error(const char *fmt, ...);
/* A decimal count (digits only, no sign or space), 0 or -1. */
int nf_model_parse_count(const char *s, uint64_t *out);

/* `notfree model` with --allocator; argv as nf_cmd_model's. */
int nf_cmd_model_alloc(int argc, char **argv);
/* The --ops default for a workload on the model (the bench uses it too). */
uint64_t nf_model_alloc_default_ops(const char *workload);
/* Draws model_alloc to FILE's base name + .png and .svg; 0 or -1 (said on
 * stderr). */
int nf_model_alloc_chart(const char *file, const nf_model_alloc_row *rows, size_t n);

#endif
