/* notfree/cpuinfo.h: the CPU's model string and TLB geometry, from CPUID.
 *
 * Sources:
 *   model  CPUID 0x80000002-0x80000004 (brand string), else /proc/cpuinfo
 *          "model name".
 *   TLBs   AMD: 0x80000005 (L1 TLBs, 4K and 2M/4M pages), 0x80000006 (L2
 *          TLBs; associativity is AMD's encoded field), 0x80000019 (1G
 *          pages) where it reports any. Intel: leaf 0x18 (deterministic
 *          address translation), else the leaf 2 descriptors we know.
 *
 * Figures are what CPUID says, which is not always what the silicon has
 * (Zen 4 reports 2048 L2 dTLB entries for 4K pages; it has 3072), and
 * under a hypervisor they are what the hypervisor chose to report. The
 * `note` says so; the kernel model's `host` preset reads these.
 */
#ifndef NOTFREE_CPUINFO_H
#define NOTFREE_CPUINFO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One TLB (one level, one kind, one page size). A TLB that holds several
 * page sizes appears once per size, with the same entries. */
typedef struct nf_tlb_level {
    char name[16]; /* "L1d", "L1i", "L2d", "L2i", "L2" (unified), "L1ld", "L1st" */
    int level;     /* 1, 2 */
    char kind;     /* 'd' data, 'i' instruction, 'u' unified, 'l' loads, 's' stores */
    int page_kib;  /* 4, 2048, 4096, 1048576 */
    int entries;   /* > 0 */
    int ways;      /* 0 = fully associative; else ways (entries / ways = sets) */
} nf_tlb_level;

#define NF_TLB_MAX 32

typedef struct nf_cpuinfo {
    char vendor[16];       /* "AuthenticAMD", "GenuineIntel", "" if unknown */
    char model[64];        /* brand string, trimmed; "" if unknown */
    char model_source[32]; /* "cpuid 0x80000002-4", "/proc/cpuinfo" */
    char hypervisor[16];   /* CPUID's signature ("KVMKVMKVM"), "none", "" if unknown */
    int ntlb;              /* 0 when unavailable */
    nf_tlb_level tlb[NF_TLB_MAX];
    char tlb_source[64];      /* "cpuid 0x80000005/0x80000006", ... */
    char tlb_unavailable[96]; /* the reason when ntlb == 0, else "" */
    char note[192];           /* caveats about the figures, may be "" */
} nf_cpuinfo;

/* Reads CPUID (and /proc/cpuinfo) now. Returns 0 when TLB geometry was
 * found, -1 when not (ci->tlb_unavailable says why); the model is filled
 * either way where it can be. Does not allocate. */
int nf_cpuinfo_read(nf_cpuinfo *ci);
/* The box's cpuinfo, read once (thread-safe). Never NULL. */
const nf_cpuinfo *nf_cpuinfo_get(void);
/* The first TLB matching level, kind and page size, or NULL. */
const nf_tlb_level *nf_cpuinfo_tlb(const nf_cpuinfo *ci, int level, char kind, int page_kib);
/* The TLB geometry as a JSON object:
 *   {"source": "...", "levels": [{"name":"L1d","level":1,"kind":"data",
 *    "page_kib":4,"entries":64,"ways":0,"fully_associative":true}, ...],
 *    "note": "..."}
 * or {"unavailable": "reason"}. snprintf-like: returns the length the
 * whole text needs; writes at most cap bytes, always NUL-terminated. */
size_t nf_cpuinfo_tlb_json(const nf_cpuinfo *ci, char *buf, size_t cap);
/* The same object as a new jansson value (the caller owns the reference). */
json_t *nf_cpuinfo_tlb_to_json(const nf_cpuinfo *ci);

#ifdef __cplusplus
}
#endif
#endif
