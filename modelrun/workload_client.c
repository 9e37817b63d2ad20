/* workload_client.c: a workload (notfree/workload.h) as a client of the
 * model runner: start, rounds of round_ops with a progress call after
 * each, finish. The workload's own bookkeeping uses the process's malloc
 * (outside the model); only the blocks go through mem. */
#include "notfree/modelrun.h"

int64_t nf_modelrun_workload_client(void *arg, const nf_mem_api *mem)
{
    nf_modelrun_workload *c = arg;
    nf_workload_run *r = nf_workload_start(c->w, &c->params, mem);
    if (!r)
        return -1;
    /* 20 rounds, each a multiple of 128 operations so that whole batches
     * (small-churn's are 64 mallocs and 64 frees) add few operations. */
    uint64_t round = c->round_ops ? c->round_ops : (c->ops / 20 + 127) / 128 * 128;
    uint64_t done = 0;
    while (done < c->ops) {
        uint64_t want = c->ops - done < round ? c->ops - done : round;
        nf_workload_round(r, want);
        done += want;
        if (c->progress)
            c->progress(c->parg, done, c->ops);
    }
    nf_workload_result res;
    int rc = nf_workload_finish(r, &res);
    return rc == 0 ? (int64_t)res.ops : -1;
}
