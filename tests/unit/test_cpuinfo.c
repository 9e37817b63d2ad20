/* test_cpuinfo: the TLB geometry is sane and is what CPUID says (checked
 * against the raw leaves on AMD), the cached copy matches a fresh read,
 * and the JSON is valid in both the available and unavailable forms. */
#include "../common/check.h"
#include "json_check.h"
#include "notfree/cpuinfo.h"

#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static const bool have_cpuid = true;
static void raw(unsigned leaf, unsigned r[4]) { __cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]); }
#else
static const bool have_cpuid = false;
static void raw(unsigned leaf, unsigned r[4])
{
    (void)leaf;
    r[0] = r[1] = r[2] = r[3] = 0;
}
#endif

static nf_cpuinfo ci;

static void test_read(void)
{
    int rc = nf_cpuinfo_read(&ci);
    printf("vendor %s, model \"%s\" (%s), %d TLBs from %s%s\n", ci.vendor, ci.model, ci.model_source, ci.ntlb,
           ci.tlb_source, ci.tlb_unavailable);
    CHECK(ci.model[0] != '\0', "no model");
    CHECK(ci.model[0] != ' ' && ci.model[strlen(ci.model) - 1] != ' ', "untrimmed model");
    if (!have_cpuid || (strcmp(ci.vendor, "AuthenticAMD") && strcmp(ci.vendor, "GenuineIntel"))) {
        CHECK(rc == -1 || ci.ntlb > 0, "rc %d", rc);
        CHECK(ci.ntlb > 0 || ci.tlb_unavailable[0], "unavailable without a reason");
        return;
    }
    CHECK(rc == 0 && ci.ntlb > 0, "rc %d, %d TLBs: %s", rc, ci.ntlb, ci.tlb_unavailable);
    CHECK(ci.tlb_source[0] && !ci.tlb_unavailable[0], "source/reason");
    for (int i = 0; i < ci.ntlb; i++) {
        const nf_tlb_level *t = &ci.tlb[i];
        CHECK(t->name[0] == 'L' && t->level >= 1 && t->level <= 3, "tlb %d name %s level %d", i, t->name, t->level);
        CHECK(t->entries > 0 && t->ways >= 0 && t->ways < t->entries, "%s: %d entries %d ways", t->name, t->entries,
              t->ways);
        CHECK(t->page_kib == 4 || t->page_kib == 2048 || t->page_kib == 4096 || t->page_kib == 1048576,
              "%s page %d KiB", t->name, t->page_kib);
        CHECK(strchr("diuls", t->kind) != NULL, "kind %c", t->kind);
        printf("  %-4s %7d KiB pages: %5d entries, %s%d ways\n", t->name, t->page_kib, t->entries,
               t->ways ? "" : "fully associative, ", t->ways);
    }
    CHECK(nf_cpuinfo_tlb(&ci, 1, 'd', 4) != NULL, "no L1 dTLB for 4 KiB pages");
    CHECK(nf_cpuinfo_tlb(&ci, 7, 'd', 4) == NULL, "found a level-7 TLB");
}

/* AMD: the figures are the raw leaves' fields, decoded. */
static void test_amd_raw(void)
{
    if (strcmp(ci.vendor, "AuthenticAMD") != 0) {
        printf("not AMD: skipped\n");
        return;
    }
    unsigned r[4];
    raw(0x80000005, r);
    const nf_tlb_level *t = nf_cpuinfo_tlb(&ci, 1, 'd', 4);
    CHECK(t && t->entries == (int)((r[1] >> 16) & 0xFF), "L1d 4K entries vs EBX %08x", r[1]);
    if (t && (r[1] >> 24) == 0xFF)
        CHECK(t->ways == 0, "0xFF is fully associative");
    t = nf_cpuinfo_tlb(&ci, 1, 'i', 2048);
    CHECK(!(r[0] & 0xFF) || (t && t->entries == (int)(r[0] & 0xFF)), "L1i 2M vs EAX %08x", r[0]);
    raw(0x80000006, r);
    static const int ways_of_code[16] = {-1, 1, 2, 3, 4, 6, 8, -1, 16, -1, 32, 48, 64, 96, 128, 0};
    t = nf_cpuinfo_tlb(&ci, 2, 'd', 4);
    int code = (int)(r[1] >> 28), want = ways_of_code[code];
    if (want >= 0 && ((r[1] >> 16) & 0xFFF)) {
        CHECK(t && t->entries == (int)((r[1] >> 16) & 0xFFF), "L2d 4K entries vs EBX %08x", r[1]);
        CHECK(t && t->ways == want, "L2d 4K assoc code %d: ways %d, want %d", code, t ? t->ways : -2, want);
    }
}

static void test_cached(void)
{
    const nf_cpuinfo *g = nf_cpuinfo_get();
    CHECK(g && g == nf_cpuinfo_get(), "not one cached copy");
    CHECK(g && g->ntlb == ci.ntlb && memcmp(g->tlb, ci.tlb, sizeof ci.tlb) == 0, "cache differs");
    CHECK_STR(g->model, ci.model);
}

static void test_json(void)
{
    char buf[8192];
    size_t n = nf_cpuinfo_tlb_json(&ci, buf, sizeof buf);
    CHECK(n == strlen(buf) && n < sizeof buf, "length %zu", n);
    CHECK(json_valid(buf), "invalid: %s", buf);
    char small[20];
    CHECK(nf_cpuinfo_tlb_json(&ci, small, sizeof small) == n, "needed length");
    CHECK(strlen(small) == sizeof small - 1, "truncation");

    nf_cpuinfo none;
    memset(&none, 0, sizeof none);
    snprintf(none.tlb_unavailable, sizeof none.tlb_unavailable, "no \"CPUID\" \\ here\n");
    nf_cpuinfo_tlb_json(&none, buf, sizeof buf);
    CHECK(json_valid(buf), "invalid: %s", buf);
    CHECK_STR(buf, "{\"unavailable\": \"no \\\"CPUID\\\" \\\\ here\\n\"}");
    if (getenv("NF_TEST_PRINT")) {
        nf_cpuinfo_tlb_json(&ci, buf, sizeof buf);
        puts(buf);
    }
}

int main(void)
{
    TEST(test_read);
    TEST(test_amd_raw);
    TEST(test_cached);
    TEST(test_json);
    return check_done();
}
