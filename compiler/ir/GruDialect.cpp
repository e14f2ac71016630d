#include "ir/GruDialect.h"

#include "ir/GruOps.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "ir/GruDialect.cpp.inc"
#include "ir/GruEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/GruAttrs.cpp.inc"

namespace grugen::gru {

void GruDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/GruOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ir/GruAttrs.cpp.inc"
      >();
}

}  // namespace grugen::gru
