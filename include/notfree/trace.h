/* notfree/trace.h: allocation traces: a program's malloc-family calls,
 * recorded by a preloaded library (trace/recorder.c), kept in a compact
 * versioned file (docs/TRACE.md), inspected (stats) and replayed through
 * any nf_mem_api (the process's malloc, a heap of ours on the real page
 * source or on the kernel model).
 *
 * Glossary
 *   event    one recorded call: malloc, calloc, realloc, free, memalign,
 *            posix_memalign or aligned_alloc (valloc and pvalloc are
 *            recorded as memalign with the page size).
 *   id       the name of a block in a trace instead of its address: the
 *            k-th event that returns a block (any op but free, with a
 *            non-NULL result) gives birth to id k (1-based). A realloc's
 *            result is always a new id, even when the address stays. So a
 *            replay pairs every free with the block it frees whatever
 *            addresses the replaying allocator hands out.
 *   ref      the id an event passes in (free, realloc); 0 is NULL.
 *   thread   a small index, in order of each thread's first call in the
 *            trace (0: the first caller, usually the main thread).
 *   order    the events are in one global order: the recorder stamps each
 *            call from a global counter (a free before the real free runs,
 *            an allocation after it returns, so an address is never seen
 *            live twice). Replay follows that order on one thread.
 *   live bytes  the sum of the requested sizes (calloc: n * size) of the
 *            blocks born and not yet freed.
 *   lifetime the number of events from a block's birth to its free.
 *
 * Invariants of a loaded trace (nf_trace_load checks them; a file that
 * breaks one is refused with its byte offset): every ref names an id that
 * is live at that event; ids are born in order; thread < nthreads.
 */
#ifndef NOTFREE_TRACE_H
#define NOTFREE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "notfree/workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The file format's version (docs/TRACE.md); files of another are refused. */
#define NF_TRACE_VERSION 1

enum nf_trace_op {
    NF_TRACE_MALLOC,
    NF_TRACE_CALLOC,
    NF_TRACE_REALLOC,
    NF_TRACE_FREE,
    NF_TRACE_MEMALIGN,
    NF_TRACE_POSIX_MEMALIGN,
    NF_TRACE_ALIGNED_ALLOC,
    NF_TRACE_NOPS
};
/* "malloc", ..., "aligned_alloc"; NULL past NF_TRACE_NOPS. */
const char *nf_trace_op_name(unsigned op);

enum {
    NF_TRACE_F_NULL = 1,     /* the call returned NULL (posix_memalign: failed): no id born */
    NF_TRACE_F_RELEASED = 2, /* realloc that returned NULL and freed its ref (realloc(p, 0)) */
};

/* One event, 24 bytes. */
typedef struct nf_trace_event {
    uint64_t size;        /* bytes asked (calloc: the element size) */
    uint64_t arg;         /* calloc: the element count; the aligned ops: the alignment; else 0 */
    uint32_t ref;         /* free, realloc: the id passed in (0: NULL); else 0 */
    uint32_t thread : 24; /* < nthreads */
    uint32_t op : 4;      /* enum nf_trace_op */
    uint32_t flags : 4;   /* NF_TRACE_F_* */
} nf_trace_event;

/* A loaded trace: read once, replayed as often as wanted (read only). */
typedef struct nf_trace {
    nf_trace_event *events;
    uint64_t nevents;
    uint32_t nids; /* blocks born */
    uint32_t nthreads;
    char *command;       /* what was recorded (the process's command line), never NULL */
    uint64_t file_bytes; /* the file's size */
} nf_trace;

/* ---- files (trace/format.c) ---- */
/* Reads and checks path. 0 and *out; -1 and errno when it cannot be read;
 * -2 when it is not a valid trace: err says what and at which byte
 * offset ("truncated at byte 1234: ..."). */
int nf_trace_load(const char *path, nf_trace **out, char *err, size_t len);
/* The same from memory (buf, n bytes). */
int nf_trace_decode(const void *buf, size_t n, nf_trace **out, char *err, size_t len);
/* Encodes t (its invariants must hold) into a malloc'd buffer; 0, or -1
 * (out of memory). */
int nf_trace_encode(const nf_trace *t, unsigned char **buf, size_t *n);
/* Writes t to path atomically (a temporary file renamed); 0, or -1 and errno. */
int nf_trace_save(const nf_trace *t, const char *path);
void nf_trace_free(nf_trace *t);

/* ---- statistics (trace/stats.c) ---- */
enum {
    NF_TRACE_SIZE_BUCKETS = 34, /* 0 B, then [2^(k-1), 2^k) for k = 1..32, then >= 4 GiB */
    NF_TRACE_LIFE_BUCKETS = 8,  /* lifetime in events: < 10, < 100, ..., < 10^7, >= 10^7 */
};

typedef struct nf_trace_stats {
    uint64_t calls[NF_TRACE_NOPS];
    uint64_t null_results;                     /* allocation calls that returned NULL */
    uint64_t free_null;                        /* free(NULL) and realloc(NULL, n) calls */
    uint64_t size_hist[NF_TRACE_SIZE_BUCKETS]; /* births by requested size */
    uint64_t bytes_requested;                  /* sum over births */
    uint64_t peak_live_bytes, peak_live_blocks;
    uint64_t end_live_bytes, end_live_blocks;  /* never freed */
    uint64_t life_hist[NF_TRACE_LIFE_BUCKETS]; /* freed blocks by lifetime */
    uint64_t cross_thread_frees;               /* frees (and reallocs) of a block born on another thread */
    uint32_t nthreads;
    uint64_t *thread_calls; /* [nthreads]: events per thread (malloc'd) */
} nf_trace_stats;

/* 0, or -1 (out of memory). nf_trace_stats_free after. */
int nf_trace_stats_compute(const nf_trace *t, nf_trace_stats *s);
void nf_trace_stats_free(nf_trace_stats *s);
/* The size bucket of a request (the histogram's index) and its lower bound. */
unsigned nf_trace_size_bucket(uint64_t size);
uint64_t nf_trace_size_bucket_low(unsigned bucket);

/* ---- replay (trace/replay.c) ----
 * Replay runs the events in the trace's global order on the calling
 * thread, through mem (every op through its namesake: posix_memalign and
 * aligned_alloc through mem->memalign, free through mem->free). The
 * replay's own tables come from the process's malloc and are written at
 * start, before the first event, never through mem.
 *
 * Touch policy: what replay writes into each block it gets, at birth
 *   NONE   nothing (the allocator's own writes only)
 *   PAGES  the model policy: the first and last 8 bytes (all of a block
 *          under 8 bytes) and one byte in every 4 KiB from the start, so
 *          each page of the block is written once; those bytes carry a
 *          tag derived from the block's id
 *   FULL   every byte, a pattern derived from the id (the verification)
 * check: before each free and realloc, the bytes written are read back;
 * a block whose bytes changed counts as corrupt, the tag of each block
 * checked is summed into checksum (so two allocators replaying one trace
 * give the same checksum unless one damaged a block), a realloc's kept
 * bytes are checked after it, a calloc block's touched bytes must read 0
 * before they are written, and an aligned op's result must be aligned.
 * Replay is exact: the same calls of each kind with the same sizes, so
 * the same peak live bytes, whatever the allocator. Where the replaying
 * allocator fails a call the trace's succeeded (failed), or succeeds one
 * the trace's failed (extra: that block is freed at once, an uncounted
 * call), the count says so. */
typedef enum nf_trace_touch {
    NF_TRACE_TOUCH_NONE,
    NF_TRACE_TOUCH_PAGES,
    NF_TRACE_TOUCH_FULL,
} nf_trace_touch;

typedef struct nf_trace_replay_opts {
    nf_trace_touch touch;
    int check; /* nonzero: check (needs touch != NONE) */
} nf_trace_replay_opts;

typedef struct nf_trace_replay_result {
    uint64_t calls[NF_TRACE_NOPS]; /* calls made through mem, by op */
    uint64_t events;               /* events replayed */
    uint64_t failed, extra;
    uint64_t checksum, corrupt, misaligned, not_zeroed;
    uint64_t peak_live_bytes, end_live_bytes; /* live bytes as the trace defines them */
    double seconds;                           /* the replay's steps (CLOCK_MONOTONIC), start and cleanup excluded */
} nf_trace_replay_result;

typedef struct nf_trace_replay nf_trace_replay;

/* Prepares a replay of t through mem (tables allocated and written); NULL
 * and errno when out of memory. t and mem must outlive it. */
nf_trace_replay *nf_trace_replay_start(const nf_trace *t, const nf_mem_api *mem, const nf_trace_replay_opts *o);
/* Replays up to n more events; returns how many (0: the trace is done). */
uint64_t nf_trace_replay_step(nf_trace_replay *r, uint64_t n);
/* Frees every block still live through mem (not counted as calls: a
 * program's exit leaves them), fills *out (may be NULL), frees r.
 * 0, or -1 when a block was corrupt, misaligned or not zeroed, or a call
 * failed. */
int nf_trace_replay_finish(nf_trace_replay *r, nf_trace_replay_result *out);
/* start, every event, finish. */
int nf_trace_replay_run(const nf_trace *t, const nf_mem_api *mem, const nf_trace_replay_opts *o,
                        nf_trace_replay_result *out);

/* ---- a replay as a client (trace/client.c) ----
 * The shape of nf_modelrun_client (notfree/modelrun.h): a driver (the
 * model runner) hands it the nf_mem_api of a heap on its page source and
 * it replays t once through it, start to finish, in rounds with a
 * progress call after each. Returns the events replayed (every one is a
 * call through mem: the operations of a run), or -1 when the replay could
 * not start or finish failed (a damaged, misaligned or unzeroed block, a
 * call the trace's allocator served and this one failed). */
typedef struct nf_trace_client {
    const nf_trace *t;
    nf_trace_replay_opts o;
    uint64_t round; /* events between progress calls; 0: nevents / 20 + 1 */
    void (*progress)(void *parg, uint64_t done, uint64_t total); /* may be NULL */
    void *parg;
    /* out, in the process the client ran in (a driver that forks keeps
     * them in its child): finish's status and result */
    int rc;
    nf_trace_replay_result res;
} nf_trace_client;
/* arg: an nf_trace_client. */
int64_t nf_trace_client_run(void *arg, const nf_mem_api *mem);

/* ---- what notfree-workload runs for `notfree compare --trace` (trace/bench.c) ----
 * threads copies of the trace replayed at once, one per thread, each
 * with its own tables, through mem, with touch PAGES (verify: FULL) and
 * check. at_end (may be NULL) is called once every copy has replayed its
 * events and before any frees what the trace left live (where the worker
 * reads its final RSS, as after a workload's last round). Sums the
 * copies' results into *out (seconds: the slowest); 0, or -1 (as
 * finish, or a copy could not start). */
int nf_trace_bench(const nf_trace *t, const nf_mem_api *mem, unsigned threads, int verify, void (*at_end)(void *arg),
                   void *arg, nf_trace_replay_result *out);

/* ---- from a recording to a trace (trace/raw.c, trace/convert.c) ---- */
/* One process image's recording: the recorder writes one raw file per
 * image (<pid>-<ns>.raw in NOTFREE_TRACE_DIR). */
typedef struct nf_trace_raw_info {
    int pid;
    uint64_t start_ns; /* CLOCK_MONOTONIC when the image (or fork child) began */
    uint64_t calls;
    char command[256];
} nf_trace_raw_info;

/* What the conversion dropped or repaired, so stats can say so. */
typedef struct nf_trace_convert_notes {
    uint64_t unmatched_frees;    /* free of an address never seen born (allocated before recording) */
    uint64_t unmatched_reallocs; /* realloc of such an address: kept as realloc(NULL, n) */
    uint64_t reborn;             /* an address born while its block was live (a realloc's input
                                     handed out again before the realloc's stamp, or a lost free) */
    uint64_t truncated;          /* 1 when the raw file ended inside a chunk (the recording stopped) */
} nf_trace_convert_notes;

/* Reads the header of a raw file; 0, or -1 (err). */
int nf_trace_raw_info_read(const char *path, nf_trace_raw_info *info, char *err, size_t len);
/* Converts a raw file into a trace: events in global order, addresses
 * mapped to ids. 0; -1 (err). */
int nf_trace_raw_convert(const char *path, nf_trace **out, nf_trace_convert_notes *notes, char *err, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NOTFREE_TRACE_H */
