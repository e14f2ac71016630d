/* The library a test program is built against, by name: -DLIB=<name> -DLIB_UPPER=<NAME>. Includes
 * <name>.h and gives its functions as FN(run) (<name>_run), its macros as MACRO(HIDDEN_SIZE)
 * (<NAME>_HIDDEN_SIZE) and its model type as model_t. */
#ifndef GRU_TEST_LIB_NAMES_H
#define GRU_TEST_LIB_NAMES_H

#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(LIB.h)

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(fn) CAT(LIB, fn)
#define MACRO(m) CAT(LIB_UPPER, m)
typedef FN(model) model_t;

#endif /* GRU_TEST_LIB_NAMES_H */
