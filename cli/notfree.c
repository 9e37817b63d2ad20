/* cli/notfree.c: the `notfree` program: dispatch to a subcommand. */
#include "commands.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const nf_command commands[] = {
    {"bench", "run benches through Google Benchmark (all its --benchmark_* flags)", nf_cmd_bench, nf_cmd_bench_help},
    {"run", "the default suite: benches to results/*.json, charts, a summary table", nf_cmd_run, nf_cmd_run_help},
    {"model", "run an address pattern through the kernel model (TLB presets, faults, swap)", nf_cmd_model,
     nf_cmd_model_help},
    {"alloc", "the registered allocators, what they identify as, their drop-ins (--list)", nf_cmd_alloc,
     nf_cmd_alloc_help},
    {"compare", "allocators side by side, each preloaded in its own process: table, JSON, charts", nf_cmd_compare,
     nf_cmd_compare_help},
    {"check", "a misuse and conformance scorecard for any allocator, each probe in its own process", nf_cmd_check,
     nf_cmd_check_help},
    {"tour", "the claims of \"malloc Is Not Free\" measured on this box, each with a verdict", nf_cmd_tour,
     nf_cmd_tour_help},
    {"diff", "judge two results files: U-test per row and metric, verdicts, exit 1 on a regression", nf_cmd_diff,
     nf_cmd_diff_help},
    {"baseline", "keep a results file as this box's baseline (save), show them (list)", nf_cmd_baseline,
     nf_cmd_baseline_help},
    {"regress", "A/B of two builds (--base REV) or two allocators (--a, --b), interleaved: the verdict", nf_cmd_regress,
     nf_cmd_regress_help},
    {"trace", "record a program's allocation calls; their stats; replay them through an allocator", nf_cmd_trace,
     nf_cmd_trace_help},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: notfree <command> [flags]\n\n"
               "notfree measures what stands behind malloc: the allocator, its system\n"
               "calls, page faults, the TLB, fork's copy-on-write and resident memory.\n\n"
               "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`notfree <command> --help` explains each.\n");
}

/* glibc reads MALLOC_PERTURB_ once, at its first malloc: `meson test`
 * sets a random one, which would fill every freed block and skew what
 * we measure. Re-exec once with 0. */
static void no_malloc_perturb(char **argv)
{
    const char *p = getenv("MALLOC_PERTURB_");
    if (p && strcmp(p, "0") != 0 && strcmp(p, "") != 0) {
        setenv("MALLOC_PERTURB_", "0", 1);
        execv("/proc/self/exe", argv);
        /* If re-exec fails we go on: figures then carry the perturbation. */
    }
}

int main(int argc, char **argv)
{
    no_malloc_perturb(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        for (int j = 2; j < argc && strcmp(argv[j], "--"); j++) /* after --: another program's flags */
            if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                commands[i].help(stdout);
                return 0;
            }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "notfree: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
