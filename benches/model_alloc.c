/* benches/model_alloc.c: allocators on the kernel model.
 *
 * model/alloc/<allocator>/<workload>: the workload on one thread with a
 * heap of the allocator on a live model process with zen4's TLB
 * (notfree/modelrun.h; the same run as `notfree model --allocator A
 * --workload W --ops N`), in a child of its own. One iteration; its time
 * is the client's wall time (live mode's traps included: not the
 * allocator's speed). Counters, all from the model:
 *   model_faults_per_kop  page faults per 1,000 operations
 *   model_walks_per_kop   page walks per 1,000 operations (L1 and L2 misses)
 *   model_pt_pages        peak page-table pages
 *   model_rss_kib         peak RSS, KiB
 * Allocators bins, slab and shard (system takes no page source); workloads
 * random-mix and trim, at sizes that cost about 1 s each here, so the six
 * stay far under 20 s in the default run.
 */
#include "registry.h"

#include "notfree/bench.h"
#include "notfree/modelrun.h"

#include <stdio.h>
#include <string.h>

typedef struct model_alloc_case {
    const nf_allocator *a;
    const char *workload;
    uint64_t ops;
} model_alloc_case;

static const struct {
    const char *name;
    uint64_t ops;
} workloads[] = {
    {"random-mix", 4000},
    {"trim", 2000},
};

static void model_alloc_run(nf_state *st, void *user)
{
    const model_alloc_case *c = user;
    nf_modelrun_config cfg = {.alloc = c->a};
    nf_modelrun_workload wl = {.w = nf_workload_find(c->workload), .params = {.threads = 1, .seed = 1}, .ops = c->ops};
    const char *preset[] = {"zen4"};
    nf_modelrun_figures f;
    char err[512];
    memset(&f, 0, sizeof f);
    int rc = -1;
    NF_BENCH_LOOP(st)
    {
        rc = nf_modelrun_presets(&cfg, preset, 1, nf_modelrun_workload_client, &wl, &f, err, sizeof err);
        nf_state_set_iteration_time(st, f.wall_s);
    }
    if (rc != 0) {
        nf_state_skip_with_error(st, err);
        return;
    }
    double kops = f.ops > 0 ? (double)f.ops / 1000.0 : 1;
    nf_state_counter(st, "model_faults_per_kop", (double)(f.minor_faults + f.major_faults) / kops, 0);
    nf_state_counter(st, "model_walks_per_kop", (double)f.walks / kops, 0);
    nf_state_counter(st, "model_pt_pages", (double)f.pt_pages_peak, 0);
    nf_state_counter(st, "model_rss_kib", (double)f.rss_peak * 4, 0);
    nf_state_label(st, "model: zen4 TLB, live mode, 1 thread");
}

void nf_register_model_alloc_benches(void)
{
    static model_alloc_case cases[3 * sizeof workloads / sizeof workloads[0]];
    static const char *const allocs[] = {"bins", "slab", "shard"};
    size_t k = 0;
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < sizeof workloads / sizeof workloads[0]; j++) {
            const nf_allocator *a = nf_allocator_find(allocs[i]);
            if (!a)
                continue;
            cases[k] = (model_alloc_case){a, workloads[j].name, workloads[j].ops};
            char name[128];
            snprintf(name, sizeof name, "model/alloc/%s/%s", allocs[i], workloads[j].name);
            nf_bench *b = nf_bench_register(name, model_alloc_run, &cases[k++]);
            nf_bench_iterations(b, 1);
            nf_bench_use_manual_time(b);
            nf_bench_unit(b, NF_UNIT_MS);
        }
}
