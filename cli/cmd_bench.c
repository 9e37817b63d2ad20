/* cli/cmd_bench.c: `notfree bench`: every registered bench, every
 * Google Benchmark flag, plus --pin and --list (see harness/shim.cc). */
#include "commands.h"

#include "notfree/bench.h"
#include "registry.h"

int nf_cmd_bench(int argc, char **argv)
{
    nf_register_all_benches();
    argv[0] = "notfree bench"; /* the shim's messages and usage name it */
    return nf_bench_main(argc, argv);
}

/* The shim prints the help (our flags, then Google Benchmark's) under
 * the program name it is given: here the whole command. */
void nf_cmd_bench_help(FILE *f)
{
    (void)f;
    char *argv[] = {"notfree bench", "--help", NULL};
    nf_bench_main(2, argv);
}
