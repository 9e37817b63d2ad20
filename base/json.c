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

int nf_json_set_str(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, s ? json_string(s) : json_null());
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
