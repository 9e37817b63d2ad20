/* trace/format.c: the trace file, version 1 (docs/TRACE.md has the full
 * layout): a 40-byte header, the command line, the events, an end byte
 * and a checksum.
 *
 *   header   "NFTRACE\0", u16 version, u16 header bytes (40), u32 flags (0),
 *            u64 events, u32 ids, u32 threads, u32 command bytes, u32 0;
 *            little-endian
 *   event    a byte: op (bits 0-2), thread switch (bit 3: a varint thread
 *            index follows), NULL result (bit 4), released (bit 5), bits
 *            6-7 zero; then varints by op: malloc size; calloc count,
 *            size; realloc ref, size; free ref; the aligned ops
 *            alignment, size. A ref is 0 for NULL, else (ids born so far
 *            + 1 - id): the newest block is 1, so short lives cost a byte.
 *   end      0xff, then the FNV-1a 64 of every byte before it and of it,
 *            little-endian; the file ends there.
 * The decoder checks every field as it goes and names the byte offset of
 * the first that is wrong. */
#include "notfree/trace.h"

#include "varint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { HEADER = 40, END = 0xff, MAX_COMMAND = 1 << 16 };
static const char magic[8] = "NFTRACE";

static const char *const op_names[NF_TRACE_NOPS] = {
    "malloc", "calloc", "realloc", "free", "memalign", "posix_memalign", "aligned_alloc",
};

const char *nf_trace_op_name(unsigned op) { return op < NF_TRACE_NOPS ? op_names[op] : NULL; }

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void nf_trace_free(nf_trace *t)
{
    if (!t)
        return;
    free(t->events);
    free(t->command);
    free(t);
}

/* ---- encoding ---- */
int nf_trace_encode(const nf_trace *t, unsigned char **buf, size_t *n)
{
    size_t clen = strlen(t->command);
    if (clen > MAX_COMMAND)
        clen = MAX_COMMAND;
    /* At most a byte, a thread varint and two value varints an event. */
    size_t cap = HEADER + clen + (size_t)t->nevents * (1 + 4 + 2 * NF_VARINT_MAX) + 9;
    unsigned char *b = malloc(cap), *p = b;
    if (!b)
        return -1;
    memcpy(p, magic, 8);
    put_le(p + 8, NF_TRACE_VERSION, 2);
    put_le(p + 10, HEADER, 2);
    put_le(p + 12, 0, 4);
    put_le(p + 16, t->nevents, 8);
    put_le(p + 24, t->nids, 4);
    put_le(p + 28, t->nthreads, 4);
    put_le(p + 32, clen, 4);
    put_le(p + 36, 0, 4);
    memcpy(p + HEADER, t->command, clen);
    p += HEADER + clen;
    uint32_t thread = 0, born = 0;
    for (uint64_t i = 0; i < t->nevents; i++) {
        const nf_trace_event *e = &t->events[i];
        int sw = e->thread != thread;
        *p++ = (unsigned char)(e->op | sw << 3 | (e->flags & 3) << 4);
        if (sw)
            p += nf_varint_put(p, e->thread);
        thread = e->thread;
        uint64_t ref = e->ref ? (uint64_t)born + 1 - e->ref : 0;
        switch (e->op) {
        case NF_TRACE_MALLOC:
            p += nf_varint_put(p, e->size);
            break;
        case NF_TRACE_REALLOC:
            p += nf_varint_put(p, ref);
            p += nf_varint_put(p, e->size);
            break;
        case NF_TRACE_FREE:
            p += nf_varint_put(p, ref);
            break;
        default:
            p += nf_varint_put(p, e->arg);
            p += nf_varint_put(p, e->size);
            break;
        }
        if (e->op != NF_TRACE_FREE && !(e->flags & NF_TRACE_F_NULL))
            born++;
    }
    *p++ = END;
    put_le(p, fnv1a(b, (size_t)(p - b)), 8);
    p += 8;
    *buf = b;
    *n = (size_t)(p - b);
    return 0;
}

int nf_trace_save(const nf_trace *t, const char *path)
{
    unsigned char *buf;
    size_t n;
    if (nf_trace_encode(t, &buf, &n) != 0) {
        errno = ENOMEM;
        return -1;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
        free(buf);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = fd < 0 ? -1 : 0;
    for (size_t off = 0; rc == 0 && off < n;) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = -1, saved = errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1, saved = errno;
    if (rc != 0 && fd >= 0)
        unlink(tmp);
    free(buf);
    errno = saved;
    return rc;
}

/* ---- decoding ---- */
typedef struct cursor {
    const unsigned char *b;
    size_t n, off;
    char *err;
    size_t len;
} cursor;

__attribute__((format(printf, 3, 4))) static int fail(cursor *c, size_t off, const char *fmt, ...)
{
    int k = snprintf(c->err, c->len, "%s at byte %zu: ", off >= c->n ? "truncated" : "corrupt", off);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < c->len)
        vsnprintf(c->err + k, c->len - (size_t)k, fmt, ap);
    va_end(ap);
    return -2;
}

/* A varint at the cursor; 0, or -2 with the message. */
static int get_varint(cursor *c, uint64_t *v, const char *what)
{
    int k = nf_varint_get(c->b + c->off, c->n - c->off, v);
    if (k == 0)
        return fail(c, c->n, "the file ends inside %s", what);
    if (k < 0)
        return fail(c, c->off, "%s is longer than 64 bits", what);
    c->off += (size_t)k;
    return 0;
}

static int decode_header(cursor *c, nf_trace *t, uint64_t *nevents)
{
    if (c->n < HEADER)
        return c->n >= 8 && memcmp(c->b, magic, 8) ? fail(c, 0, "not a notfree trace (no NFTRACE magic)")
                                                   : fail(c, c->n, "the file ends inside the %d-byte header", HEADER);
    if (memcmp(c->b, magic, 8) != 0)
        return fail(c, 0, "not a notfree trace (no NFTRACE magic)");
    uint64_t version = get_le(c->b + 8, 2), hbytes = get_le(c->b + 10, 2), flags = get_le(c->b + 12, 4);
    if (version != NF_TRACE_VERSION)
        return fail(c, 8, "version %llu, this notfree reads version %d", (unsigned long long)version, NF_TRACE_VERSION);
    if (hbytes != HEADER)
        return fail(c, 10, "header size %llu, version 1 has %d", (unsigned long long)hbytes, HEADER);
    if (flags != 0)
        return fail(c, 12, "unknown flags 0x%llx", (unsigned long long)flags);
    *nevents = get_le(c->b + 16, 8);
    t->nids = (uint32_t)get_le(c->b + 24, 4);
    t->nthreads = (uint32_t)get_le(c->b + 28, 4);
    uint64_t clen = get_le(c->b + 32, 4);
    if (clen > MAX_COMMAND)
        return fail(c, 32, "a %llu-byte command line (at most %d)", (unsigned long long)clen, MAX_COMMAND);
    if (t->nids > *nevents)
        return fail(c, 24, "%u ids from %llu events", t->nids, (unsigned long long)*nevents);
    if (*nevents > (c->n - HEADER) / 2) /* an event takes 2 bytes at least */
        return fail(c, c->n, "the header's %llu events cannot fit in the file's %zu bytes",
                    (unsigned long long)*nevents, c->n);
    if (t->nthreads > (1u << 24) || (*nevents && !t->nthreads))
        return fail(c, 28, "%u threads", t->nthreads);
    if (HEADER + clen > c->n)
        return fail(c, c->n, "the file ends inside the command line");
    t->command = malloc(clen + 1);
    if (!t->command)
        return -1;
    memcpy(t->command, c->b + HEADER, clen);
    t->command[clen] = '\0';
    c->off = HEADER + clen;
    return 0;
}

/* The events, each checked: op, reserved bits, thread, refs live. */
static int decode_events(cursor *c, nf_trace *t, uint64_t nevents)
{
    unsigned char *live = calloc((size_t)t->nids / 8 + 1, 1);
    t->events = malloc((size_t)(nevents ? nevents : 1) * sizeof *t->events);
    if (!live || !t->events) {
        free(live);
        return -1;
    }
    uint32_t thread = 0, born = 0;
    int rc = 0;
    for (uint64_t i = 0; i < nevents && rc == 0; i++) {
        size_t at = c->off;
        if (at >= c->n) {
            rc = fail(c, c->n, "event %llu of %llu missing", (unsigned long long)i, (unsigned long long)nevents);
            break;
        }
        unsigned b = c->b[c->off++], op = b & 7;
        if (b == END) {
            rc = fail(c, at, "the end marker after %llu of %llu events", (unsigned long long)i,
                      (unsigned long long)nevents);
            break;
        }
        if (op >= NF_TRACE_NOPS || (b & 0xc0))
            return free(live), fail(c, at, "event %llu: bad event byte 0x%02x", (unsigned long long)i, b);
        nf_trace_event *e = &t->events[i];
        *e = (nf_trace_event){.op = (unsigned char)(op & 15), .flags = (unsigned char)((b >> 4) & 3)};
        uint64_t v = 0, ref = 0;
        if (b & 8) {
            if ((rc = get_varint(c, &v, "a thread index")))
                break;
            if (v >= t->nthreads) {
                rc = fail(c, at, "event %llu: thread %llu of %u", (unsigned long long)i, (unsigned long long)v,
                          t->nthreads);
                break;
            }
            thread = (uint32_t)v;
        }
        e->thread = thread & 0xffffff; /* below 2^24: nthreads is checked at load */
        int has_ref = op == NF_TRACE_REALLOC || op == NF_TRACE_FREE;
        if (has_ref && (rc = get_varint(c, &ref, "a block reference")))
            break;
        if (op == NF_TRACE_CALLOC || op >= NF_TRACE_MEMALIGN) {
            if ((rc = get_varint(c, &v, "an argument")))
                break;
            e->arg = v;
        }
        if (op != NF_TRACE_FREE && (rc = get_varint(c, &e->size, "a size")))
            break;
        if (ref) {
            uint64_t id = ref <= born ? (uint64_t)born + 1 - ref : 0;
            if (!id || !(live[id / 8] & (1u << (id % 8)))) {
                rc =
                    fail(c, at, "event %llu (%s) passes a block that is not live", (unsigned long long)i, op_names[op]);
                break;
            }
            e->ref = (uint32_t)id;
        }
        int born_here = op != NF_TRACE_FREE && !(e->flags & NF_TRACE_F_NULL);
        int releases =
            op == NF_TRACE_FREE || (op == NF_TRACE_REALLOC && (born_here || (e->flags & NF_TRACE_F_RELEASED)));
        if (e->flags & ~(op == NF_TRACE_REALLOC ? 3u : op == NF_TRACE_FREE ? 0u : 1u)) {
            rc =
                fail(c, at, "event %llu: flags 0x%x do not apply to %s", (unsigned long long)i, e->flags, op_names[op]);
            break;
        }
        if (e->ref && releases)
            live[e->ref / 8] &= (unsigned char)~(1u << (e->ref % 8));
        if (born_here) {
            if (born == t->nids) {
                rc = fail(c, at, "event %llu gives birth to more than the %u ids the header says",
                          (unsigned long long)i, t->nids);
                break;
            }
            born++;
            live[born / 8] |= (unsigned char)(1u << (born % 8));
        }
    }
    free(live);
    if (rc)
        return rc;
    t->nevents = nevents;
    if (born != t->nids)
        return fail(c, c->off, "%u ids born, the header says %u", born, t->nids);
    return 0;
}

int nf_trace_decode(const void *buf, size_t n, nf_trace **out, char *err, size_t len)
{
    cursor c = {buf, n, 0, err, len};
    nf_trace *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    uint64_t nevents = 0;
    int rc = decode_header(&c, t, &nevents);
    if (rc == 0)
        rc = decode_events(&c, t, nevents);
    if (rc == 0 && c.off >= n)
        rc = fail(&c, n, "the end marker is missing");
    if (rc == 0 && c.b[c.off] != END)
        rc = fail(&c, c.off, "more events than the header's %llu", (unsigned long long)nevents);
    if (rc == 0 && c.off + 9 > n)
        rc = fail(&c, n, "the file ends inside the checksum");
    if (rc == 0 && get_le(c.b + c.off + 1, 8) != fnv1a(c.b, c.off + 1))
        rc = fail(&c, c.off + 1, "checksum mismatch (a byte before it changed)");
    if (rc == 0 && c.off + 9 != n)
        rc = fail(&c, c.off + 9, "%zu bytes after the end of the trace", n - c.off - 9);
    if (rc == -1)
        snprintf(err, len, "out of memory");
    if (rc != 0) {
        nf_trace_free(t);
        return rc == -1 ? -1 : -2;
    }
    t->file_bytes = n;
    *out = t;
    return 0;
}

/* -1 with errno e and its message. */
static int load_error(int fd, int e, char *err, size_t len)
{
    if (fd >= 0)
        close(fd);
    snprintf(err, len, "%s", strerror(e));
    errno = e;
    return -1;
}

int nf_trace_load(const char *path, nf_trace **out, char *err, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return load_error(fd, errno, err, len);
    if (!S_ISREG(st.st_mode))
        return load_error(fd, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, err, len);
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    size_t got = 0;
    while (buf && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    if (!buf || got != n) {
        free(buf);
        snprintf(err, len, "%s", buf ? strerror(e) : "out of memory");
        errno = buf ? e : ENOMEM;
        return -1;
    }
    int rc = nf_trace_decode(buf, n, out, err, len);
    free(buf);
    return rc;
}
