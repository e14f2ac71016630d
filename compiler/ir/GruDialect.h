// The gru dialect (GruDialect.td): gru-gen's IR.
#pragma once

#include "mlir/IR/Dialect.h"

#include "ir/GruDialect.h.inc"
#include "ir/GruEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/GruAttrs.h.inc"
