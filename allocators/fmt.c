/* allocators/fmt.c: the non-allocating line formatter (fmt.h). */
#include "fmt.h"

static void put(nf_fmt *f, char c)
{
    if (f->n < f->cap - 1)
        f->b[f->n++] = c;
}

void nf_fmt_str(nf_fmt *f, const char *s)
{
    for (; *s; s++)
        put(f, *s);
}

void nf_fmt_u64(nf_fmt *f, uint64_t v)
{
    char d[20];
    int i = 0;
    do
        d[i++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (i > 0)
        put(f, d[--i]);
}

void nf_fmt_hex(nf_fmt *f, uint64_t v)
{
    int digits = 1;
    while (digits < 16 && (v >> (4 * digits)))
        digits++;
    nf_fmt_str(f, "0x");
    for (int i = digits - 1; i >= 0; i--)
        put(f, "0123456789abcdef"[(v >> (4 * i)) & 15]);
}

void nf_fmt_end(nf_fmt *f) { f->b[f->n++] = '\n'; }
