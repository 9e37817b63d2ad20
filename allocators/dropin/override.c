/* override.c: the libc face of a drop-in allocator (libnotfree-<name>.so).
 *
 * Every libc-facing behaviour of our drop-in builds lives in this one file;
 * the allocator behind it is an nf_allocator (notfree/alloc.h) chosen at
 * build time with -DNF_DROPIN_ALLOCATOR=nf_allocator_<name> and
 * -DNF_DROPIN_NAME="<name>". Since each library serves one allocator,
 * malloc and free may also name the allocator's own entry points
 * (-DNF_DROPIN_MALLOC=<name>_malloc -DNF_DROPIN_FREE=<name>_free): direct
 * calls, and free becomes a tail call. -DNF_DROPIN_FREE_KEEPS_ERRNO=1 says
 * the allocator's free leaves errno alone itself (its fast path makes no
 * system call, its slow path saves errno), so this file does not save it;
 * -DNF_DROPIN_MALLOC_SETS_ENOMEM=1 that its malloc sets ENOMEM whenever it
 * returns NULL, so malloc becomes a tail call too.
 * allocators/dropin/meson.build sets these per allocator.
 *
 * Glossary
 *   heap       the allocator's process-wide heap (default_heap(): bins' on
 *              the real program break, slab's and shard's on mmap), made
 *              on the first call of any entry.
 *   bootstrap  a static buffer that serves the few requests made while the
 *              heap is being made (pthread_atfork or pthread_setspecific may
 *              call malloc from inside our init); its blocks are never
 *              given back, and free/realloc/usable size recognise them.
 *   thread state  per thread, initial-exec TLS: the heap pointer once the
 *              thread is registered (its pthread key value set, so that the
 *              key's destructor hands the thread's cache back at exit).
 *   stats line  with NOTFREE_STATS=1 (the only tunable here; default 0, any
 *              other value is reported once and ignored), one line per
 *              process at normal exit, to a copy of stderr taken at load.
 *
 * Rules
 *   - Nothing on the path into the allocator calls malloc; a call that
 *     comes back into malloc while this thread initialises is served from
 *     the bootstrap buffer.
 *   - free keeps errno. Failures set errno as glibc does (ENOMEM, EINVAL).
 *   - The statistics line (NOTFREE_STATS=1) is formatted by hand and written
 *     with write(2) from a destructor: no stdio, no allocation.
 *   - Only the C/POSIX/glibc allocation names and notfree_dropin_identify are
 *     exported (dropin.map); everything else is bound inside the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notfree/alloc.h"
#include "../fmt.h"

#ifndef NF_DROPIN_ALLOCATOR
#error "build with -DNF_DROPIN_ALLOCATOR=nf_allocator_<name>"
#endif
#ifndef NF_DROPIN_NAME
#error "build with -DNF_DROPIN_NAME=\"<name>\""
#endif

#define NF_EXPORT __attribute__((visibility("default")))
#define NF_NOINLINE __attribute__((noinline))
#define NF_TLS __thread __attribute__((tls_model("initial-exec")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

extern const nf_allocator NF_DROPIN_ALLOCATOR;
static const nf_allocator *const A = &NF_DROPIN_ALLOCATOR;

/* ---- configuration: the only #ifs; the logic below reads these ---- */
#ifdef NF_DROPIN_MALLOC
__attribute__((visibility("hidden"))) void *NF_DROPIN_MALLOC(nf_heap *h, size_t n);
#else
#define NF_DROPIN_MALLOC(h, n) A->malloc(h, n)
#endif
#ifdef NF_DROPIN_FREE
__attribute__((visibility("hidden"))) void NF_DROPIN_FREE(nf_heap *h, void *p);
#else
#define NF_DROPIN_FREE(h, p) A->free(h, p)
#endif
#ifndef NF_DROPIN_FREE_KEEPS_ERRNO
#define NF_DROPIN_FREE_KEEPS_ERRNO 0
#endif
#ifndef NF_DROPIN_MALLOC_SETS_ENOMEM
#define NF_DROPIN_MALLOC_SETS_ENOMEM 0
#endif
static const int free_keeps_errno = NF_DROPIN_FREE_KEEPS_ERRNO;
static const int malloc_sets_enomem = NF_DROPIN_MALLOC_SETS_ENOMEM;

/* ---- process and thread state ---- */
enum { BOOT_BYTES = 256 << 10, BOOT_HDR = 16 };
enum thread_state { T_NEW, T_REGISTERED, T_EXITED, T_INIT_BUSY };

static nf_heap *g_heap;   /* set once (release), read with acquire */
static int g_init_failed; /* default_heap() returned NULL */
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t g_thread_key;
/* M_PERTURB / MALLOC_PERTURB_ (0: off): blocks from malloc are filled with
 * its complement. Freed blocks are not
 * filled: only the allocator could do that after its integrity checks, and
 * a fill before them would hide a double free. */
static unsigned char g_perturb;

static NF_TLS nf_heap *t_heap;       /* non-NULL: registered, take the fast path */
static NF_TLS unsigned char t_state; /* enum thread_state */

static _Alignas(64) unsigned char g_boot[BOOT_BYTES];
static size_t g_boot_used; /* atomic bump offset into g_boot */

/* ---- small helpers that never allocate ---- */
static size_t env_uint(const char *name, size_t dflt, size_t max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    size_t v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9' || v > max / 10) {
            static const char msg[] = ": malformed value (want a number), using the default\n";
            if (write(2, "notfree: ", 9) < 0 || write(2, name, strlen(name)) < 0 || write(2, msg, sizeof msg - 1) < 0)
                return dflt;
            return dflt;
        }
        v = v * 10 + (size_t)(*c - '0');
    }
    return v > max ? dflt : v;
}

static int is_pow2(size_t x) { return x && !(x & (x - 1)); }

/* ---- bootstrap buffer ---- */
static int boot_owns(const void *p) { return (uintptr_t)p - (uintptr_t)g_boot < sizeof g_boot; }

static void *boot_alloc(size_t n, size_t align)
{
    if (align < BOOT_HDR)
        align = BOOT_HDR;
    if (n > BOOT_BYTES || align > BOOT_BYTES / 4) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old = __atomic_load_n(&g_boot_used, __ATOMIC_RELAXED), start, end;
    do {
        start = (old + BOOT_HDR + align - 1) & ~(align - 1);
        end = start + ((n + 15) & ~(size_t)15);
        if (end > BOOT_BYTES) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!__atomic_compare_exchange_n(&g_boot_used, &old, end, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    memcpy(g_boot + start - sizeof(size_t), &n, sizeof n);
    return g_boot + start; /* zeroed: fresh bytes of a static buffer */
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - sizeof n, sizeof n);
    return n;
}

/* ---- init, fork, thread exit ---- */
static void fork_prepare(void)
{
    pthread_mutex_lock(&g_init_lock);
    if (g_heap && A->fork_prepare)
        A->fork_prepare(g_heap);
}

static void fork_parent(void)
{
    if (g_heap && A->fork_parent)
        A->fork_parent(g_heap);
    pthread_mutex_unlock(&g_init_lock);
}

static void fork_child(void)
{
    if (g_heap && A->fork_child)
        A->fork_child(g_heap);
    pthread_mutex_init(&g_init_lock, NULL);
}

/* The key's destructor: the thread is exiting; hand its cache back. Calls
 * after this (other destructors, libc's own thread cleanup) re-enter by the
 * slow path and hand back again after each call. */
static void thread_dtor(void *value)
{
    (void)value;
    nf_heap *h = t_heap;
    t_heap = NULL;
    t_state = T_EXITED;
    if (h && A->thread_exit)
        A->thread_exit(h);
}

static nf_heap *init_slow(void)
{
    unsigned char prev = t_state;
    t_state = T_INIT_BUSY;
    pthread_mutex_lock(&g_init_lock);
    nf_heap *h = g_heap;
    if (!h && !g_init_failed) {
        h = A->default_heap ? A->default_heap() : NULL;
        if (h) {
            g_perturb = (unsigned char)env_uint("MALLOC_PERTURB_", 0, 255);
            pthread_key_create(&g_thread_key, thread_dtor);
            pthread_atfork(fork_prepare, fork_parent, fork_child);
            __atomic_store_n(&g_heap, h, __ATOMIC_RELEASE);
        } else {
            g_init_failed = 1;
        }
    }
    pthread_mutex_unlock(&g_init_lock);
    t_state = prev;
    return h;
}

/* The heap for a call that missed the fast path, or NULL: serve it from the
 * bootstrap buffer (this thread is inside our init, or the heap cannot be
 * made). */
static NF_NOINLINE nf_heap *heap_slow(void)
{
    if (t_state == T_INIT_BUSY)
        return NULL;
    nf_heap *h = __atomic_load_n(&g_heap, __ATOMIC_ACQUIRE);
    if (!h && !(h = init_slow()))
        return NULL;
    if (t_state == T_EXITED)
        return h; /* no re-registration: the caller hands back after the call */
    t_heap = h;   /* before setspecific, which may call malloc */
    t_state = T_REGISTERED;
    pthread_setspecific(g_thread_key, (void *)1);
    return h;
}

/* After a call that took the slow path: a thread past its key destructor
 * keeps nothing cached. */
static NF_NOINLINE void heap_leave_slow(nf_heap *h)
{
    if (t_state == T_EXITED && A->thread_exit)
        A->thread_exit(h);
}

#define HEAP_ENTER(h, slow) \
    nf_heap *h = t_heap;    \
    int slow = !h;          \
    if (UNLIKELY(slow))     \
    h = heap_slow()

#define HEAP_LEAVE(h, slow)      \
    do {                         \
        if (UNLIKELY(slow) && h) \
            heap_leave_slow(h);  \
    } while (0)

/* ---- the family ----
 * The fast paths of malloc and free: one TLS load, one well-predicted
 * branch for every rare case (no heap yet, perturb on; a bootstrap
 * pointer), then the allocator by a direct call. */
static NF_NOINLINE void *malloc_slow(size_t n, nf_heap *h)
{
    int slow = !h;
    if (slow && !(h = heap_slow()))
        return boot_alloc(n, 16);
    void *p = NF_DROPIN_MALLOC(h, n);
    if (slow)
        heap_leave_slow(h);
    if (!p)
        errno = ENOMEM;
    else if (g_perturb)
        memset(p, g_perturb ^ 0xff, n);
    return p;
}

NF_EXPORT void *malloc(size_t n)
{
    nf_heap *h = t_heap;
    if (UNLIKELY((h == NULL) | (g_perturb != 0)))
        return malloc_slow(n, h);
    if (malloc_sets_enomem)
        return NF_DROPIN_MALLOC(h, n);
    void *p = NF_DROPIN_MALLOC(h, n);
    if (UNLIKELY(!p))
        errno = ENOMEM;
    return p;
}

static NF_NOINLINE void free_slow(void *p, nf_heap *h)
{
    if (!p || boot_owns(p))
        return;
    int saved = errno, slow = !h;
    if (slow && !(h = heap_slow()))
        h = __atomic_load_n(&g_heap, __ATOMIC_ACQUIRE);
    if (h) {
        NF_DROPIN_FREE(h, p);
        if (slow)
            heap_leave_slow(h);
    }
    errno = saved;
}

/* free(NULL) goes to the allocator, whose free ignores NULL. */
NF_EXPORT void free(void *p)
{
    nf_heap *h = t_heap;
    if (UNLIKELY((h == NULL) | boot_owns(p)))
        return free_slow(p, h);
    if (free_keeps_errno)
        return NF_DROPIN_FREE(h, p);
    int saved = errno;
    NF_DROPIN_FREE(h, p);
    errno = saved;
}

NF_EXPORT void cfree(void *p);
NF_EXPORT void cfree(void *p) { free(p); }

NF_EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    HEAP_ENTER(h, slow);
    if (!h)
        return boot_alloc(total, 16);
    void *p = A->calloc(h, n, size);
    HEAP_LEAVE(h, slow);
    if (!p)
        errno = ENOMEM;
    return p;
}

NF_EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (UNLIKELY(boot_owns(p))) {
        if (n == 0)
            return NULL; /* glibc: realloc(p, 0) frees p */
        void *q = malloc(n);
        if (q) {
            size_t old = boot_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    HEAP_ENTER(h, slow);
    if (!h)
        h = __atomic_load_n(&g_heap, __ATOMIC_ACQUIRE);
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = A->realloc(h, p, n);
    HEAP_LEAVE(h, slow);
    if (!q && n)
        errno = ENOMEM;
    return q;
}

NF_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

/* Aligned allocation, alignment a power of two (callers check). */
static void *aligned_impl(size_t align, size_t n)
{
    HEAP_ENTER(h, slow);
    if (!h)
        return boot_alloc(n, align);
    void *p = A->memalign(h, align < 16 ? 16 : align, n);
    HEAP_LEAVE(h, slow);
    if (!p)
        errno = ENOMEM;
    return p;
}

NF_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!is_pow2(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    void *p = aligned_impl(align, n);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

NF_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_impl(align, n);
}

/* glibc: an alignment that is not a power of two is rounded up to one; one
 * above SIZE_MAX / 2 + 1 is EINVAL. */
NF_EXPORT void *memalign(size_t align, size_t n)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!is_pow2(align)) {
        size_t a = 16;
        while (a < align)
            a <<= 1;
        align = a;
    }
    return aligned_impl(align, n);
}

NF_EXPORT void *valloc(size_t n) { return aligned_impl((size_t)sysconf(_SC_PAGESIZE), n); }

NF_EXPORT void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    n = n ? (n + page - 1) & ~(page - 1) : page;
    return aligned_impl(page, n);
}

NF_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (boot_owns(p))
        return boot_size(p);
    nf_heap *h = __atomic_load_n(&g_heap, __ATOMIC_ACQUIRE);
    return h ? A->usable_size(h, p) : 0;
}

NF_EXPORT int malloc_trim(size_t pad)
{
    HEAP_ENTER(h, slow);
    int r = h && A->trim ? A->trim(h, pad) : 0;
    HEAP_LEAVE(h, slow);
    return r;
}

/* The interface has no tunables yet: only what this wrapper does itself
 * applies (M_PERTURB); every other parameter is refused with 0. */
NF_EXPORT int mallopt(int param, int value)
{
    if (param == M_PERTURB) {
        g_perturb = (unsigned char)value;
        return 1;
    }
    return 0;
}

static nf_alloc_stats read_stats(void)
{
    nf_alloc_stats s;
    memset(&s, 0, sizeof s);
    nf_heap *h = __atomic_load_n(&g_heap, __ATOMIC_ACQUIRE);
    if (!h) { /* never called: nothing served, nothing mapped */
        s.available = NF_STAT_LIVE | NF_STAT_HELD | NF_STAT_MAPPED | NF_STAT_PAGE_CALLS | NF_STAT_CALLS;
        return s;
    }
    if (!A->stats || A->stats(h, &s) != 0)
        memset(&s, 0, sizeof s);
    return s;
}

NF_EXPORT struct mallinfo2 mallinfo2(void)
{
    nf_alloc_stats s = read_stats();
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = s.mapped_bytes;  /* all memory from the page source */
    mi.uordblks = s.live_bytes; /* in use */
    mi.fordblks = s.held_bytes > s.live_bytes ? s.held_bytes - s.live_bytes : 0;
    mi.usmblks = s.peak_mapped_bytes;
    return mi;
}

NF_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = (int)m2.arena;
    mi.uordblks = (int)m2.uordblks;
    mi.fordblks = (int)m2.fordblks;
    mi.usmblks = (int)m2.usmblks;
    return mi;
}

/* ---- the glibc-internal names, for code that calls them directly ---- */
NF_EXPORT void *__libc_malloc(size_t n);
NF_EXPORT void __libc_free(void *p);
NF_EXPORT void *__libc_calloc(size_t n, size_t s);
NF_EXPORT void *__libc_realloc(void *p, size_t n);
NF_EXPORT void *__libc_memalign(size_t a, size_t n);
NF_EXPORT void *__libc_valloc(size_t n);
NF_EXPORT void *__libc_pvalloc(size_t n);
NF_EXPORT void *__libc_malloc(size_t n) { return malloc(n); }
NF_EXPORT void __libc_free(void *p) { free(p); }
NF_EXPORT void *__libc_calloc(size_t n, size_t s) { return calloc(n, s); }
NF_EXPORT void *__libc_realloc(void *p, size_t n) { return realloc(p, n); }
NF_EXPORT void *__libc_memalign(size_t a, size_t n) { return memalign(a, n); }
NF_EXPORT void *__libc_valloc(size_t n) { return valloc(n); }
NF_EXPORT void *__libc_pvalloc(size_t n) { return pvalloc(n); }

/* ---- the statistics line ---- */
static void put_kv(nf_fmt *l, const char *key, uint64_t v, int known)
{
    nf_fmt_str(l, " ");
    nf_fmt_str(l, key);
    nf_fmt_str(l, "=");
    if (known)
        nf_fmt_u64(l, v);
    else
        nf_fmt_str(l, "unknown");
}

static int g_stats_on;    /* NOTFREE_STATS, read once at load: 1 or 2 */
static int g_stats_paths; /* NOTFREE_STATS=2: the path counts too */

static void write_stats_line(int fd)
{
    nf_alloc_stats s = read_stats();
    char buf[2048];
    nf_fmt l = {.b = buf, .cap = sizeof buf, .n = 0};
    uint64_t calls = 0;
    for (int k = 0; k < NF_PAGE_CALL_COUNT; k++)
        calls += s.page_calls[k];
    int live = !!(s.available & NF_STAT_LIVE), mapped = !!(s.available & NF_STAT_MAPPED);
    int pc = !!(s.available & NF_STAT_PAGE_CALLS), n = !!(s.available & NF_STAT_CALLS);
    nf_fmt_str(&l, "notfree-stats: allocator=" NF_DROPIN_NAME);
    put_kv(&l, "pid", (uint64_t)getpid(), 1);
    put_kv(&l, "malloc", s.mallocs, n);
    put_kv(&l, "free", s.frees, n);
    put_kv(&l, "realloc", s.reallocs, n);
    put_kv(&l, "peak_live", s.peak_live_bytes, live);
    put_kv(&l, "mapped", s.mapped_bytes, mapped);
    put_kv(&l, "peak_mapped", s.peak_mapped_bytes, mapped);
    put_kv(&l, "page_calls", calls, pc);
    put_kv(&l, "live", s.live_bytes, live);
    put_kv(&l, "held", s.held_bytes, !!(s.available & NF_STAT_HELD));
    for (int k = 0; k < NF_PAGE_CALL_COUNT; k++) {
        char key[32] = "page_";
        size_t kl = 5;
        for (const char *c = nf_page_call_name((nf_page_call)k); *c && kl < sizeof key - 1; c++)
            key[kl++] = *c;
        key[kl] = '\0';
        put_kv(&l, key, s.page_calls[k], pc);
    }
    put_kv(&l, "bootstrap_bytes", __atomic_load_n(&g_boot_used, __ATOMIC_RELAXED), 1);
    if (g_stats_paths) /* NOTFREE_STATS=2: which path each call took, named by the allocator */
        for (unsigned k = 0; k < s.npaths; k++) {
            char key[40] = "path_";
            size_t kl = 5;
            for (const char *c = s.paths[k].name; c && *c && kl < sizeof key - 1; c++)
                key[kl++] = *c;
            key[kl] = '\0';
            put_kv(&l, key, s.paths[k].count, 1);
        }
    nf_fmt_end(&l);
    size_t off = 0;
    while (off < l.n) {
        ssize_t w = write(fd, buf + off, l.n - off);
        if (w < 0 && errno == EBADF && fd != 2) { /* the program closed our copy */
            fd = 2;
            continue;
        }
        if (w <= 0 && errno != EINTR)
            break;
        if (w > 0)
            off += (size_t)w;
    }
}

/* Where the line goes: a copy of stderr taken at load, because programs
 * such as coreutils close stderr in their own atexit handler. */
enum { STATS_FD_MIN = 200 };
static int g_stats_fd = -1;

__attribute__((constructor)) static void stats_at_load(void)
{
    int saved = errno;
    size_t v = env_uint("NOTFREE_STATS", 0, 2);
    g_stats_on = v >= 1;
    g_stats_paths = v == 2;
    if (g_stats_on)
        g_stats_fd = fcntl(2, F_DUPFD_CLOEXEC, STATS_FD_MIN);
    errno = saved;
}

/* Runs at normal exit (exit() or return from main), after the program's
 * atexit handlers. */
__attribute__((destructor)) static void stats_at_exit(void)
{
    int saved = errno;
    if (g_stats_on)
        write_stats_line(g_stats_fd >= 0 ? g_stats_fd : 2);
    errno = saved;
}

NF_EXPORT void malloc_stats(void) { write_stats_line(2); }

/* For the system adapter and benches: which allocator this library is. */
NF_EXPORT const char *notfree_dropin_identify(void);
NF_EXPORT const char *notfree_dropin_identify(void) { return "notfree " NF_DROPIN_NAME; }
