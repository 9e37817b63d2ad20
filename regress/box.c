/* regress/box.c: whether two results come from the same box, and the box's
 * key for baselines. An absolute time from another CPU, kernel, hypervisor
 * or THP mode, or from another notfree, is not comparable, so `diff`
 * refuses it unless told --force. The facts are context.notfree's. */
#include "notfree/regress.h"

#include <stdio.h>
#include <string.h>

/* The box fields, in the order they are reported. A field absent from
 * both files is not checked (older files lack hypervisor and version). */
static const char *const box_fields[] = {"cpu_model", "kernel_release", "hypervisor", "thp_mode", "notfree_version"};
#define NFIELDS (sizeof box_fields / sizeof box_fields[0])
/* The fields of the key: the version is left out, so that a baseline
 * survives an upgrade of notfree (diff still refuses a mismatch). */
#define NKEY 4

static const char *field(const json_t *box, const char *k, char *buf, size_t cap)
{
    const json_t *v = json_object_get(box, k);
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    nf_json_dump_buf(v, buf, cap);
    return buf;
}

int nf_rg_box_differs(const json_t *a, const json_t *b, char *why, size_t cap)
{
    size_t n = 0;
    int diffs = 0;
    why[0] = '\0';
    if (!a || !b) {
        snprintf(why, cap, "context.notfree (the box facts) missing from the %s file",
                 !a && !b ? "old and the new"
                 : !a     ? "old"
                          : "new");
        return 1;
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        char ba[256], bb[256];
        const char *va = field(a, box_fields[i], ba, sizeof ba);
        const char *vb = field(b, box_fields[i], bb, sizeof bb);
        if (!va && !vb)
            continue;
        if (va && vb && !strcmp(va, vb))
            continue;
        diffs++;
        if (n < cap)
            n += (size_t)snprintf(why + n, cap - n, "%s%s: '%s' vs '%s'", diffs > 1 ? "; " : "", box_fields[i],
                                  va ? va : "(absent)", vb ? vb : "(absent)");
    }
    return diffs;
}

int nf_rg_box_key(const json_t *box, char *buf, size_t cap)
{
    if (!box || cap < 24)
        return -1;
    char all[1024];
    size_t n = 0;
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a over every key field */
    for (size_t i = 0; i < NKEY; i++) {
        char tmp[256];
        const char *v = field(box, box_fields[i], tmp, sizeof tmp);
        if (!v)
            v = "none";
        for (const char *p = v; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ '|') * 1099511628211ULL;
        /* Sanitised: letters, digits, '.', '-'; runs of anything else -> '-'. */
        if (i && n + 1 < sizeof all)
            all[n++] = '_';
        bool dash = false;
        for (const char *p = v; *p && n + 1 < sizeof all; p++) {
            char c = *p;
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.';
            if (ok) {
                all[n++] = c;
                dash = false;
            } else if (!dash && n > 0 && all[n - 1] != '_') {
                all[n++] = '-';
                dash = true;
            }
        }
    }
    all[n] = '\0';
    size_t keep = cap - 18; /* room for "-" and 16 hex digits and NUL */
    if (keep > 96)
        keep = 96;
    if (n > keep)
        n = keep;
    snprintf(buf, cap, "%.*s-%016llx", (int)n, all, h);
    return 0;
}
