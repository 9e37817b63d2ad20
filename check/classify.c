/* check/classify.c: a probe's markers and end into its cell (probe.h).
 *
 *   killed at the timeout                    hang
 *   a result line, then exit 0               the probe's own verdict
 *   a misuse probe that stopped after its bad marker, with a message on
 *   stderr or by SIGABRT:
 *     before `done`                          detected (at the bad call)
 *     after `done`                           late (the detail names the call)
 *   anything else that died                  crash (signal, the call it was
 *                                            in, the message if any)
 * An API probe that dies is a crash whatever it printed: a legal call may
 * fail, never end the program. */
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

void nf_probe_trace_line(nf_probe_trace *t, const char *line)
{
    if (!strncmp(line, "call ", 5)) {
        snprintf(t->last_call, sizeof t->last_call, "%s", line + 5);
    } else if (!strncmp(line, "bad ", 4)) {
        snprintf(t->bad, sizeof t->bad, "%s", line + 4);
        snprintf(t->last_call, sizeof t->last_call, "%s", line + 4);
        t->bad_seen = 1;
        t->done_seen = 0;
    } else if (!strcmp(line, "done")) {
        t->done_seen = 1;
    } else if (!strncmp(line, "result ", 7)) {
        snprintf(t->result, sizeof t->result, "%s", line + 7);
        t->has_result = 1;
    }
}

static const char *signame(int sig, char *buf, size_t len)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGABRT, "SIGABRT"}, {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGILL, "SIGILL"},
                 {SIGFPE, "SIGFPE"},   {SIGTRAP, "SIGTRAP"}, {SIGKILL, "SIGKILL"}, {SIGSYS, "SIGSYS"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    snprintf(buf, len, "signal %d", sig);
    return buf;
}

/* The first non-empty line of s, without its newline. */
void nf_check_first_line(const char *s, char *out, size_t len)
{
    while (*s == '\n' || *s == ' ')
        s++;
    size_t n = strcspn(s, "\n");
    if (n >= len)
        n = len - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

void nf_check_classify(const nf_probe *p, const nf_probe_trace *t, int status, int timed_out, double timeout_s,
                       const char *err, nf_check_outcome *o)
{
    o->status = status;
    snprintf(o->message, sizeof o->message, "%s", err);
    o->pointer[0] = '\0';
    const char *hex = strstr(t->bad, "0x");
    if (hex) {
        size_t n = 2 + strspn(hex + 2, "0123456789abcdef");
        if (n < sizeof o->pointer) {
            memcpy(o->pointer, hex, n);
            o->pointer[n] = '\0';
        }
    }
    char msg[256];
    nf_check_first_line(err, msg, sizeof msg);
    if (timed_out) {
        o->cell = NF_CELL_HANG;
        snprintf(o->detail, sizeof o->detail, "still running after %.0f s, in %s", timeout_s,
                 t->last_call[0] ? t->last_call : "its start");
        return;
    }
    if (t->has_result && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        char cell[32];
        int off = 0;
        if (sscanf(t->result, "%31s %n", cell, &off) >= 1 && nf_cell_parse(cell) != NF_CELL_COUNT) {
            o->cell = nf_cell_parse(cell);
            snprintf(o->detail, sizeof o->detail, "%s", t->result + off);
            return;
        }
    }
    char sb[32], how[48];
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (sig)
        snprintf(how, sizeof how, "%s", signame(sig, sb, sizeof sb));
    else if (WIFEXITED(status))
        snprintf(how, sizeof how, "exit %d", WEXITSTATUS(status));
    else
        snprintf(how, sizeof how, "status %#x", status);
    const char *where = t->has_result ? "exit, after the probe ended" : t->last_call[0] ? t->last_call : "start";
    if (p->family == NF_PROBE_MISUSE && t->bad_seen && (msg[0] || sig == SIGABRT)) {
        o->cell = t->done_seen ? NF_CELL_LATE : NF_CELL_DETECTED;
        if (t->done_seen)
            snprintf(o->detail, sizeof o->detail, "%.40s at %.200s: %.200s", how, where, msg[0] ? msg : "(no message)");
        else
            snprintf(o->detail, sizeof o->detail, "%s: %s", how, msg[0] ? msg : "(no message)");
        return;
    }
    o->cell = NF_CELL_CRASH;
    snprintf(o->detail, sizeof o->detail, "%.40s in %.200s%s%.200s", how, where, msg[0] ? ": " : "", msg);
}
