/* check/expected.c: the expected cells, check/expected.tsv: one line per
 * (probe, allocator), `probe<TAB>allocator<TAB>cell`, where cell may be
 * `a|b` for a cell that differs from run to run (address-space layout);
 * `#` starts a comment; blank lines are skipped. `notfree check --format expected`
 * prints the same format. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

int nf_check_expect_load(const char *path, nf_check_expect **out, size_t *n, char *why, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, len, "%s: cannot read it", path);
        return -1;
    }
    nf_check_expect *e = NULL;
    size_t ne = 0, cap = 0;
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char probe[64], alloc[64], cell[32], extra[8];
        int k = sscanf(line, "%63s %63s %31s %7s", probe, alloc, cell, extra);
        if (k <= 0)
            continue;
        unsigned mask = 0;
        for (char *tok = strtok(cell, "|"); tok; tok = strtok(NULL, "|"))
            mask |= nf_cell_parse(tok) == NF_CELL_COUNT ? 1u << NF_CELL_COUNT : 1u << nf_cell_parse(tok);
        if (k != 3 || mask == 0 || (mask >> NF_CELL_COUNT)) {
            snprintf(why, len, "%s:%d: want `probe<TAB>allocator<TAB>cell` with a known cell", path, lineno);
            free(e);
            fclose(f);
            return -1;
        }
        if (ne == cap) {
            cap = cap ? 2 * cap : 256;
            nf_check_expect *g = realloc(e, cap * sizeof *e);
            if (!g) {
                free(e);
                fclose(f);
                snprintf(why, len, "out of memory");
                return -1;
            }
            e = g;
        }
        snprintf(e[ne].probe, sizeof e[ne].probe, "%s", probe);
        snprintf(e[ne].alloc, sizeof e[ne].alloc, "%s", alloc);
        e[ne++].cells = mask;
    }
    fclose(f);
    *out = e;
    *n = ne;
    return 0;
}

unsigned nf_check_expect_find(const nf_check_expect *e, size_t n, const char *probe, const char *alloc)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(e[i].probe, probe) && !strcmp(e[i].alloc, alloc))
            return e[i].cells;
    return 0;
}
