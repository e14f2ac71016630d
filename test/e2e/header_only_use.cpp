// A C++ app including a generated header (spec_symbol.test): it links only against a library of
// the header's spec. -DLIB=<name>.
#define GRU_TEST_STR_(x) #x
#define GRU_TEST_STR(x) GRU_TEST_STR_(x)
#include GRU_TEST_STR(LIB.h)

#define ABI_(lib) lib##_abi_version
#define ABI(lib) ABI_(lib)

int main() { return ABI(LIB)() == 3 ? 0 : 1; }
