/* check/probe_main.c: notfree-probe, the program `notfree check` runs
 * under each allocator (LD_PRELOAD, or none for glibc). Small on purpose:
 * no hwloc, no libbenchmark, nothing but the battery and libc.
 *
 *   notfree-probe NAME           run one probe; markers on stdout (probe.h)
 *   notfree-probe --list         name, family and summary of every probe
 *   notfree-probe --whoami PATH  where malloc resolves; with PATH, also
 *                                dlopen PATH and say why it fails
 *                                (compare/owner.h: the one check that
 *                                `notfree compare` shares)
 * Exit: 0 the probe ended on its own (its verdict in the result line);
 * 2 bad arguments. */
#include "owner.h"
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < nf_probe_count(); i++) {
            const nf_probe *p = nf_probe_at(i);
            printf("%-24s %-7s %s\n", p->name, p->family == NF_PROBE_API ? "api" : "misuse", p->what);
        }
        return 0;
    }
    if ((argc == 2 || argc == 3) && !strcmp(argv[1], "--whoami"))
        return nf_whoami_main(argc == 3 ? argv[2] : NULL);
    const nf_probe *p = argc == 2 ? nf_probe_find(argv[1]) : NULL;
    if (!p) {
        fprintf(stderr, "usage: notfree-probe NAME | --list | --whoami [PATH]%s%s\n",
                argc == 2 ? ": unknown probe " : "", argc == 2 ? argv[1] : "");
        return 2;
    }
    /* The allocator's own start-up (reading its options, mapping its
     * first pages) happens here, not inside the call a probe watches;
     * except for errno-success, which asks whether the first call of a
     * program keeps errno too. */
    if (strcmp(p->name, "errno-success") != 0)
        free(malloc(1));
    p->run();
    return 0;
}
