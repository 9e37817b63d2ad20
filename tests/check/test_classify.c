/* test_classify.c: a probe's markers and end into its cell
 * (check/classify.c), on made-up traces: every rule, and the pointer the
 * bad marker names. */
#include <signal.h>
#include <sys/wait.h>

#include "../common/check.h"
#include "check.h"

static const nf_probe api = {"api-probe", NF_PROBE_API, "", NULL};
static const nf_probe misuse = {"misuse-probe", NF_PROBE_MISUSE, "", NULL};

/* Feeds the lines (NULL-terminated) and classifies. */
static nf_check_outcome run(const nf_probe *p, const char *const *lines, int status, int timed_out, const char *err)
{
    nf_probe_trace t = {0};
    for (size_t i = 0; lines[i]; i++)
        nf_probe_trace_line(&t, lines[i]);
    nf_check_outcome o;
    nf_check_classify(p, &t, status, timed_out, 10, err, &o);
    return o;
}

#define EXITED(code) W_EXITCODE(code, 0)
#define KILLED(sig) W_EXITCODE(0, sig)

static void test_rules(void)
{
    const char *ok[] = {"call malloc(0) twice", "result correct two unique pointers", NULL};
    nf_check_outcome o = run(&api, ok, EXITED(0), 0, "");
    CHECK(o.cell == NF_CELL_CORRECT && !strcmp(o.detail, "two unique pointers"), "%s: %s", nf_cell_name(o.cell),
          o.detail);

    const char *wrong[] = {"result wrong aligned_alloc(0, 16) = 0x1, want NULL", NULL};
    o = run(&api, wrong, EXITED(0), 0, "");
    CHECK(o.cell == NF_CELL_WRONG, "wrong: %s", nf_cell_name(o.cell));

    const char *hang[] = {"call free(0x10)", NULL};
    o = run(&api, hang, KILLED(SIGKILL), 1, "");
    CHECK(o.cell == NF_CELL_HANG && strstr(o.detail, "free(0x10)"), "hang: %s %s", nf_cell_name(o.cell), o.detail);

    /* An API probe that dies is a crash, message or not. */
    const char *api_abort[] = {"call memalign(2^22, 0)", NULL};
    o = run(&api, api_abort, KILLED(SIGABRT), 0, "notfree-shard: double free of 0x7f00\n");
    CHECK(o.cell == NF_CELL_CRASH && strstr(o.detail, "memalign(2^22, 0)") && strstr(o.detail, "double free"),
          "api abort: %s %s", nf_cell_name(o.cell), o.detail);

    const char *at_bad[] = {"bad free(0x7f12ab00) again", NULL};
    o = run(&misuse, at_bad, KILLED(SIGABRT), 0, "\nfree(): double free detected in tcache 2\nmore\n");
    CHECK(o.cell == NF_CELL_DETECTED, "detected: %s", nf_cell_name(o.cell));
    CHECK(!strcmp(o.pointer, "0x7f12ab00"), "pointer %s", o.pointer);
    CHECK(strstr(o.detail, "free(): double free detected in tcache 2") && !strstr(o.detail, "more"),
          "first line of the message: %s", o.detail);

    /* A message and any signal at the bad call is a detection; no message is a crash. */
    o = run(&misuse, at_bad, KILLED(SIGSEGV), 0, "mine: bad pointer 0x7f12ab00\n");
    CHECK(o.cell == NF_CELL_DETECTED, "segv with a message: %s", nf_cell_name(o.cell));
    o = run(&misuse, at_bad, KILLED(SIGSEGV), 0, "");
    CHECK(o.cell == NF_CELL_CRASH && strstr(o.detail, "SIGSEGV"), "segv: %s %s", nf_cell_name(o.cell), o.detail);

    const char *later[] = {"bad write 0x1 into 0x2", "done", "call malloc(32) #2 after the misuse", NULL};
    o = run(&misuse, later, KILLED(SIGABRT), 0, "malloc(): unaligned tcache chunk detected\n");
    CHECK(o.cell == NF_CELL_LATE && strstr(o.detail, "malloc(32) #2"), "late: %s %s", nf_cell_name(o.cell), o.detail);

    const char *silent[] = {"bad free(0x1)", "done", "result silent the misuse went unnoticed", NULL};
    o = run(&misuse, silent, EXITED(0), 0, "");
    CHECK(o.cell == NF_CELL_SILENT, "silent: %s", nf_cell_name(o.cell));
    /* The verdict, then a death at exit: the allocator noticed late. */
    o = run(&misuse, silent, KILLED(SIGABRT), 0, "heap corrupted\n");
    CHECK(o.cell == NF_CELL_LATE && strstr(o.detail, "exit"), "late at exit: %s %s", nf_cell_name(o.cell), o.detail);

    /* Died before its bad call: the probe's own set-up failed. */
    const char *setup[] = {"call malloc(48)", NULL};
    o = run(&misuse, setup, KILLED(SIGABRT), 0, "oops\n");
    CHECK(o.cell == NF_CELL_CRASH, "before the bad call: %s", nf_cell_name(o.cell));
}

static void test_names(void)
{
    for (int c = 0; c < NF_CELL_COUNT; c++)
        CHECK(nf_cell_parse(nf_cell_name((nf_cell)c)) == (nf_cell)c, "cell %d", c);
    CHECK(nf_cell_parse("nonsense") == NF_CELL_COUNT, "unknown cell");
    CHECK(nf_probe_count() >= 30 && nf_probe_find("double-free-delayed") && !nf_probe_find("nonsense"), "table");
}

int main(void)
{
    TEST(test_rules);
    TEST(test_names);
    return check_done();
}
