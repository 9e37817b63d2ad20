/* json.c: the jansson glue of notfree/json.h. */
#include "notfree/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t nf_json_dump_buf(const json_t *j, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    char *s = json_dumps(j, NF_JSON_FLAGS | JSON_ENCODE_ANY);
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(buf, s, k);
        buf[k] = '\0';
    }
    free(s);
    return n;
}

int nf_json_write_file(const json_t *j, const char *path)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int rc = json_dumpf(j, f, NF_JSON_FLAGS | JSON_INDENT(2));
    if (rc == 0 && fputc('\n', f) == EOF)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        errno = e;
    }
    return rc;
}

/* Length of a valid UTF-8 sequence at s, or 0 if invalid (overlong forms,
 * surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5)
        n = 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

json_t *nf_json_string(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    /* Not UTF-8 (a file name, a CPUID string): each invalid byte becomes
     * U+FFFD, so the text stays readable and the JSON valid. */
    size_t len = strlen(s), cap = 3 * len + 1, n = 0;
    char *fixed = malloc(cap);
    if (!fixed)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t k = *p < 0x80 ? 1 : utf8_len(p);
        if (k) {
            memcpy(fixed + n, p, k);
            n += k;
            p += k;
        } else {
            memcpy(fixed + n, "\xEF\xBF\xBD", 3);
            n += 3;
            p++;
        }
    }
    j = json_stringn(fixed, n);
    free(fixed);
    return j;
}

int nf_json_set_str(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, nf_json_string(s));
}

int nf_json_set_int(json_t *obj, const char *key, long long v)
{
    return json_object_set_new(obj, key, json_integer((json_int_t)v));
}

int nf_json_set_real(json_t *obj, const char *key, double v)
{
    return json_object_set_new(obj, key, isfinite(v) ? json_real(v) : json_null());
}

int nf_json_set_parsed(json_t *obj, const char *key, const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text ? text : "", JSON_DECODE_ANY, &err);
    if (!v)
        v = json_pack("{s:s}", "invalid_json", err.text);
    return json_object_set_new(obj, key, v);
}
