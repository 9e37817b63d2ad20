/* tour/steps.c: the step table, in the article's order. Adding a step:
 * a file step_<name>.c with its run function, one line here, one line
 * in tour/meson.build. */
#include "tour.h"

const nf_tour_step nf_tour_steps[] = {
    {1, "batches", "the allocator batches",
     "malloc(64) rarely reaches the kernel: the allocator asks for memory in big batches",
     "ptrace + seccomp (the system-call counter)", nf_tour_step_batches},
    {2, "threshold", "brk below the threshold, mmap above",
     "glibc serves small requests from the brk heap and maps each one over 128 KiB with mmap; the threshold moves",
     "ptrace + seccomp; gnuplot for the chart", nf_tour_step_threshold},
    {3, "virtual", "virtual is not resident",
     "malloc(1 GiB) costs address space, not RAM: pages become resident one fault at a time as they are touched",
     "a memory cgroup (else MemAvailable 16x the child's 768 MiB)", nf_tour_step_virtual},
    {4, "overcommit", "overcommit's bet",
     "Linux overcommits: malloc(500 GB) succeeds on an 8 GB machine; mode 2 returns NULL instead of a kill later",
     "nothing (children, the kernel model)", nf_tour_step_overcommit},
    {5, "fault", "the page fault and zeroing",
     "the first write to a page faults: the kernel takes a frame, zeroes it and fills a page-table entry", "nothing",
     nf_tour_step_fault},
    {6, "tlb", "the walk and the TLB",
     "a TLB miss costs a page walk of 4 memory references (walk caches cut them); past the TLB's reach every "
     "access pays it",
     "nothing (the model, a pointer chase)", nf_tour_step_tlb},
    {7, "shootdown", "a PTE change costs a TLB flush",
     "changing a mapping flushes the TLB: other CPUs running the process get an interrupt (the shootdown), and "
     "a switch to another process leaves a TLB to warm again",
     "two CPUs for the shootdown", nf_tour_step_shootdown},
    {8, "reclaim", "reclaim",
     "under memory pressure the kernel drops clean page-cache pages (read back later as major faults) and "
     "swaps anonymous ones out",
     "a memory cgroup, a file system with a page cache", nf_tour_step_reclaim},
    {9, "oom", "the OOM killer",
     "when nothing can be reclaimed the OOM killer sends SIGKILL to the process with the highest oom_score",
     "a memory cgroup (refused without one)", nf_tour_step_oom},
    {10, "mlock", "mlock",
     "mlock faults pages in at once and pins them (VmLck), within RLIMIT_MEMLOCK; mlockall covers later mappings",
     "nothing (root bypasses RLIMIT_MEMLOCK: a child drops to nobody to show it)", nf_tour_step_mlock},
    {11, "fork", "fork and copy-on-write",
     "a thousand-page process forks in microseconds: no page is copied until one side writes",
     "a memory cgroup (else MemAvailable 16x the child's 1.6 GiB)", nf_tour_step_fork},
    {12, "stack", "the stack and its guard",
     "the stack grows on demand and ends in a guard page: 8,000 to 16,000 frames with an 8 MB stack",
     "a finite RLIMIT_STACK", nf_tour_step_stack},
    {13, "control", "what you control",
     "madvise, malloc_trim and LD_PRELOAD give control back: read-ahead hints, memory returned, another "
     "allocator saving 10-30% of memory",
     "a disk-backed scratch directory; /usr/bin/python3 for LD_PRELOAD", nf_tour_step_control},
};
const unsigned nf_tour_nsteps = sizeof nf_tour_steps / sizeof nf_tour_steps[0];
