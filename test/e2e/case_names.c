/* Includes the headers of libraries `abc` and `ABC` (and abc.h twice): the include guards are
 * case-exact, so ABC.h is not silently skipped; their ABC_* macros would clash, so ABC.h stops
 * with an #error naming both. With -DONLY_ABC, abc.h alone (twice) compiles and links. */
#include "abc.h"
#include "abc.h"
#ifndef ONLY_ABC
#include "ABC.h"
#endif

int main(void) { return abc_abi_version() == 3 && ABC_HIDDEN_SIZE == 13 ? 0 : 1; }
