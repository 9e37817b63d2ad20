/* trace/recorder.c: libnotfree-trace.so, the recording drop-in. Preloaded
 * (LD_PRELOAD) with NOTFREE_TRACE_DIR set, it records every malloc,
 * calloc, realloc, free, memalign, posix_memalign, aligned_alloc (valloc
 * and pvalloc as memalign, reallocarray as realloc) of the process into
 * DIR/<pid>-<ns>.raw (raw.h), then calls the real function (the next
 * definition: dlsym(RTLD_NEXT)). Without NOTFREE_TRACE_DIR it only
 * passes calls on.
 *
 * How it stays out of its own way:
 *   reentrancy  a per-thread guard (tls_busy): a call made while the
 *               thread is inside the recorder (dlsym, the real allocator,
 *               a signal handler that interrupts a hook) goes straight to
 *               the real function, unrecorded.
 *   bootstrap   dlsym may call calloc before the real one is known: such
 *               calls get bytes from a static buffer; free ignores them.
 *   memory      each thread appends to its own 64 KiB buffer (mmap, not
 *               malloc), written as one chunk when full; a buffer goes
 *               back to a pool when its thread exits.
 *   order       one global counter stamps each call (raw.h says when).
 *   end         the library's destructor writes every buffer; calls after
 *               it, and after a thread's own exit hook, are written at
 *               once (write-through). exec* flushes first. fork: the child
 *               keeps its forking thread's (emptied) buffer and opens its
 *               own file on its first write. A vfork child (gcc's driver
 *               starts cc1 so) shares the parent's memory but not its
 *               files: it never writes (getpid() is not g_pid); what it
 *               records lands in the parent's buffers.
 *   lost        what a process image still buffered when it died by a
 *               signal, by _exit or by an exec the recorder did not see
 *               (posix_spawn's own) is lost; `trace record` counts the
 *               frees whose block it never saw.
 */
#include "raw.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

enum { OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC };
enum { BUFSZ = 64 * 1024 - 64 };
enum { UNINIT, INITIALIZING, READY, OFF };

/* A thread's buffer. Invariants: used + NF_RAW_RECORD_MAX <= BUFSZ after
 * every append; data[0, used) are whole records, the first with its
 * absolute seq; lock is held by whoever appends or writes them. */
typedef struct tbuf {
    struct tbuf *next; /* every buffer made, pushed once, never removed */
    int lock;
    int pooled;     /* its thread exited: free for the next new thread */
    uint32_t index; /* the thread's index */
    uint64_t last_seq;
    size_t used;
    unsigned char data[BUFSZ];
} tbuf;

#define EXITED ((tbuf *)1)

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

static int g_state;   /* UNINIT .. OFF */
static int g_exiting; /* the destructor ran: write-through */
static uint64_t g_seq;
static uint32_t g_next_index;
static tbuf *g_bufs;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* the file: g_fd, its writes */
static int g_fd = -1;                                      /* opened on the first write */
static uint64_t g_start;                                   /* CLOCK_MONOTONIC ns when the image (or fork child) began */
static int g_pid;                                          /* this image's (or fork child's) pid */
static pthread_key_t g_key;
static char g_dir[3072];
static char g_cmd[NF_RAW_COMMAND_MAX];
static uint32_t g_cmdlen;

static TLS int tls_busy;
static TLS tbuf *tls_buf;
static TLS uint32_t tls_index;

/* ---- bootstrap: dlsym's own allocations, before the real functions ---- */
static _Alignas(64) unsigned char boot[64 * 1024];
static size_t boot_used;

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    for (;;) {
        size_t at = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
        size_t start = (at + 16 + align - 1) & ~(align - 1);
        if (start + n > sizeof boot || start + n < start)
            return NULL;
        if (__atomic_compare_exchange_n(&boot_used, &at, start + n, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            memcpy(boot + start - 16, &n, sizeof n); /* its size, for realloc */
            return boot + start;                     /* zero: boot is static */
        }
    }
}

static int is_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

/* ---- small helpers that never allocate ---- */
static size_t put_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        out[k++] = tmp[--n];
    return k;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void spin_lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            __asm__ volatile("" ::: "memory");
}

static void spin_unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the file ---- */
/* Opens this image's file and writes its header; g_lock held. */
static int open_file_locked(void)
{
    if (g_fd >= 0)
        return 0;
    uint64_t start = g_start;
    uint32_t pid = (uint32_t)g_pid;
    char path[sizeof g_dir + 64];
    size_t n = strlen(g_dir);
    memcpy(path, g_dir, n);
    path[n++] = '/';
    n += put_u64(path + n, pid);
    path[n++] = '-';
    n += put_u64(path + n, start);
    memcpy(path + n, ".raw", 5);
    g_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
    if (g_fd < 0)
        return -1;
    unsigned char h[NF_RAW_HEADER];
    memcpy(h, NF_RAW_MAGIC, 8);
    memcpy(h + 8, &pid, 4);
    memcpy(h + 12, &g_cmdlen, 4);
    memcpy(h + 16, &start, 8);
    if (write_all(g_fd, h, sizeof h) || write_all(g_fd, g_cmd, g_cmdlen))
        return -1;
    return 0;
}

/* Writes one chunk (records of thread index); 0, or -1 when not written
 * here (a vfork child). A write that fails stops the recording (the file
 * then ends early; record says so). */
static int write_chunk(uint32_t index, const unsigned char *data, size_t n)
{
    /* A vfork child shares our memory, not our file table: it leaves the
     * writing to the process whose buffers these are. */
    if (!n)
        return 0;
    if (getpid() != g_pid)
        return -1;
    uint32_t hdr[2] = {index, (uint32_t)n};
    pthread_mutex_lock(&g_lock);
    if (open_file_locked() != 0 || write_all(g_fd, hdr, sizeof hdr) || write_all(g_fd, data, n))
        __atomic_store_n(&g_state, OFF, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void flush_locked(tbuf *b)
{
    if (write_chunk(b->index, b->data, b->used) == 0)
        b->used = 0;
}

static void flush_all(void)
{
    for (tbuf *b = __atomic_load_n(&g_bufs, __ATOMIC_ACQUIRE); b; b = b->next) {
        spin_lock(&b->lock);
        flush_locked(b);
        spin_unlock(&b->lock);
    }
}

/* ---- buffers ---- */
static void thread_exit(void *v)
{
    tbuf *b = v;
    spin_lock(&b->lock);
    flush_locked(b);
    spin_unlock(&b->lock);
    tls_buf = EXITED; /* what this thread still frees is written through */
    __atomic_store_n(&b->pooled, 1, __ATOMIC_RELEASE);
}

static tbuf *buf_get(void)
{
    tbuf *b = NULL;
    for (tbuf *p = __atomic_load_n(&g_bufs, __ATOMIC_ACQUIRE); p && !b; p = p->next) {
        int one = 1;
        if (__atomic_load_n(&p->pooled, __ATOMIC_RELAXED) &&
            __atomic_compare_exchange_n(&p->pooled, &one, 0, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            b = p;
    }
    if (!b) {
        void *m = mmap(NULL, sizeof(tbuf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        b = m;
        b->next = __atomic_load_n(&g_bufs, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&g_bufs, &b->next, b, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            ;
    }
    b->used = 0;
    b->index = __atomic_fetch_add(&g_next_index, 1, __ATOMIC_RELAXED);
    tls_index = b->index;
    tls_buf = b;
    pthread_setspecific(g_key, b); /* thread_exit at the thread's end (keys < 32 never allocate) */
    return b;
}

/* ---- recording ---- */
static size_t encode(unsigned char *p, uint64_t seq, unsigned op, const uint64_t *v, int nv)
{
    size_t n = nf_varint_put(p, seq);
    p[n++] = (unsigned char)op;
    for (int i = 0; i < nv; i++)
        n += nf_varint_put(p + n, v[i]);
    return n;
}

static uint64_t next_seq(void) { return __atomic_fetch_add(&g_seq, 1, __ATOMIC_RELAXED); }

static void record(uint64_t seq, unsigned op, const uint64_t *v, int nv)
{
    tbuf *b = tls_buf;
    if (!b)
        b = buf_get();
    if (b == EXITED || !b) {
        unsigned char one[NF_RAW_RECORD_MAX];
        write_chunk(tls_index, one, encode(one, seq, op, v, nv));
        return;
    }
    spin_lock(&b->lock);
    if (b->used + NF_RAW_RECORD_MAX > BUFSZ)
        flush_locked(b);
    if (b->used + NF_RAW_RECORD_MAX > BUFSZ) { /* a vfork child with a full buffer: lost */
        spin_unlock(&b->lock);
        return;
    }
    b->used += encode(b->data + b->used, b->used ? seq - b->last_seq : seq, op, v, nv);
    b->last_seq = seq;
    if (__atomic_load_n(&g_exiting, __ATOMIC_RELAXED))
        flush_locked(b);
    spin_unlock(&b->lock);
}

/* ---- set-up ---- */
static void read_command(void)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, g_cmd, sizeof g_cmd - 1) : 0;
    if (fd >= 0)
        close(fd);
    g_cmdlen = n > 0 ? (uint32_t)n : 0;
    while (g_cmdlen && g_cmd[g_cmdlen - 1] == '\0')
        g_cmdlen--;
    for (uint32_t i = 0; i < g_cmdlen; i++)
        if ((unsigned char)g_cmd[i] < ' ')
            g_cmd[i] = ' ';
}

static void fork_prepare(void)
{
    tls_busy++;
    pthread_mutex_lock(&g_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&g_lock);
    tls_busy--;
}

/* The child keeps only its own thread's buffer, emptied: what the parent
 * buffered is the parent's to write. */
static void fork_child(void)
{
    pthread_mutex_init(&g_lock, NULL);
    g_start = now_ns();
    g_pid = getpid();
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    tbuf *b = tls_buf;
    if (b && b != EXITED) {
        b->used = 0;
        b->lock = 0;
        b->next = NULL;
    }
    g_bufs = b && b != EXITED ? b : NULL;
    tls_busy--;
}

#define RESOLVE(name) real_##name = (__typeof__(real_##name))dlsym(RTLD_NEXT, #name)

static void init(void)
{
    int expect = UNINIT;
    if (!__atomic_compare_exchange_n(&g_state, &expect, INITIALIZING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) == INITIALIZING && !tls_busy)
            sched_yield();
        return;
    }
    g_start = now_ns();
    g_pid = getpid();
    tls_busy++;
    RESOLVE(malloc);
    RESOLVE(calloc);
    RESOLVE(realloc);
    RESOLVE(free);
    RESOLVE(memalign);
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    const char *dir = getenv("NOTFREE_TRACE_DIR");
    int on = dir && dir[0] && strlen(dir) < sizeof g_dir && real_malloc && real_calloc && real_realloc && real_free &&
             real_memalign && real_posix_memalign && real_aligned_alloc;
    if (on) {
        memcpy(g_dir, dir, strlen(dir) + 1);
        read_command();
        on = pthread_key_create(&g_key, thread_exit) == 0 && pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;
    }
    tls_busy--;
    __atomic_store_n(&g_state, on ? READY : OFF, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void recorder_start(void) { init(); }

__attribute__((destructor)) static void recorder_end(void)
{
    if (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != READY)
        return;
    __atomic_store_n(&g_exiting, 1, __ATOMIC_RELAXED);
    tls_busy++;
    flush_all();
    tls_busy--;
}

/* Is this call to be recorded? Initialises on the first call. */
static inline int recording(void)
{
    int s = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);
    if (__builtin_expect(s == UNINIT, 0) && !tls_busy) {
        init();
        s = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);
    }
    return s == READY && !tls_busy;
}

/* ---- the entry points ---- */
EXPORT void *malloc(size_t n)
{
    if (!recording())
        return real_malloc ? real_malloc(n) : boot_alloc(n, 16);
    tls_busy++;
    void *p = real_malloc(n);
    int e = errno;
    record(next_seq(), OP_MALLOC, (uint64_t[]){n, (uintptr_t)p}, 2);
    errno = e;
    tls_busy--;
    return p;
}

EXPORT void *calloc(size_t c, size_t n)
{
    if (!recording()) {
        if (real_calloc)
            return real_calloc(c, n);
        size_t t;
        return __builtin_mul_overflow(c, n, &t) ? NULL : boot_alloc(t, 16);
    }
    tls_busy++;
    void *p = real_calloc(c, n);
    int e = errno;
    record(next_seq(), OP_CALLOC, (uint64_t[]){c, n, (uintptr_t)p}, 3);
    errno = e;
    tls_busy--;
    return p;
}

/* realloc of a bootstrap block: a new block through the hooks, the old
 * bytes copied (the bootstrap keeps sizes in front of its blocks). */
static void *boot_realloc(void *old, size_t n)
{
    size_t had;
    memcpy(&had, (unsigned char *)old - 16, sizeof had);
    void *p = malloc(n);
    if (p)
        memcpy(p, old, had < n ? had : n);
    return p;
}

EXPORT void *realloc(void *old, size_t n)
{
    if (old && is_boot(old))
        return boot_realloc(old, n);
    if (!recording())
        return real_realloc ? real_realloc(old, n) : boot_alloc(n, 16);
    tls_busy++;
    void *p = real_realloc(old, n);
    int e = errno;
    record(next_seq(), OP_REALLOC, (uint64_t[]){(uintptr_t)old, n, (uintptr_t)p}, 3);
    errno = e;
    tls_busy--;
    return p;
}

EXPORT void *reallocarray(void *old, size_t c, size_t n)
{
    size_t t;
    if (__builtin_mul_overflow(c, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, t);
}

EXPORT void free(void *p)
{
    if (p && is_boot(p))
        return;
    if (!recording()) {
        if (real_free)
            real_free(p);
        return;
    }
    tls_busy++;
    int e = errno;
    uint64_t seq = next_seq(); /* before the block can be handed out again */
    real_free(p);
    record(seq, OP_FREE, (uint64_t[]){(uintptr_t)p}, 1);
    errno = e;
    tls_busy--;
}

static void *aligned(unsigned op, void *(*fn)(size_t, size_t), size_t align, size_t n)
{
    if (!recording())
        return fn ? fn(align, n) : boot_alloc(n, align);
    tls_busy++;
    void *p = fn(align, n);
    int e = errno;
    record(next_seq(), op, (uint64_t[]){align, n, (uintptr_t)p}, 3);
    errno = e;
    tls_busy--;
    return p;
}

EXPORT void *memalign(size_t align, size_t n) { return aligned(OP_MEMALIGN, real_memalign, align, n); }
EXPORT void *aligned_alloc(size_t align, size_t n) { return aligned(OP_ALIGNED_ALLOC, real_aligned_alloc, align, n); }

EXPORT void *valloc(size_t n) { return aligned(OP_MEMALIGN, real_memalign, (size_t)sysconf(_SC_PAGESIZE), n); }

EXPORT void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), up = (n + page - 1) & ~(page - 1);
    return aligned(OP_MEMALIGN, real_memalign, page, up ? up : page);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!recording()) {
        if (real_posix_memalign)
            return real_posix_memalign(out, align, n);
        *out = boot_alloc(n, align);
        return *out ? 0 : ENOMEM;
    }
    tls_busy++;
    void *p = NULL;
    int rc = real_posix_memalign(&p, align, n);
    int e = errno;
    record(next_seq(), OP_POSIX_MEMALIGN, (uint64_t[]){align, n, rc == 0 ? (uintptr_t)p : 0}, 3);
    errno = e;
    tls_busy--;
    if (rc == 0)
        *out = p;
    return rc;
}

/* ---- exec: what this image buffered is written before it is replaced ---- */
static void before_exec(void)
{
    if (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != READY)
        return;
    tls_busy++;
    flush_all();
    tls_busy--;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (!real)
        real = (__typeof__(real))dlsym(RTLD_NEXT, "execve");
    before_exec();
    return real(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
    static int (*real)(const char *, char *const[]);
    if (!real)
        real = (__typeof__(real))dlsym(RTLD_NEXT, "execv");
    before_exec();
    return real(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
    static int (*real)(const char *, char *const[]);
    if (!real)
        real = (__typeof__(real))dlsym(RTLD_NEXT, "execvp");
    before_exec();
    return real(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (!real)
        real = (__typeof__(real))dlsym(RTLD_NEXT, "execvpe");
    before_exec();
    return real(file, argv, envp);
}
