/* Counted checks for the programs built against one library (misuse.c, overlap.c), after
 * gru_test_one_lib.h: expect() counts a check and, when it fails, prints what failed and the
 * library's last_error; expect_report() prints "<lib>: N passed, M failed" and gives the exit
 * status. */
#ifndef GRU_TEST_EXPECT_H
#define GRU_TEST_EXPECT_H

#include <stdio.h>

#define GRU_TEST_LAST_ERROR_(lib) lib##_last_error
#define GRU_TEST_LAST_ERROR(lib) GRU_TEST_LAST_ERROR_(lib)

static int passed, failed;

static void expect(int ok, const char *what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    printf("FAIL: %s (last_error: %s)\n", what, GRU_TEST_LAST_ERROR(LIB)());
  }
}

static int expect_report(const char *name) {
  printf("%s: %d passed, %d failed\n", name, passed, failed);
  return failed != 0;
}

#endif /* GRU_TEST_EXPECT_H */
