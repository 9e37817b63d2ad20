/* test_context: the context is valid JSON with the box's facts, the
 * registry keeps what it is told (first reason wins, last value wins,
 * from many threads), and strings are escaped exactly (jansson, through
 * nf_json_string, which also replaces bytes that are not UTF-8). The validator is
 * json_check.h (strict: no NaN, no raw control characters). */
#include "../common/check.h"
#include "json_check.h"
#include "notfree/context.h"
#include "notfree/counters.h"
#include "notfree/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_validator(void)
{
    /* the validator itself must be able to say no */
    static const char *bad[] = {"",          "{",        "{\"a\":NaN}", "{\"a\":1,\"a\":2}", "[1,]",
                                "{\"a\" 1}", "\"\x01\"", "\"\\x\"",     "\"\\u12g4\"",       "01",
                                "1.",        "{} {}",    "[nan]",       "{\"a\":1,}",        "tru",
                                "\"abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!json_valid(bad[i]), "validator accepted \"%s\"", bad[i]);
    static const char *good[] = {
        "{}", "[]", "0", "-1.5e+3", "\"a\\u00e9\\n\"", "{\"a\": [1, {\"b\": null}], \"c\": true}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(json_valid(good[i]), "validator refused %s", good[i]);
}

static void test_json_string(void)
{
    /* valid UTF-8 kept, each invalid byte one U+FFFD, NULL as null */
    json_t *j = nf_json_string("caf\xc3\xa9 \xff\xfe!\xe0\x80");
    CHECK(j && json_is_string(j), "not a string");
    CHECK_STR(json_string_value(j), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd!\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    j = nf_json_string(NULL);
    CHECK(json_is_null(j), "NULL is not null");
    json_decref(j);
    char buf[64];
    j = nf_json_string("a\"b\n");
    CHECK(nf_json_dump_buf(j, buf, sizeof buf) == 8, "length");
    CHECK_STR(buf, "\"a\\\"b\\n\"");
    CHECK(nf_json_dump_buf(j, buf, 4) == 8 && strlen(buf) == 3, "truncation");
    json_decref(j);
}

static char *read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_facts(void)
{
    char buf[8192];
    if (read_text("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf)) {
        char *l = strchr(buf, '['), *r = l ? strchr(l, ']') : NULL;
        CHECK(r != NULL, "no [mode] in %s", buf);
        if (r) {
            *r = '\0';
            CHECK_STR(nf_thp_mode(), l + 1);
        }
    } else {
        CHECK(nf_thp_mode() == NULL, "thp mode without the sysfs file");
    }
    if (read_text("/proc/sys/vm/overcommit_memory", buf, sizeof buf))
        CHECK(nf_overcommit_mode() == atoi(buf), "overcommit %d vs %s", nf_overcommit_mode(), buf);
    if (read_text("/proc/meminfo", buf, sizeof buf)) {
        long long kib = -1;
        char *p = strstr(buf, "SwapTotal:");
        CHECK(p && sscanf(p, "SwapTotal: %lld kB", &kib) == 1, "meminfo");
        CHECK(nf_swap_total_kib() == kib, "swap %lld vs %lld", nf_swap_total_kib(), kib);
    }
}

enum { THREADS = 4, PER_THREAD = 50 };

static void *registrar(void *arg)
{
    int t = (int)(long)arg;
    char name[64], reason[64];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(name, sizeof name, "bench:t%d/%d", t, i);
        snprintf(reason, sizeof reason, "reason %d.%d", t, i);
        nf_context_unavailable(name, reason);
        nf_context_unavailable(name, "a later reason");
        snprintf(name, sizeof name, "key_t%d", t);
        nf_context_set(name, reason);
    }
    return NULL;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_json(void)
{
    nf_context_unavailable("bench:tricky", "quote \" backslash \\ newline \n tab \t bell \a");
    nf_context_unavailable("bench:tricky", "second reason loses");
    nf_context_set("memory_temperature", "cold");
    nf_context_set("allocator", "first");
    nf_context_set("allocator", "glibc \"2.36\"");

    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, registrar, (void *)t) == 0, "pthread_create");
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    char *j = nf_context_json();
    CHECK(j != NULL, "nf_context_json");
    if (!j)
        return;
    char keys[64][64];
    int nkeys = 0;
    CHECK(json_valid_keys(j, keys, 64, &nkeys), "invalid JSON:\n%s", j);
    static const char *want[] = {"topology",
                                 "cpu_model",
                                 "tlb",
                                 "kernel_release",
                                 "thp_mode",
                                 "thp_defrag",
                                 "overcommit_mode",
                                 "swap_total_kib",
                                 "counters_available",
                                 "memory_temperature",
                                 "pinning",
                                 "allocator",
                                 "key_t0",
                                 "key_t3",
                                 "unavailable"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int seen = 0;
        for (int k = 0; k < nkeys; k++)
            seen += strcmp(keys[k], want[w]) == 0;
        CHECK(seen == 1, "top-level key %s appears %d times", want[w], seen);
    }
    CHECK(strcmp(keys[nkeys - 1], "unavailable") == 0, "unavailable is not last");
    CHECK(strstr(j, "\"memory_temperature\": \"cold\"") != NULL, "set did not replace default");
    CHECK(strstr(j, "\"allocator\": \"glibc \\\"2.36\\\"\"") != NULL, "last value did not win");
    CHECK(strstr(j, "\"bench:tricky\": \"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007\"") != NULL,
          "tricky reason not escaped exactly");
    CHECK(strstr(j, "second reason loses") == NULL && strstr(j, "a later reason") == NULL,
          "a later reason replaced the first");
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            char e[96];
            snprintf(e, sizeof e, "\"bench:t%d/%d\": \"reason %d.%d\"", t, i, t, i);
            CHECK(strstr(j, e) != NULL, "missing %s", e);
        }
    CHECK(count(j, "\"bench:t") == THREADS * PER_THREAD + 1 /* tricky */, "duplicate entries");

    /* thp_mode in the JSON is the sysfs one; counters agree with the probe */
    const char *thp = nf_thp_mode();
    char e[128];
    snprintf(e, sizeof e, "\"thp_mode\": \"%s\"", thp ? thp : "");
    CHECK(!thp || strstr(j, e), "%s not in context", e);
    nf_counters c;
    nf_counters_open(&c, NF_CTR_SET_ALL);
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        snprintf(e, sizeof e, "\"counter:%s\": \"", nf_counter_name((nf_counter_id)i));
        bool listed = strstr(j, e) != NULL;
        CHECK(listed == !c.avail[i], "%s: available %d, listed unavailable %d", nf_counter_name((nf_counter_id)i),
              c.avail[i], listed);
        snprintf(e, sizeof e, "\"%s\"", nf_counter_name((nf_counter_id)i));
        char *ca = strstr(j, "\"counters_available\": [");
        char *end = ca ? strchr(ca, ']') : NULL;
        bool in_list = false;
        if (ca && end) {
            char *hit = strstr(ca, e);
            in_list = hit && hit < end;
        }
        CHECK(in_list == c.avail[i], "%s in counters_available: %d", e, in_list);
    }
    nf_counters_close(&c);
    if (getenv("NF_TEST_PRINT"))
        puts(j);
    free(j);
}

int main(void)
{
    TEST(test_validator);
    TEST(test_json_string);
    TEST(test_facts);
    TEST(test_json);
    return check_done();
}
