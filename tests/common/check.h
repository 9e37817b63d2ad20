/* tests/common/check.h: the one test harness of every C test.
 *
 * Two kinds of check, by what a failure means for the rest of the test:
 * CHECK(cond, fmt, ...)        records a failure (file:line, the condition and
 *                              a message) and goes on: later checks still
 *                              tell something.
 * REQUIRE(cond)                stops the test (exit 1) with file:line and
 * REQUIREF(cond, fmt, ...)     the condition (and a message): what follows
 *                              would be meaningless or unsafe, as in an
 *                              allocator test after a bad pointer.
 * CHECK_NEAR(got, want, tol)   |got - want| <= tol, both printed.
 * CHECK_STR(got, want)         strcmp equal, both printed.
 * TEST(fn)                     runs one test function and names it.
 * check_done()                 prints a summary; returns the exit status.
 */
#ifndef NF_TEST_CHECK_H
#define NF_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* unused in a test that only REQUIREs */
__attribute__((unused)) static int check_failures;
__attribute__((unused)) static int check_count;
__attribute__((unused)) static const char *check_test = "";

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        check_count++;                                                                      \
        if (!(cond)) {                                                                      \
            check_failures++;                                                               \
            fprintf(stderr, "FAIL %s:%d [%s] %s: ", __FILE__, __LINE__, check_test, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                              \
    do {                                                                        \
        double g_ = (double)(got), w_ = (double)(want), t_ = (double)(tol);     \
        CHECK(fabs(g_ - w_) <= t_, "%s = %g, want %g +- %g", #got, g_, w_, t_); \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        CHECK(g_ &&w_ &&strcmp(g_, w_) == 0, "%s = \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", \
              w_ ? w_ : "(null)");                                                                 \
    } while (0)

#define TEST(fn)                                                             \
    do {                                                                     \
        check_test = #fn;                                                    \
        int before_ = check_failures;                                        \
        fn();                                                                \
        printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

#define REQUIRE(cond)                                                                \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define REQUIREF(cond, ...)                                                          \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static inline int check_done(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
