/* check.h: a tiny test harness for the unit tests.
 *
 * CHECK(cond, fmt, ...)        records a failure (file:line, the condition and
 *                              a message) and goes on.
 * CHECK_NEAR(got, want, tol)   |got - want| <= tol, both printed.
 * CHECK_STR(got, want)         strcmp equal, both printed.
 * TEST(fn)                     runs one test function and names it.
 * check_done()                 prints a summary; returns the exit status.
 */
#ifndef NF_TEST_CHECK_H
#define NF_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;
static const char *check_test = "";

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        check_count++;                                                        \
        if (!(cond)) {                                                        \
            check_failures++;                                                 \
            fprintf(stderr, "FAIL %s:%d [%s] %s: ", __FILE__, __LINE__,       \
                    check_test, #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                            \
    do {                                                                      \
        double g_ = (double)(got), w_ = (double)(want), t_ = (double)(tol);   \
        CHECK(fabs(g_ - w_) <= t_, "%s = %g, want %g +- %g", #got, g_, w_, t_); \
    } while (0)

#define CHECK_STR(got, want)                                                  \
    do {                                                                      \
        const char *g_ = (got), *w_ = (want);                                 \
        CHECK(g_ && w_ && strcmp(g_, w_) == 0, "%s = \"%s\", want \"%s\"",    \
              #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                  \
    } while (0)

#define TEST(fn)                                                              \
    do {                                                                      \
        check_test = #fn;                                                     \
        int before_ = check_failures;                                         \
        fn();                                                                 \
        printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn);  \
    } while (0)

static inline int check_done(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
