/* allocators/misuse.c: the one misuse report of our allocators (misuse.h). */
#include "misuse.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Appends s to buf[*n], leaving room for the line's end. */
static void put(char *buf, size_t cap, size_t *n, const char *s)
{
    for (; *s && *n < cap - 2; s++)
        buf[(*n)++] = *s;
}

_Noreturn void nf_alloc_die(const char *name, const char *what, const void *p, const char *why)
{
    char buf[256], hex[19] = "0x";
    size_t n = 0;
    uintptr_t v = (uintptr_t)p;
    int digits = 1;
    while (digits < 16 && (v >> (4 * digits)))
        digits++;
    for (int i = 0; i < digits; i++)
        hex[2 + i] = "0123456789abcdef"[(v >> (4 * (digits - 1 - i))) & 15];
    hex[2 + digits] = 0;
    put(buf, sizeof buf, &n, "notfree-");
    put(buf, sizeof buf, &n, name);
    put(buf, sizeof buf, &n, ": ");
    put(buf, sizeof buf, &n, what);
    put(buf, sizeof buf, &n, " ");
    put(buf, sizeof buf, &n, hex);
    if (why) {
        put(buf, sizeof buf, &n, ": ");
        put(buf, sizeof buf, &n, why);
    }
    buf[n++] = '\n';
    ssize_t rc = write(2, buf, n);
    (void)rc;
    abort();
}
