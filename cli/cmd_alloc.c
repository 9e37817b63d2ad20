/* cli/cmd_alloc.c: `notfree alloc --list`: the registered allocators, what
 * each says it is (identify, on a heap made for the purpose), its drop-in
 * library when one was built, and the workloads the benches run. */
#include "commands.h"
#include "compare.h"

#include "notfree/alloc.h"
#include "notfree/workload.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

static int list(void)
{
    printf("allocators:\n");
    for (size_t i = 0; i < nf_allocator_count(); i++) {
        const nf_allocator *a = nf_allocator_at(i);
        char id[256] = "(no heap: cannot identify)", path[PATH_MAX + 64];
        nf_heap *h = a->create(NULL);
        if (h) {
            a->identify(h, id, sizeof id);
            a->destroy(h);
        }
        const char *lib = a->default_heap && nf_cmp_locate_dropin(a->name, path, sizeof path) == 0 ? path : NULL;
        printf("  %-8s %s\n", a->name, a->description);
        printf("  %-8s   identifies as: %s\n", "", id);
        printf("  %-8s   drop-in: %s\n", "",
               lib               ? lib
               : a->default_heap ? "libnotfree-<name>.so not found (build tree or install tree)"
                                 : "none (the process's own malloc)");
    }
    printf("workloads:\n");
    int width = 0; /* the longest name: every description starts in one column */
    for (size_t i = 0; i < nf_workload_count(); i++) {
        int n = (int)strlen(nf_workload_name(nf_workload_at(i)));
        width = n > width ? n : width;
    }
    for (size_t i = 0; i < nf_workload_count(); i++) {
        const nf_workload *w = nf_workload_at(i);
        printf("  %-*s %s\n", width, nf_workload_name(w), nf_workload_description(w));
    }
    return 0;
}

void nf_cmd_alloc_help(FILE *f)
{
    fprintf(f, "usage: notfree alloc [--list]\n\n"
               "  --list   the registered allocators: description, what identify says\n"
               "           (the system adapter names the malloc this process runs on,\n"
               "           e.g. a preloaded one), the drop-in library, and the workloads\n"
               "           of the alloc/<allocator>/<workload>/threads:<n> benches.\n"
               "Without flags, --list.\n");
}

int nf_cmd_alloc(int argc, char **argv)
{
    int do_list = argc <= 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            do_list = 1;
        } else {
            fprintf(stderr, "notfree alloc: unknown flag '%s'\n\n", argv[i]);
            nf_cmd_alloc_help(stderr);
            return 2;
        }
    }
    return do_list ? list() : 0;
}
