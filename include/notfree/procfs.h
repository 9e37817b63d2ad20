/* notfree/procfs.h: one figure from a /proc file of "Key: N kB" lines
 * (/proc/meminfo, /proc/self/status, /proc/self/smaps_rollup).
 */
#ifndef NOTFREE_PROCFS_H
#define NOTFREE_PROCFS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The value of the first line "KEY: N kB" of path, in KiB; -1 when the
 * file or the line is missing. */
long long nf_proc_kib(const char *path, const char *key);

#ifdef __cplusplus
}
#endif
#endif
