/* cli/cmd_tour.c: `notfree tour`: parse the flags, hand the plan to the
 * runner in tour/ (which runs, narrates and reports). */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#include "../tour/tour.h"

void nf_cmd_tour_help(FILE *f)
{
    fprintf(f, "usage: notfree tour [--step NAME[,NAME...]] [--list] [--json FILE] [--report FILE.md] [--quick]\n\n"
               "Takes the claims of \"malloc Is Not Free\" one by one and measures each on this box:\n"
               "the claim, what was done, the figures (each with its source: timing, rusage, proc,\n"
               "cgroup, model, syscall counter) and a verdict computed from them: holds, holds with\n"
               "a nuance, does not hold here, or skipped with the reason.\n\n"
               "  --step LIST    only these steps (names from --list), in the tour's order\n"
               "  --list         the steps and what each needs, then exit\n"
               "  --json FILE    the results (default results/tour-<host>-<UTC>.json)\n"
               "  --report FILE  also a Markdown report (charts beside it)\n"
               "  --quick        smaller sizes: under 30 s (the default tour: under 3 min)\n\n"
               "It changes no global setting (no sysctl, swapon or THP mode); what could exhaust\n"
               "memory runs in a child inside a memory cgroup it makes (v1 or v2) with a limit far\n"
               "below MemAvailable; children, cgroups and files are removed at the end and on Ctrl-C.\n");
}

int nf_cmd_tour(int argc, char **argv)
{
    nf_tour_options o = {0};
    int list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--step")     ? &o.only
                           : !strcmp(a, "--json")   ? &o.json_path
                           : !strcmp(a, "--report") ? &o.report_path
                                                    : NULL;
        if (dst) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "notfree tour: %s needs a value\n", a);
                return 2;
            }
            *dst = argv[++i];
        } else if (!strcmp(a, "--quick")) {
            o.quick = 1;
        } else if (!strcmp(a, "--list")) {
            list = 1;
        } else {
            fprintf(stderr, "notfree tour: unknown flag '%s' (see notfree tour --help)\n", a);
            return 2;
        }
    }
    char bad[128];
    if (o.only && nf_tour_check_steps(o.only, bad, sizeof bad) != 0) {
        fprintf(stderr, "notfree tour: unknown step '%s' (notfree tour --list names them)\n", bad);
        return 2;
    }
    if (list) {
        nf_tour_list(stdout);
        return 0;
    }
    return nf_tour_main(&o);
}
