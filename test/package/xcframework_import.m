// @import of a gru-gen XCFramework's module (test/package/xcframework.test): the module kws
// gives the ABI's functions, types and macros, as `import kws` does in Swift.
@import kws;

int main(void) {
  kws_model *model = 0;
  if (kws_create(0, 0, 0, 0, &model) != GRU_INVALID_ARGUMENT) return 1;
  return KWS_HIDDEN_SIZE == 13 && kws_abi_version() >= 1 ? 0 : 2;
}
