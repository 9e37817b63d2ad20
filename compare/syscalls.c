/* compare/syscalls.c: counts mmap, munmap, mremap, brk, madvise and
 * mprotect of a program and all its threads, whoever makes them (the
 * allocator, glibc inside, the loader).
 *
 * How: the child installs a seccomp filter that answers SECCOMP_RET_TRACE
 * for just those six calls (and for getppid, the worker's marker) and
 * SECCOMP_RET_ALLOW for every other; we trace it with ptrace
 * (PTRACE_O_TRACESECCOMP; threads followed with PTRACE_O_TRACECLONE), so
 * the program stops only at the calls counted, and PTRACE_GETEVENTMSG
 * says which one (the filter's SECCOMP_RET_DATA). Interposing on mmap
 * cannot see the calls glibc makes inside itself, and PTRACE_SYSCALL
 * stops at every call; this stops at the counted ones only. Still, each
 * stop costs two context switches, so the counting run is separate and
 * untimed.
 *
 * Window: the worker calls getppid just before it starts the workload
 * and again after its last round; only the calls in between are counted
 * (thread start included, process start-up and exit not). A program that
 * never calls getppid is counted whole. */
#include "compare.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const nf_cmp_sys_names[NF_CMP_NSYS] = {"mmap", "munmap", "mremap", "brk", "madvise", "mprotect"};

const char nf_cmp_syscall_method[] =
    "seccomp filter returning SECCOMP_RET_TRACE for mmap, munmap, mremap, brk, madvise, mprotect only, "
    "traced with ptrace (PTRACE_O_TRACESECCOMP, threads followed by PTRACE_O_TRACECLONE); counted in a "
    "separate untimed run of the same workload, between the worker's start and the end of its last round";

#if defined(__x86_64__)
#define NF_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NF_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

enum { MARKER = NF_CMP_NSYS }; /* RET_DATA of getppid */

static const long traced_nr[NF_CMP_NSYS + 1] = {
    SYS_mmap, SYS_munmap, SYS_mremap, SYS_brk, SYS_madvise, SYS_mprotect, SYS_getppid,
};

/* Child side: TRACE for the counted calls, ALLOW for the rest. */
static int install_filter(void)
{
#ifndef NF_AUDIT_ARCH
    errno = ENOSYS;
    return -1;
#else
    enum { N = NF_CMP_NSYS + 1 };
    struct sock_filter f[4 + 2 * N + 1];
    unsigned k = 0;
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NF_AUDIT_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (unsigned i = 0; i < N; i++) {
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)traced_nr[i], 0, 1);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | i);
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {(unsigned short)k, f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#endif
}

static volatile sig_atomic_t alarm_rang;
static void on_alarm(int sig)
{
    (void)sig;
    alarm_rang = 1;
}

int nf_cmp_count_syscalls(char *const argv[], const char *preload, double timeout_s, long long counts[NF_CMP_NSYS],
                          char *out_line, size_t out_len, char *err, size_t errlen)
{
    memset(counts, 0, sizeof(long long) * NF_CMP_NSYS);
    int out[2];
    if (pipe(out) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t child = fork();
    if (child < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (child == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        nf_cmp_child_env(preload);
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(126);
        raise(SIGSTOP); /* the parent sets its options */
        if (install_filter() != 0) {
            fprintf(stderr, "seccomp filter: %s\n", strerror(errno));
            _exit(126);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
        snprintf(err, errlen, "the child did not stop for ptrace");
        close(out[0]);
        return -1;
    }
    long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)opts) != 0) {
        snprintf(err, errlen, "PTRACE_SETOPTIONS: %s", strerror(errno));
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        close(out[0]);
        return -1;
    }
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
    sigaction(SIGALRM, &sa, &old);
    alarm_rang = 0;
    alarm((unsigned)(timeout_s + 1));
    ptrace(PTRACE_CONT, child, NULL, NULL);

    long long window[NF_CMP_NSYS] = {0}, whole[NF_CMP_NSYS] = {0};
    int markers = 0, main_status = -1, killed = 0;
    for (;;) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR && alarm_rang && !killed) {
                kill(child, SIGKILL);
                killed = 1;
                continue;
            }
            if (errno == EINTR)
                continue;
            break; /* ECHILD: every traced task is gone */
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == child)
                main_status = status;
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        int sig = WSTOPSIG(status), event = status >> 16, deliver = 0;
        if (event == PTRACE_EVENT_SECCOMP) {
            unsigned long data = 0;
            ptrace(PTRACE_GETEVENTMSG, pid, NULL, &data);
            if (data == MARKER)
                markers++;
            else if (data < NF_CMP_NSYS) {
                whole[data]++;
                if (markers == 1)
                    window[data]++;
            }
        } else if (event == 0 && sig != SIGSTOP && sig != SIGTRAP) {
            deliver = sig; /* a real signal: pass it on */
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)deliver);
    }
    alarm(0);
    sigaction(SIGALRM, &old, NULL);

    if (out_line && out_len) {
        ssize_t n = read(out[0], out_line, out_len - 1);
        out_line[n > 0 ? n : 0] = '\0';
        out_line[strcspn(out_line, "\n")] = '\0';
    }
    close(out[0]);
    memcpy(counts, markers >= 1 ? window : whole, sizeof window);
    if (killed) {
        snprintf(err, errlen, "timeout: killed after %.0f s", timeout_s);
        return -1;
    }
    if (main_status == -1 || !WIFEXITED(main_status) || WEXITSTATUS(main_status) != 0) {
        snprintf(err, errlen, "the counted run ended with %s %d",
                 main_status != -1 && WIFSIGNALED(main_status) ? "signal" : "status",
                 main_status == -1          ? -1
                 : WIFSIGNALED(main_status) ? WTERMSIG(main_status)
                                            : WEXITSTATUS(main_status));
        return -1;
    }
    return 0;
}
