/* cpuinfo.c: CPU model and TLB geometry from CPUID (see notfree/cpuinfo.h).
 *
 * Glossary
 *   leaf     the CPUID function number in EAX (subleaf in ECX).
 *   L1 assoc AMD 0x80000005 gives ways directly; 0xFF = fully associative.
 *   L2 assoc AMD 0x80000006/0x80000019 give a 4-bit code (amd_l2_ways).
 */
#include "notfree/cpuinfo.h"
#include "notfree/json.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- configuration: the only place that knows whether CPUID exists ---- */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static const bool config_have_cpuid = true;
static bool cpuid_raw(unsigned leaf, unsigned sub, unsigned r[4])
{
    unsigned base = leaf & 0x80000000u;
    if (__get_cpuid_max(base, NULL) < leaf)
        return false;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
    return true;
}
/* The hypervisor leaves (0x40000000...) lie outside both ranges that
 * __get_cpuid_max knows; ask only when leaf 1 says a hypervisor is there. */
static void cpuid_hv_raw(unsigned r[4]) { __cpuid(0x40000000u, r[0], r[1], r[2], r[3]); }
#else
static const bool config_have_cpuid = false;
static bool cpuid_raw(unsigned leaf, unsigned sub, unsigned r[4])
{
    (void)leaf;
    (void)sub;
    r[0] = r[1] = r[2] = r[3] = 0;
    return false;
}
static void cpuid_hv_raw(unsigned r[4]) { r[0] = r[1] = r[2] = r[3] = 0; }
#endif

enum { EAX, EBX, ECX, EDX };

static void add_tlb(nf_cpuinfo *ci, int level, char kind, int page_kib, int entries, int ways)
{
    if (entries <= 0 || ci->ntlb >= NF_TLB_MAX)
        return;
    nf_tlb_level *t = &ci->tlb[ci->ntlb++];
    const char *k = kind == 'd' ? "d" : kind == 'i' ? "i" : kind == 'l' ? "ld" : kind == 's' ? "st" : "";
    snprintf(t->name, sizeof t->name, "L%d%s", level, k);
    t->level = level;
    t->kind = kind;
    t->page_kib = page_kib;
    t->entries = entries;
    t->ways = ways >= entries ? 0 : ways;
}

/* ---- AMD ---- */

/* AMD APM vol. 3, CPUID Fn8000_0006: the L2 cache/TLB associativity code.
 * Returns ways, 0 for fully associative, -1 for "disabled"/reserved/"see
 * leaf 0x8000001D" (9). */
static int amd_l2_ways(unsigned code)
{
    static const int table[16] = {
        [0x0] = -1, [0x1] = 1,  [0x2] = 2,  [0x3] = 3,  [0x4] = 4,  [0x5] = 6,  [0x6] = 8,   [0x7] = -1,
        [0x8] = 16, [0x9] = -1, [0xA] = 32, [0xB] = 48, [0xC] = 64, [0xD] = 96, [0xE] = 128, [0xF] = 0,
    };
    return table[code & 0xF];
}

/* Fn8000_0005 EAX/EBX: [31:24] dTLB assoc, [23:16] dTLB entries,
 * [15:8] iTLB assoc, [7:0] iTLB entries. */
static void amd_l1(nf_cpuinfo *ci, unsigned reg, int page_kib)
{
    unsigned da = reg >> 24, dn = (reg >> 16) & 0xFF, ia = (reg >> 8) & 0xFF, in = reg & 0xFF;
    add_tlb(ci, 1, 'd', page_kib, (int)dn, da == 0xFF ? 0 : (int)da);
    add_tlb(ci, 1, 'i', page_kib, (int)in, ia == 0xFF ? 0 : (int)ia);
}

/* Fn8000_0006 EAX/EBX and Fn8000_0019 EAX/EBX: [31:28] dTLB assoc code,
 * [27:16] dTLB entries, [15:12] iTLB assoc code, [11:0] iTLB entries. */
static void amd_coded(nf_cpuinfo *ci, int level, unsigned reg, int page_kib)
{
    int dw = amd_l2_ways(reg >> 28), iw = amd_l2_ways((reg >> 12) & 0xF);
    if (dw >= 0)
        add_tlb(ci, level, 'd', page_kib, (int)((reg >> 16) & 0xFFF), dw);
    if (iw >= 0)
        add_tlb(ci, level, 'i', page_kib, (int)(reg & 0xFFF), iw);
}

static void tlb_amd(nf_cpuinfo *ci)
{
    unsigned r[4];
    if (cpuid_raw(0x80000005, 0, r)) {
        amd_l1(ci, r[EBX], 4);
        amd_l1(ci, r[EAX], 2048);
        snprintf(ci->tlb_source, sizeof ci->tlb_source, "cpuid 0x80000005");
    }
    if (cpuid_raw(0x80000006, 0, r)) {
        amd_coded(ci, 2, r[EBX], 4);
        amd_coded(ci, 2, r[EAX], 2048);
        snprintf(ci->tlb_source, sizeof ci->tlb_source, "cpuid 0x80000005/0x80000006");
    }
    int before = ci->ntlb;
    if (cpuid_raw(0x80000019, 0, r)) {
        amd_coded(ci, 1, r[EAX], 1048576);
        amd_coded(ci, 2, r[EBX], 1048576);
    }
    if (ci->ntlb > before)
        snprintf(ci->tlb_source, sizeof ci->tlb_source, "cpuid 0x80000005/0x80000006/0x80000019");
    snprintf(ci->note, sizeof ci->note,
             "as CPUID reports (a hypervisor may change it); 2M entries also hold 4M pages; "
             "CPUID may understate (Zen 4 reports 2048 L2 dTLB 4K entries, has 3072)");
}

/* ---- Intel ---- */

/* Leaf 0x18, one subleaf per TLB: EDX[4:0] type (1 data, 2 instruction,
 * 3 unified, 4 load-only, 5 store-only), EDX[7:5] level, EDX[8] fully
 * associative; EBX[3:0] page sizes 4K/2M/4M/1G, EBX[31:16] ways;
 * ECX sets. */
static bool tlb_intel_leaf18(nf_cpuinfo *ci)
{
    unsigned r[4];
    if (!cpuid_raw(0x18, 0, r))
        return false;
    unsigned max = r[EAX];
    static const char kinds[6] = {0, 'd', 'i', 'u', 'l', 's'};
    static const int pages[4] = {4, 2048, 4096, 1048576};
    for (unsigned sub = 0; sub <= max && sub < 64; sub++) {
        cpuid_raw(0x18, sub, r);
        unsigned type = r[EDX] & 0x1F;
        if (type == 0 || type > 5)
            continue;
        int level = (int)((r[EDX] >> 5) & 7);
        bool full = (r[EDX] >> 8) & 1;
        int ways = (int)(r[EBX] >> 16), sets = (int)r[ECX];
        for (int p = 0; p < 4; p++)
            if (r[EBX] & (1u << p))
                add_tlb(ci, level, kinds[type], pages[p], ways * sets, full ? 0 : ways);
    }
    if (ci->ntlb > 0)
        snprintf(ci->tlb_source, sizeof ci->tlb_source, "cpuid 0x18");
    return ci->ntlb > 0;
}

/* Leaf 2 descriptors for TLBs (Intel SDM vol. 2, table 3-12): the common
 * ones. A descriptor covering several page sizes has one row per size. */
typedef struct {
    unsigned char desc;
    unsigned char level;
    char kind;
    int page_kib, entries, ways;
} leaf2_row;
static const leaf2_row leaf2_table[] = {
    {0x01, 1, 'i', 4, 32, 4},      {0x02, 1, 'i', 4096, 2, 0},    {0x03, 1, 'd', 4, 64, 4},
    {0x04, 1, 'd', 4096, 8, 4},    {0x05, 1, 'd', 4096, 32, 4},   {0x0B, 1, 'i', 4096, 4, 4},
    {0x4F, 1, 'i', 4, 32, 0},      {0x50, 1, 'i', 4, 64, 0},      {0x50, 1, 'i', 2048, 64, 0},
    {0x55, 1, 'i', 2048, 7, 0},    {0x56, 1, 'd', 4096, 16, 4},   {0x57, 1, 'd', 4, 16, 4},
    {0x59, 1, 'd', 4, 16, 0},      {0x5A, 1, 'd', 2048, 32, 4},   {0x5B, 1, 'd', 4, 64, 0},
    {0x5C, 1, 'd', 4, 128, 0},     {0x5D, 1, 'd', 4, 256, 0},     {0x61, 1, 'i', 4, 48, 0},
    {0x63, 1, 'd', 2048, 32, 4},   {0x63, 1, 'd', 1048576, 4, 4}, {0x6A, 1, 'd', 4, 64, 8},
    {0x6B, 1, 'd', 4, 256, 8},     {0x6C, 1, 'd', 2048, 128, 8},  {0x6D, 1, 'd', 1048576, 16, 0},
    {0x76, 1, 'i', 2048, 8, 0},    {0xA0, 1, 'd', 4, 32, 0},      {0xB0, 1, 'i', 4, 128, 4},
    {0xB1, 1, 'i', 2048, 8, 4},    {0xB2, 1, 'i', 4, 64, 4},      {0xB3, 1, 'd', 4, 128, 4},
    {0xB4, 1, 'd', 4, 256, 4},     {0xB5, 1, 'i', 4, 64, 8},      {0xB6, 1, 'i', 4, 128, 8},
    {0xBA, 1, 'd', 4, 64, 4},      {0xC0, 1, 'd', 4, 8, 4},       {0xC1, 2, 'u', 4, 1024, 8},
    {0xC1, 2, 'u', 2048, 1024, 8}, {0xC2, 1, 'd', 4, 16, 4},      {0xC2, 1, 'd', 2048, 16, 4},
    {0xC3, 2, 'u', 4, 1536, 6},    {0xC3, 2, 'u', 2048, 1536, 6}, {0xC3, 2, 'u', 1048576, 16, 4},
    {0xC4, 1, 'd', 2048, 32, 4},   {0xCA, 2, 'u', 4, 512, 4},
};

static void leaf2_add(nf_cpuinfo *ci, unsigned char d)
{
    for (size_t i = 0; i < sizeof leaf2_table / sizeof leaf2_table[0]; i++) {
        const leaf2_row *row = &leaf2_table[i];
        if (row->desc == d)
            add_tlb(ci, row->level, row->kind, row->page_kib, row->entries, row->ways);
    }
}

static bool tlb_intel_leaf2(nf_cpuinfo *ci)
{
    unsigned r[4];
    if (!cpuid_raw(2, 0, r))
        return false;
    for (int reg = 0; reg < 4; reg++) {
        if (r[reg] & 0x80000000u) /* register holds no descriptors */
            continue;
        for (int byte = reg == EAX ? 1 : 0; byte < 4; byte++)
            leaf2_add(ci, (unsigned char)(r[reg] >> (8 * byte)));
    }
    if (ci->ntlb > 0)
        snprintf(ci->tlb_source, sizeof ci->tlb_source, "cpuid 2 (descriptor table)");
    return ci->ntlb > 0;
}

/* ---- model ---- */

static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    memmove(s, s + i, n - i + 1);
}

static void model_from_proc(nf_cpuinfo *ci)
{
    char buf[4096];
    int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *p = strstr(buf, "model name");
    if (!p || !(p = strchr(p, ':')))
        return;
    p++;
    char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= sizeof ci->model)
        len = sizeof ci->model - 1;
    memcpy(ci->model, p, len);
    ci->model[len] = '\0';
    trim(ci->model);
    snprintf(ci->model_source, sizeof ci->model_source, "/proc/cpuinfo");
}

/* CPUID leaf 1 ECX bit 31 says a hypervisor is present; leaf 0x40000000
 * carries its signature ("KVMKVMKVM", "Microsoft Hv", "VMwareVMware", ...),
 * which a hypervisor may also choose to hide. */
static void read_hypervisor(nf_cpuinfo *ci)
{
    unsigned r[4];
    if (!config_have_cpuid || !cpuid_raw(1, 0, r))
        return;
    if (!(r[ECX] & (1u << 31))) {
        snprintf(ci->hypervisor, sizeof ci->hypervisor, "none");
        return;
    }
    cpuid_hv_raw(r);
    char sig[13];
    memcpy(sig, &r[EBX], 4);
    memcpy(sig + 4, &r[ECX], 4);
    memcpy(sig + 8, &r[EDX], 4);
    sig[12] = '\0';
    for (int i = 0; i < 12; i++)
        if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
            sig[i] = '?';
    trim(sig);
    snprintf(ci->hypervisor, sizeof ci->hypervisor, "%s", sig[0] ? sig : "unnamed");
}

int nf_cpuinfo_read(nf_cpuinfo *ci)
{
    memset(ci, 0, sizeof *ci);
    unsigned r[4];
    if (config_have_cpuid && cpuid_raw(0, 0, r)) {
        memcpy(ci->vendor, &r[EBX], 4);
        memcpy(ci->vendor + 4, &r[EDX], 4);
        memcpy(ci->vendor + 8, &r[ECX], 4);
        ci->vendor[12] = '\0';
    }
    if (config_have_cpuid && cpuid_raw(0x80000004, 0, r)) {
        char brand[49];
        for (unsigned i = 0; i < 3; i++) {
            cpuid_raw(0x80000002 + i, 0, r);
            memcpy(brand + 16 * i, r, 16);
        }
        brand[48] = '\0';
        trim(brand);
        snprintf(ci->model, sizeof ci->model, "%s", brand);
        snprintf(ci->model_source, sizeof ci->model_source, "cpuid 0x80000002-4");
    }
    if (ci->model[0] == '\0')
        model_from_proc(ci);
    read_hypervisor(ci);

    if (!config_have_cpuid) {
        snprintf(ci->tlb_unavailable, sizeof ci->tlb_unavailable, "no CPUID on this architecture");
        return -1;
    }
    if (strcmp(ci->vendor, "AuthenticAMD") == 0 || strcmp(ci->vendor, "HygonGenuine") == 0)
        tlb_amd(ci);
    else if (strcmp(ci->vendor, "GenuineIntel") == 0) {
        if (!tlb_intel_leaf18(ci))
            tlb_intel_leaf2(ci);
        snprintf(ci->note, sizeof ci->note, "as CPUID reports (a hypervisor may change it)");
    }
    if (ci->ntlb == 0) {
        snprintf(ci->tlb_unavailable, sizeof ci->tlb_unavailable,
                 "CPUID (vendor '%s') reports no TLB geometry we can decode", ci->vendor);
        ci->tlb_source[0] = '\0';
        return -1;
    }
    return 0;
}

static nf_cpuinfo g_cpuinfo;
static pthread_once_t g_cpuinfo_once = PTHREAD_ONCE_INIT;
static void cpuinfo_init_once(void) { nf_cpuinfo_read(&g_cpuinfo); }

const nf_cpuinfo *nf_cpuinfo_get(void)
{
    pthread_once(&g_cpuinfo_once, cpuinfo_init_once);
    return &g_cpuinfo;
}

const nf_tlb_level *nf_cpuinfo_tlb(const nf_cpuinfo *ci, int level, char kind, int page_kib)
{
    for (int i = 0; i < ci->ntlb; i++)
        if (ci->tlb[i].level == level && ci->tlb[i].kind == kind && ci->tlb[i].page_kib == page_kib)
            return &ci->tlb[i];
    return NULL;
}

/* ---- JSON ---- */

static const char *kind_name(char k)
{
    switch (k) {
    case 'd':
        return "data";
    case 'i':
        return "instruction";
    case 'u':
        return "unified";
    case 'l':
        return "load";
    case 's':
        return "store";
    default:
        return "unknown";
    }
}

json_t *nf_cpuinfo_tlb_to_json(const nf_cpuinfo *ci)
{
    json_t *o = json_object();
    if (ci->ntlb == 0) {
        nf_json_set_str(o, "unavailable", ci->tlb_unavailable[0] ? ci->tlb_unavailable : "unknown");
        return o;
    }
    nf_json_set_str(o, "source", ci->tlb_source);
    json_t *levels = json_array();
    for (int i = 0; i < ci->ntlb; i++) {
        const nf_tlb_level *t = &ci->tlb[i];
        json_array_append_new(levels,
                              json_pack("{s:s, s:i, s:s, s:i, s:i, s:i, s:b}", "name", t->name, "level", t->level,
                                        "kind", kind_name(t->kind), "page_kib", t->page_kib, "entries", t->entries,
                                        "ways", t->ways, "fully_associative", t->ways == 0));
    }
    json_object_set_new(o, "levels", levels);
    nf_json_set_str(o, "note", ci->note);
    return o;
}

size_t nf_cpuinfo_tlb_json(const nf_cpuinfo *ci, char *buf, size_t cap)
{
    json_t *o = nf_cpuinfo_tlb_to_json(ci);
    size_t n = nf_json_dump_buf(o, buf, cap);
    json_decref(o);
    return n;
}
