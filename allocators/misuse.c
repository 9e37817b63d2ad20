/* allocators/misuse.c: the one misuse report of our allocators (misuse.h). */
#include "misuse.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fmt.h"

_Noreturn void nf_alloc_die(const char *name, const char *what, const void *p, const char *why)
{
    char buf[256];
    nf_fmt f = {.b = buf, .cap = sizeof buf, .n = 0};
    nf_fmt_str(&f, "notfree-");
    nf_fmt_str(&f, name);
    nf_fmt_str(&f, ": ");
    nf_fmt_str(&f, what);
    nf_fmt_str(&f, " ");
    nf_fmt_hex(&f, (uintptr_t)p);
    if (why) {
        nf_fmt_str(&f, ": ");
        nf_fmt_str(&f, why);
    }
    nf_fmt_end(&f);
    ssize_t rc = write(2, buf, f.n);
    (void)rc;
    abort();
}
