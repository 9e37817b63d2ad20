/* notfree/pin.h: binding measuring threads to processing units (hwloc).
 *
 * A PU is hwloc's logical index of a processing unit (a hardware thread).
 * The run has one base PU (--pin, default the last one); the thread with
 * index i of a multithreaded bench is bound to the i-th PU counting from the
 * base and wrapping, so each thread has its own PU while there are enough.
 */
#ifndef NOTFREE_PIN_H
#define NOTFREE_PIN_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the topology once. Returns 0, or -1 with a message in err. */
int nf_pin_init(char *err, size_t errlen);
int nf_pin_pu_count(void);
int nf_pin_default_pu(void); /* the last PU */
/* Sets the base PU; -1 with a message when pu is out of range. */
int nf_pin_set_base(int pu, char *err, size_t errlen);
int nf_pin_base(void);
/* The PU for thread index i: (base + i) mod PUs. */
int nf_pin_pu_for_thread(int thread_index);
/* Binds the calling thread to one PU; -1 with a message on failure. */
int nf_pin_thread_to(int pu, char *err, size_t errlen);
/* Binds the calling thread to nf_pin_pu_for_thread(thread_index). */
int nf_pin_thread(int thread_index, char *err, size_t errlen);
/* The binding in force for the calling thread, read back from the kernel:
 * the PU's logical index when bound to exactly one, else -1; `desc` gets
 * a printable form ("PU L#1 (P#1)" or "cpuset 0-1"). */
int nf_pin_current(char *desc, size_t desclen);
/* The topology as a JSON object: {"packages":1,"cores":2,"pus":2,
 * "numa_nodes":1,"caches":[{"level":1,"type":"data","size_kib":32,
 * "line":64,"ways":8,"shared_by_pus":1,"count":2}, ...],
 * "page_sizes_kib":[4,2048]}; "ways" is hwloc's: -1 fully associative,
 * 0 unknown. snprintf-like: returns the length the text
 * needs, writes at most cap bytes (NUL-terminated). Initialises. */
size_t nf_pin_topology_json(char *buf, size_t cap);
/* The same object as a new jansson value (the caller owns it). */
json_t *nf_pin_topology_to_json(void);

#ifdef __cplusplus
}
#endif
#endif
