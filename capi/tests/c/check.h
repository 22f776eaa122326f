/*
 * check.h: the C tests' checks. CHECK(cond, what) counts a pass or prints the failure (file,
 * line, what, errno); SUMMARY() prints "N passed, M failed" and gives the exit status.
 */
#ifndef QNXSIM_TEST_CHECK_H
#define QNXSIM_TEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

#define CHECK(cond, what)                                                              \
    do {                                                                               \
        int check_errno_ = errno;                                                      \
        if (cond) {                                                                    \
            check_passed++;                                                            \
        } else {                                                                       \
            check_failed++;                                                            \
            printf("FAIL %s:%d: %s (errno %d: %s)\n", __FILE__, __LINE__, (what),     \
                   check_errno_, strerror(check_errno_));                              \
        }                                                                              \
    } while (0)

#define SUMMARY()                                                                      \
    (printf("%d passed, %d failed\n", check_passed, check_failed), fflush(stdout),    \
     check_failed == 0 ? 0 : 1)

#endif
