/* trace/client.c: a trace replay as a driver's client: the shape of
 * nf_modelrun_client (notfree/modelrun.h), int64_t (*)(void *, const
 * nf_mem_api *), without needing modelrun (trace sits below it; cli joins
 * the two). The replay runs in rounds so that the driver can show
 * progress; a round is a whole number of events, so the calls are the
 * same however the rounds fall. */
#include "notfree/trace.h"

int64_t nf_trace_client_run(void *arg, const nf_mem_api *mem)
{
    nf_trace_client *c = arg;
    const nf_trace *t = c->t;
    c->rc = -1;
    nf_trace_replay *r = nf_trace_replay_start(t, mem, &c->o);
    if (!r)
        return -1;
    uint64_t round = c->round ? c->round : t->nevents / 20 + 1, done = 0;
    while (done < t->nevents) {
        done += nf_trace_replay_step(r, round);
        if (c->progress)
            c->progress(c->parg, done, t->nevents);
    }
    c->rc = nf_trace_replay_finish(r, &c->res);
    return c->rc == 0 ? (int64_t)c->res.events : -1;
}
