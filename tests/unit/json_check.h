/* json_check.h: a strict JSON validator for the tests (RFC 8259: objects,
 * arrays, strings with escapes, numbers, true/false/null; no NaN, no
 * trailing commas, no raw control characters). json_valid() also lists the
 * top-level object's keys (raw, still escaped) into `keys`. */
#ifndef NF_TEST_JSON_CHECK_H
#define NF_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct json_p {
    const char *s;
    size_t i;
    int depth;
    char (*keys)[64];
    int nkeys, maxkeys;
} json_p;

static bool json_value(json_p *p);

static void json_ws(json_p *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')
        p->i++;
}

static bool json_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; its raw body (without quotes) is copied to out if out != NULL. */
static bool json_string(json_p *p, char *out, size_t cap)
{
    if (p->s[p->i] != '"')
        return false;
    size_t start = ++p->i;
    for (;;) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '\0' || c < 0x20)
            return false;
        if (c == '"')
            break;
        if (c == '\\') {
            char e = p->s[++p->i];
            if (e == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!json_hex(p->s[p->i + k]))
                        return false;
                p->i += 4;
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return false;
            }
        }
        p->i++;
    }
    if (out && cap) {
        size_t n = p->i - start < cap - 1 ? p->i - start : cap - 1;
        memcpy(out, p->s + start, n);
        out[n] = '\0';
    }
    p->i++;
    return true;
}

static bool json_number(json_p *p)
{
    const char *s = p->s;
    if (s[p->i] == '-')
        p->i++;
    if (s[p->i] == '0')
        p->i++;
    else if (s[p->i] >= '1' && s[p->i] <= '9')
        while (s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    else
        return false;
    if (s[p->i] == '.') {
        p->i++;
        if (!(s[p->i] >= '0' && s[p->i] <= '9'))
            return false;
        while (s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    }
    if (s[p->i] == 'e' || s[p->i] == 'E') {
        p->i++;
        if (s[p->i] == '+' || s[p->i] == '-')
            p->i++;
        if (!(s[p->i] >= '0' && s[p->i] <= '9'))
            return false;
        while (s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    }
    return true;
}

static bool json_container(json_p *p, char close, bool object)
{
    bool top = p->depth == 1 && object;
    p->i++;
    json_ws(p);
    if (p->s[p->i] == close) {
        p->i++;
        return true;
    }
    for (;;) {
        json_ws(p);
        if (object) {
            char key[64];
            if (!json_string(p, key, sizeof key))
                return false;
            if (top && p->keys && p->nkeys < p->maxkeys)
                memcpy(p->keys[p->nkeys++], key, sizeof key);
            json_ws(p);
            if (p->s[p->i++] != ':')
                return false;
        }
        if (!json_value(p))
            return false;
        json_ws(p);
        char c = p->s[p->i++];
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

static bool json_value(json_p *p)
{
    json_ws(p);
    const char *s = p->s + p->i;
    bool ok;
    if (p->depth > 64)
        return false;
    switch (*s) {
    case '{': p->depth++; ok = json_container(p, '}', true); p->depth--; return ok;
    case '[': p->depth++; ok = json_container(p, ']', false); p->depth--; return ok;
    case '"': return json_string(p, NULL, 0);
    case 't': if (strncmp(s, "true", 4)) return false; p->i += 4; return true;
    case 'f': if (strncmp(s, "false", 5)) return false; p->i += 5; return true;
    case 'n': if (strncmp(s, "null", 4)) return false; p->i += 4; return true;
    default: return json_number(p);
    }
}

/* Whether text is exactly one JSON value; top-level object keys go to keys. */
static bool json_valid_keys(const char *text, char (*keys)[64], int maxkeys, int *nkeys)
{
    json_p p = {text, 0, 0, keys, 0, maxkeys};
    bool ok = text && json_value(&p);
    if (ok) {
        json_ws(&p);
        ok = p.s[p.i] == '\0';
    }
    if (nkeys)
        *nkeys = p.nkeys;
    return ok;
}

static bool json_valid(const char *text)
{
    return json_valid_keys(text, NULL, 0, NULL);
}

#endif
