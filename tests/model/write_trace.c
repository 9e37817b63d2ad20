/* write_trace.c: writes the tests' synthetic trace (tests/common/
 * synthetic_trace.h) to a file, so that the CLI tests have a trace
 * without a recorder (sanitized builds have none).
 * usage: write_trace OUT EVENTS MAX_SIZE */
#include <stdio.h>
#include <stdlib.h>

#include "notfree/trace.h"
#include "../common/synthetic_trace.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: write_trace OUT EVENTS MAX_SIZE\n");
        return 2;
    }
    nf_trace *t = synthetic_trace(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
    int rc = nf_trace_save(t, argv[1]);
    if (rc != 0)
        perror(argv[1]);
    nf_trace_free(t);
    return rc ? 1 : 0;
}
