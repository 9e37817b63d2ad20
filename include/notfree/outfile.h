/* notfree/outfile.h: a results file that is never seen half written.
 *
 * The text goes to a temporary file next to the final path
 * (DIR/.NAME.<pid>.tmp) and is renamed over the final path when the run
 * ends. The writer hands it whole steps (the context, one bench's runs);
 * each step says how to close the file if the program stops right after
 * it. On SIGINT, SIGTERM or SIGHUP the file is closed that way (for JSON:
 * the benchmarks array ended and "partial": true added), renamed to the
 * final path, and the signal then ends the program as it would have. A
 * SIGKILL leaves only the temporary file; nf_outfile_clean_stale removes
 * those whose writer is gone.
 *
 * One output file per process at a time. The signal path uses only
 * async-signal-safe calls; a forked child that takes the signal leaves
 * the file to its parent.
 */
#ifndef NOTFREE_OUTFILE_H
#define NOTFREE_OUTFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates the temporary file beside final_path and takes over SIGINT,
 * SIGTERM and SIGHUP. Returns 0, or -1 with "cannot write PATH: reason"
 * in err (nothing is created then). */
int nf_outfile_open(const char *final_path, char *err, size_t errlen);
/* Appends one whole step. `closing` (a static string, or NULL for none)
 * is what makes the file valid if the program is interrupted after this
 * step; `keep` says whether what is written so far is worth keeping then
 * (no bench finished yet: not). Returns 0, or -1 after a write error
 * (reported by nf_outfile_commit). */
int nf_outfile_write(const char *buf, size_t n, const char *closing, int keep);
/* Renames the file to its final path and gives the signals back.
 * Returns 0, or -1 with the reason in err (the temporary file removed). */
int nf_outfile_commit(char *err, size_t errlen);
/* Removes the temporary file and gives the signals back. */
void nf_outfile_discard(void);
/* Removes the temporary files in dir (".*.<pid>.tmp" whose process no
 * longer exists) left by runs killed with SIGKILL; prints each removal on
 * stderr. Returns how many were removed. */
int nf_outfile_clean_stale(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
