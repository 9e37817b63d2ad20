/* notfree/resultfile.h: where results go and what they are called.
 *
 * Every command that writes results names its file the same way, so a
 * directory of results sorts by command, then box, then time:
 *   <dir>/<prefix><host>-<UTC time>.json     e.g. results/compare-box-20261202T013924Z.json
 * (prefix "" for `notfree run`, "compare-" for `notfree compare`).
 */
#ifndef NOTFREE_RESULTFILE_H
#define NOTFREE_RESULTFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* mkdir -p: creates dir and its missing parents (mode 0777 less umask).
 * Returns 0, or -1 with errno set (ENAMETOOLONG for a path over PATH_MAX). */
int nf_mkdir_p(const char *dir);

/* Writes "<dir>/<prefix><host>-<YYYYmmddTHHMMSSZ>.json" into buf (the host
 * from gethostname, "unknown-host" if it fails; the time is now, in UTC).
 * Creates nothing. Returns 0, or -1 when it does not fit in cap. */
int nf_result_path(char *buf, size_t cap, const char *dir, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
