/* notfree/json.h: JSON through jansson, and the few things jansson leaves
 * to its caller.
 *
 * Every JSON notfree writes or reads goes through jansson (Debian's
 * libjansson): no hand-written writers. Objects keep their keys in
 * insertion order when dumped (JSON_PRESERVE_ORDER), so files read the way
 * the code builds them.
 *
 * Ownership: the nf_json_set_* helpers take a borrowed key and build the
 * value; a NULL string stores JSON null. None of this is used inside a
 * measured region (jansson allocates).
 */
#ifndef NOTFREE_JSON_H
#define NOTFREE_JSON_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The flags every dump uses: key order kept, real numbers in full. */
#define NF_JSON_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

/* snprintf-like: dumps j on one line into buf (at most cap bytes, always
 * NUL-terminated when cap > 0, truncated if short) and returns the length
 * the whole text needs (0 if j cannot be dumped). */
size_t nf_json_dump_buf(const json_t *j, char *buf, size_t cap);

/* Writes j (indented by 2, newline at the end) to path through a temporary
 * file in the same directory and a rename, so a reader never sees half a
 * file. Returns 0, or -1 with errno set. */
int nf_json_write_file(const json_t *j, const char *path);

/* A JSON string of s: NULL gives JSON null, and each byte that is not
 * valid UTF-8 becomes U+FFFD (jansson refuses such strings outright). */
json_t *nf_json_string(const char *s);
/* obj[key] = nf_json_string(s). Returns 0 or -1. */
int nf_json_set_str(json_t *obj, const char *key, const char *s);
/* obj[key] = integer / real. Returns 0 or -1. A non-finite real is stored
 * as null: JSON has no NaN or infinity. */
int nf_json_set_int(json_t *obj, const char *key, long long v);
int nf_json_set_real(json_t *obj, const char *key, double v);
/* obj[key] = the JSON text in text, parsed; on a parse error the error is
 * stored instead, as {"invalid_json": "<jansson's message>"}. */
int nf_json_set_parsed(json_t *obj, const char *key, const char *text);

#ifdef __cplusplus
}
#endif
#endif
