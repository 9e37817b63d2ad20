/* notfree/hypervisor.h: which hypervisor, if any, the box runs under: part
 * of the box facts a result is only comparable within (the same CPU model
 * under another hypervisor takes faults and TLB misses at another cost). */
#ifndef NOTFREE_HYPERVISOR_H
#define NOTFREE_HYPERVISOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* "none" on bare metal (CPUID.1:ECX bit 31 clear); else the vendor
 * signature of CPUID leaf 0x40000000 ("KVMKVMKVM", "Microsoft Hv",
 * "VMwareVMware", ...), or "unknown" when the bit is set but the leaf is
 * empty; NULL where CPUID cannot be read (not x86). Static storage. */
const char *nf_hypervisor(void);

#ifdef __cplusplus
}
#endif
#endif
