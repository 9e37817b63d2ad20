/* json_check.h: strict JSON validation for the tests, through jansson (the
 * library that writes notfree's JSON is not the judge of its own output
 * alone: the validator test in test_context checks that it says no to
 * NaN, trailing commas, raw control characters, duplicate keys and
 * trailing text). */
#ifndef NF_TEST_JSON_CHECK_H
#define NF_TEST_JSON_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Whether text is exactly one JSON value (any type, no duplicate keys);
 * the top-level object's keys, in order, go to keys (at most maxkeys). */
static inline bool json_valid_keys(const char *text, char (*keys)[64], int maxkeys, int *nkeys)
{
    if (nkeys)
        *nkeys = 0;
    if (!text)
        return false;
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!v)
        return false;
    if (keys && json_is_object(v)) {
        const char *k;
        json_t *val;
        int n = 0;
        json_object_foreach(v, k, val)
        {
            if (n < maxkeys)
                snprintf(keys[n++], 64, "%s", k);
        }
        if (nkeys)
            *nkeys = n;
    }
    json_decref(v);
    return true;
}

static inline bool json_valid(const char *text) { return json_valid_keys(text, NULL, 0, NULL); }

#endif
