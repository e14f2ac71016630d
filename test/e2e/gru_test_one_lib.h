/* For a test program built against one library, named on the command line:
 *   cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> prog.c <target>/lib<name>.a
 * Includes <name>.h and the harness, and defines THE_LIB, a `const gru_test_lib *` for it. */
#ifndef GRU_TEST_ONE_LIB_H
#define GRU_TEST_ONE_LIB_H

#define GRU_TEST_STR_(x) #x
#define GRU_TEST_STR(x) GRU_TEST_STR_(x)
#include GRU_TEST_STR(LIB.h)
#include "gru_test_lib.h"

#define GRU_TEST_WRAP(lib, LIB_) GRU_TEST_LIB(lib, LIB_)
GRU_TEST_WRAP(LIB, LIB_UPPER);
#define GRU_TEST_ADDR_(lib) (&lib##_test)
#define GRU_TEST_ADDR(lib) GRU_TEST_ADDR_(lib)
#define THE_LIB GRU_TEST_ADDR(LIB)

#endif /* GRU_TEST_ONE_LIB_H */
