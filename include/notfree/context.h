/* notfree/context.h: what a result must say about the box it came from.
 *
 * The context is one JSON object, written into the "context" of
 * libbenchmark's output under the key "notfree": topology (hwloc),
 * CPU model, hypervisor and TLB geometry (CPUID), kernel release, THP
 * mode, overcommit mode, swap size, counters available, memory
 * temperature, pinning, and `unavailable`: {name: reason} for every bench
 * or counter the box could not give.
 */
#ifndef NOTFREE_CONTEXT_H
#define NOTFREE_CONTEXT_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Records that `name` (a bench or "counter:<name>") cannot be measured
 * here, and why. Thread-safe; the first reason for a name wins. */
void nf_context_unavailable(const char *name, const char *reason);
/* Calls cb for every unavailable entry, in the order recorded, under the
 * registry's lock (cb must not call back into the context). */
void nf_context_unavailable_each(void (*cb)(const char *name, const char *reason, void *user), void *user);
/* Adds a string entry to the notfree context (key unique; last wins). */
void nf_context_set(const char *key, const char *value);

/* The whole notfree context as a JSON object text (malloc'd; caller
 * frees). Gathers the box facts on first call. */
char *nf_context_json(void);
/* The same object as a new jansson value (the caller owns it). */
json_t *nf_context_to_json(void);

/* The context in three short lines for a console (CPU, kernel,
 * hypervisor; THP and pinning; PMU), each ending in a newline
 * (malloc'd; caller frees; NULL when out of memory). */
char *nf_context_summary(void);

/* Small facts, also used by benches to decide what they can run. */
/* "always", "madvise", "never", or NULL if unreadable. */
const char *nf_thp_mode(void);
int nf_overcommit_mode(void);      /* -1 if unreadable */
long long nf_swap_total_kib(void); /* -1 if unreadable */

#ifdef __cplusplus
}
#endif
#endif
