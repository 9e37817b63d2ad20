/* tour/step_overcommit.c: step 4, overcommit's bet. The largest single
 * malloc that succeeds under this box's vm.overcommit_memory, found by a
 * binary search in children (nothing touched, so nothing resident), set
 * against RAM + swap and CommitLimit; how many such blocks one process
 * holds at once; a child under RLIMIT_AS getting a clean NULL; and the
 * kernel model's modes 0, 1 and 2 (the box's own setting is never
 * changed). */
#include "tour.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "notfree/model.h"

typedef struct try_arg {
    unsigned long long size;
    int count; /* how many blocks of size to hold at once (1: one try) */
    unsigned long long rlimit_as;
} try_arg;

static void try_child(void *arg, int fd)
{
    const try_arg *t = arg;
    if (t->rlimit_as) {
        struct rlimit rl = {t->rlimit_as, t->rlimit_as};
        setrlimit(RLIMIT_AS, &rl);
    }
    int held = 0;
    for (int i = 0; i < t->count; i++) {
        errno = 0;
        void *p = malloc(t->size);
        if (!p) {
            nf_tour_out(fd, "errno=%d ", errno);
            break;
        }
        held++; /* kept: the next block is charged on top of it */
    }
    nf_tour_out(fd, "held=%d\n", held);
}

static int fits(unsigned long long size)
{
    try_arg t = {size, 1, 0};
    char out[64];
    int st = nf_tour_child(try_child, &t, NULL, 10, out, sizeof out);
    return st == 0 && nf_tour_get(out, "held") == 1;
}

/* Model: which of a 0.75x and a 1.5x RAM mapping each mode grants, and
 * whether touching the granted one ends in an OOM kill. */
static void model_modes(nf_tour_run *r, char *summary, size_t cap)
{
    size_t frames = 4096; /* 16 MiB of model RAM, no swap */
    size_t used = 0;
    for (int mode = 0; mode <= 2; mode++) {
        nf_model_config cfg = {0};
        cfg.frames = frames;
        cfg.overcommit = mode;
        nf_model *m = nf_model_create(&cfg);
        if (!m) {
            snprintf(summary, cap, "the model could not be made");
            return;
        }
        nf_model_proc *p = nf_model_proc_create(m, "tour");
        uint64_t ram = (uint64_t)frames * NF_MODEL_PAGE;
        uint64_t small = nf_model_mmap(p, 0, ram * 3 / 4, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
        uint64_t big = nf_model_mmap(p, 0, ram * 3 / 2, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
        uint64_t touched = big != NF_MODEL_FAILED ? big : small;
        uint64_t tlen = big != NF_MODEL_FAILED ? ram * 3 / 2 : ram * 3 / 4;
        if (touched != NF_MODEL_FAILED)
            for (uint64_t off = 0; off < tlen && nf_model_proc_alive(p); off += NF_MODEL_PAGE)
                nf_model_access(p, touched + off, 1);
        nf_model_counters c;
        nf_model_counters_get(m, &c);
        char name[64];
        snprintf(name, sizeof name, "model_mode%d_maps_0.75x_ram", mode);
        nf_tour_figure(r, name, small != NF_MODEL_FAILED, "bool", "model");
        snprintf(name, sizeof name, "model_mode%d_maps_1.5x_ram", mode);
        nf_tour_figure(r, name, big != NF_MODEL_FAILED, "bool", "model");
        snprintf(name, sizeof name, "model_mode%d_oom_kills", mode);
        nf_tour_figure(r, name, (double)c.oom_kills, "kills", "model");
        used += (size_t)snprintf(summary + used, used < cap ? cap - used : 0,
                                 "%smode %d: 0.75x RAM %s, 1.5x %s, %llu OOM kill(s)", mode ? "; " : "", mode,
                                 small != NF_MODEL_FAILED ? "granted" : "NULL",
                                 big != NF_MODEL_FAILED ? "granted" : "NULL", (unsigned long long)c.oom_kills);
        nf_model_destroy(m);
    }
}

void nf_tour_step_overcommit(nf_tour_run *r)
{
    long mode = (long)nf_tour_read_ll("/proc/sys/vm/overcommit_memory");
    double ram = (double)nf_tour_meminfo_kib("MemTotal") * 1024, swap = (double)nf_tour_meminfo_kib("SwapTotal") * 1024;
    double limit = (double)nf_tour_meminfo_kib("CommitLimit") * 1024;
    nf_tour_figure(r, "overcommit_memory", (double)mode, "mode", "proc");
    nf_tour_figure(r, "ram_plus_swap", (ram + swap) / (1 << 30), "GiB", "proc");
    nf_tour_figure(r, "commit_limit", limit / (1 << 30), "GiB", "proc");
    /* Binary search, 64 MiB resolution, between 1 MiB and 128 TiB (the
     * x86-64 user address space). */
    unsigned long long lo = 1ull << 20, hi = 1ull << 47, step = 64ull << 20;
    int tries = 0;
    if (fits(hi)) {
        lo = hi;
    } else {
        while (hi - lo > step) {
            unsigned long long mid = lo + (hi - lo) / 2;
            if (fits(mid))
                lo = mid;
            else
                hi = mid;
            tries++;
        }
    }
    nf_tour_did(r,
                "binary search for the largest malloc that succeeds, one child per try (%d tries, 64 MiB "
                "resolution, nothing touched)",
                tries);
    double largest = (double)lo / (1 << 30);
    nf_tour_figure(r, "largest_single_malloc", largest, "GiB", "children");
    try_arg many = {lo, 64, 0};
    char out[128];
    nf_tour_child(try_child, &many, NULL, 10, out, sizeof out);
    double held = nf_tour_get(out, "held");
    nf_tour_did(r, "one child mallocs blocks of that size, keeping each, until one fails (at most 64)");
    nf_tour_figure(r, "blocks_held_at_once", held, "blocks", "children");
    nf_tour_figure(r, "virtual_held_at_once", held * largest, "GiB", "children");
    try_arg as = {1ull << 30, 1, 256ull << 20};
    nf_tour_child(try_child, &as, NULL, 10, out, sizeof out);
    double as_errno = nf_tour_get(out, "errno");
    nf_tour_did(r, "a child with RLIMIT_AS = 256 MiB asks for 1 GiB");
    nf_tour_figure(r, "rlimit_as_malloc_returned_null", nf_tour_get(out, "held") == 0, "bool", "children");
    nf_tour_figure(r, "rlimit_as_errno", as_errno, "errno", "children");
    char model[512] = "";
    nf_tour_did(r, "the kernel model (16 MiB RAM, no swap) in modes 0, 1, 2: map 0.75x and 1.5x RAM, touch what "
                   "was granted");
    model_modes(r, model, sizeof model);
    /* The article: malloc(500 GB) succeeds on an 8 GB box. It holds here
     * if the largest single malloc is far above RAM + swap. */
    double ratio = (double)lo / (ram + swap);
    nf_tour_verdict_kind v = ratio > 4 ? NF_TOUR_HOLDS : NF_TOUR_NOT_HERE;
    nf_tour_verdict(r, v,
                    "under mode %ld the largest single malloc was %.1f GiB, %.2fx RAM + swap (%.1f GiB)%s; yet one "
                    "process held %.0f such blocks (%.0f GiB virtual, CommitLimit %.1f GiB), so the bet is on the "
                    "sum, not one call; RLIMIT_AS gave a clean NULL (errno %.0f); model: %s",
                    mode, largest, ratio, (ram + swap) / (1 << 30),
                    v == NF_TOUR_NOT_HERE ? ": mode 0's heuristic refuses one call larger than RAM + swap, so "
                                            "malloc(500 GB) on an 8 GB box fails"
                                          : "",
                    held, held * largest, limit / (1 << 30), as_errno, model);
}
