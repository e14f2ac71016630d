// gru-lower-to-linalg: gru.layer in upstream dialects, on tensors.
//
// The same arithmetic as the Halide pipelines, written independently, so that MLIR's own CPU
// pipeline can execute a layer as a second implementation (test/mlir/differential):
//
//   xp = x·Wxᵀ + b                          one contraction over all N·L rows
//   scf.for t in [0, L):                    h carried, output filled slice by slice
//     hp = h·Whᵀ                            contraction
//     h' = gates(xp[:, t], hp, h, bhn)      one elementwise linalg.generic
//     output[:, t] = h'
//
// A reverse layer walks t = L-1..0 (the same loop, index L-1-t). A bidirectional one lowers each
// direction so, on its slice of the weights and h0 (leading dimension 2), and inserts the two
// [N][L][H] results side by side into [N][L][2H], forward first.
//
// With lengths (per-row lengths len[N]), each step also yields the state unchanged for rows
// whose len[n] <= t and a zero output there (a second output of the gates' generic).
//
// With reset_after = false (the reset gate before the recurrent product), each step also
// computes rh = r ⊙ h (elementwise) and its product with Wh, whose n block replaces hp_n:
// n = tanh(xp_n + (r ⊙ h)·Wh_nᵀ + bhn).
#include "ir/GruOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "transforms/Passes.h"

namespace grugen {

#define GEN_PASS_DEF_LOWERTOLINALG
#include "transforms/Passes.h.inc"

namespace {

using mlir::Value;
using IteratorType = mlir::utils::IteratorType;

// Builds the lowering of one layer; one member per piece of the computation.
class LayerLowering {
 public:
  LayerLowering(gru::LayerOp layer, mlir::OpBuilder &builder)
      : b_(builder), loc_(layer.getLoc()), dtype_(layer.getDtype()),
        N_(layer.getBatch()), H_(layer.getHiddenSize()), G_(layer.getGateRows()),
        reset_after_(layer.getResetAfter()), direction_(layer.getDirection()) {}

  Value lower(Value x, Value Wx, Value Wh, Value bias, Value bhn, Value h0, Value lengths) {
    lengths_ = lengths;
    if (direction_ != gru::Direction::bidirectional)
      return lower_direction(x, Wx, Wh, bias, bhn, h0, direction_ == gru::Direction::reverse);
    auto x_type = llvm::cast<mlir::RankedTensorType>(x.getType());
    Value L = b_.createOrFold<mlir::tensor::DimOp>(loc_, x, 1);
    llvm::SmallVector<Value> L_dynamic;
    if (x_type.isDynamicDim(1)) L_dynamic.push_back(L);
    Value both = b_.create<mlir::tensor::EmptyOp>(
        loc_, llvm::ArrayRef<int64_t>{N_, x_type.getDimSize(1), 2 * H_}, dtype_, L_dynamic);
    auto at = [&](int64_t v) -> mlir::OpFoldResult { return b_.getIndexAttr(v); };
    for (int64_t d = 0; d < 2; ++d) {
      auto of = [&](Value v) { return v ? direction_slice(v, d) : Value(); };
      Value states = lower_direction(x, of(Wx), of(Wh), of(bias), of(bhn), of(h0), d == 1);
      // both[:, :, d*H : d*H + H] = states
      both = b_.create<mlir::tensor::InsertSliceOp>(
          loc_, states, both, llvm::ArrayRef<mlir::OpFoldResult>{at(0), at(0), at(d * H_)},
          llvm::ArrayRef<mlir::OpFoldResult>{at(N_), L, at(H_)},
          llvm::ArrayRef<mlir::OpFoldResult>{at(1), at(1), at(1)});
    }
    return both;
  }

 private:
  // v[d] of a tensor whose leading dimension is the direction, without that dimension.
  Value direction_slice(Value v, int64_t d) {
    auto type = llvm::cast<mlir::RankedTensorType>(v.getType());
    auto at = [&](int64_t value) -> mlir::OpFoldResult { return b_.getIndexAttr(value); };
    llvm::SmallVector<mlir::OpFoldResult> offsets = {at(d)}, sizes = {at(1)}, strides = {at(1)};
    for (int64_t i = 1; i < type.getRank(); ++i) {
      offsets.push_back(at(0));
      sizes.push_back(at(type.getDimSize(i)));
      strides.push_back(at(1));
    }
    return b_.create<mlir::tensor::ExtractSliceOp>(
        loc_, mlir::RankedTensorType::get(type.getShape().drop_front(), dtype_), v, offsets,
        sizes, strides);
  }

  // One direction: forward, or reverse (t = L-1..0, index L-1-t into xp and the states).
  Value lower_direction(Value x, Value Wx, Value Wh, Value bias, Value bhn, Value h0,
                        bool reverse) {
    auto x_type = llvm::cast<mlir::RankedTensorType>(x.getType());
    const int64_t L_static = x_type.getDimSize(1);
    Value L = b_.createOrFold<mlir::tensor::DimOp>(loc_, x, 1);
    llvm::SmallVector<Value> L_dynamic;  // tensor.empty's operand when L is not static
    if (x_type.isDynamicDim(1)) L_dynamic.push_back(L);

    Value xp = project_inputs(x, Wx, bias, L_static, L_dynamic);
    Value h_init = h0 ? h0 : zeros({N_, H_});
    Value states = b_.create<mlir::tensor::EmptyOp>(
        loc_, llvm::ArrayRef<int64_t>{N_, L_static, H_}, dtype_, L_dynamic);

    Value zero = b_.create<mlir::arith::ConstantIndexOp>(loc_, 0);
    Value one = b_.create<mlir::arith::ConstantIndexOp>(loc_, 1);
    auto time_loop = b_.create<mlir::scf::ForOp>(
        loc_, zero, L, one, mlir::ValueRange{h_init, states},
        [&](mlir::OpBuilder &body, mlir::Location, Value t, mlir::ValueRange carried) {
          mlir::OpBuilder::InsertionGuard guard(b_);
          b_.setInsertionPoint(body.getInsertionBlock(), body.getInsertionPoint());
          Value h = carried[0];
          Value time = t;
          if (reverse) {
            Value last = b_.create<mlir::arith::SubIOp>(loc_, L, one);
            time = b_.create<mlir::arith::SubIOp>(loc_, last, t);
          }
          auto [h_next, output] = step(xp, time, h, Wh, bhn);
          Value filled = insert_state(output, carried[1], time);
          b_.create<mlir::scf::YieldOp>(loc_, mlir::ValueRange{h_next, filled});
        });
    return time_loop.getResult(1);
  }

  mlir::RankedTensorType tensor(llvm::ArrayRef<int64_t> dims) {
    return mlir::RankedTensorType::get(dims, dtype_);
  }

  Value constant(double value) {
    return b_.create<mlir::arith::ConstantOp>(loc_, b_.getFloatAttr(dtype_, value));
  }

  Value zeros(llvm::ArrayRef<int64_t> dims) {
    Value empty = b_.create<mlir::tensor::EmptyOp>(loc_, dims, dtype_);
    return b_.create<mlir::linalg::FillOp>(loc_, constant(0.0), empty).getResult(0);
  }

  mlir::AffineMap map(unsigned dims, llvm::ArrayRef<unsigned> results) {
    return mlir::AffineMap::getMultiDimMapWithTargets(dims, results, b_.getContext());
  }

  // xp [N][L][3H] = x·Wxᵀ + b: b broadcast into the accumulator (zeros without bias), then a
  // contraction over D.
  Value project_inputs(Value x, Value Wx, Value bias, int64_t L_static,
                       llvm::ArrayRef<Value> L_dynamic) {
    auto xp_type = tensor({N_, L_static, G_});
    Value acc = b_.create<mlir::tensor::EmptyOp>(loc_, xp_type.getShape(), dtype_, L_dynamic);
    if (bias) {
      acc = b_.create<mlir::linalg::GenericOp>(
                  loc_, xp_type, mlir::ValueRange{bias}, mlir::ValueRange{acc},
                  llvm::ArrayRef<mlir::AffineMap>{map(3, {2}), map(3, {0, 1, 2})},
                  llvm::SmallVector<IteratorType>(3, IteratorType::parallel),
                  [](mlir::OpBuilder &nb, mlir::Location nloc, mlir::ValueRange args) {
                    nb.create<mlir::linalg::YieldOp>(nloc, args[0]);
                  })
                .getResult(0);
    } else {
      acc = b_.create<mlir::linalg::FillOp>(loc_, constant(0.0), acc).getResult(0);
    }
    // (n, l, g, d): xp[n][l][g] += x[n][l][d] * Wx[g][d]
    return contraction(x, Wx, acc, 4, {map(4, {0, 1, 3}), map(4, {2, 3}), map(4, {0, 1, 2})});
  }

  // out += lhs * rhs over the last of `loops` dimensions.
  Value contraction(Value lhs, Value rhs, Value acc, unsigned loops,
                    llvm::ArrayRef<mlir::AffineMap> maps) {
    llvm::SmallVector<IteratorType> iterators(loops - 1, IteratorType::parallel);
    iterators.push_back(IteratorType::reduction);
    return b_.create<mlir::linalg::GenericOp>(
                 loc_, acc.getType(), mlir::ValueRange{lhs, rhs}, mlir::ValueRange{acc}, maps,
                 iterators,
                 [](mlir::OpBuilder &nb, mlir::Location nloc, mlir::ValueRange args) {
                   Value product = nb.create<mlir::arith::MulFOp>(nloc, args[0], args[1]);
                   Value sum = nb.create<mlir::arith::AddFOp>(nloc, args[2], product);
                   nb.create<mlir::linalg::YieldOp>(nloc, sum);
                 })
        .getResult(0);
  }

  // Rows [n][gate*H, gate*H + H) of a [N][L][3H] tensor at time t, or of a [N][3H] tensor.
  Value gate_slice(Value source, unsigned gate, Value t) {
    auto at = [&](int64_t v) -> mlir::OpFoldResult { return b_.getIndexAttr(v); };
    auto type = tensor({N_, H_});
    if (!t)
      return b_.create<mlir::tensor::ExtractSliceOp>(
          loc_, type, source, llvm::ArrayRef<mlir::OpFoldResult>{at(0), at(gate * H_)},
          llvm::ArrayRef<mlir::OpFoldResult>{at(N_), at(H_)},
          llvm::ArrayRef<mlir::OpFoldResult>{at(1), at(1)});
    return b_.create<mlir::tensor::ExtractSliceOp>(
        loc_, type, source, llvm::ArrayRef<mlir::OpFoldResult>{at(0), t, at(gate * H_)},
        llvm::ArrayRef<mlir::OpFoldResult>{at(N_), at(1), at(H_)},
        llvm::ArrayRef<mlir::OpFoldResult>{at(1), at(1), at(1)});
  }

  // One timestep: hp = h·Whᵀ, then r, z, n and h' elementwise over (n, j). h' overwrites h:
  // each element of h is read only by the element of h' it becomes, and bufferization needs the
  // loop-carried state to stay in one buffer.
  // Returns the next state and this step's output (the same value without lengths).
  std::pair<Value, Value> step(Value xp, Value t, Value h, Value Wh, Value bhn) {
    Value hp = recurrent_product(h, Wh);
    // Reset before the product: the n block is that of (r ⊙ h)·Whᵀ, with r from this step's hp.
    Value hp_n = reset_after_ ? hp : recurrent_product(reset_state(xp, t, hp, h), Wh);
    llvm::SmallVector<Value> inputs = {gate_slice(xp, 0, t), gate_slice(xp, 1, t),
                                       gate_slice(xp, 2, t), gate_slice(hp, 0, {}),
                                       gate_slice(hp, 1, {}), gate_slice(hp_n, 2, {})};
    llvm::SmallVector<mlir::AffineMap> maps(inputs.size(), map(2, {0, 1}));
    if (bhn) {
      inputs.push_back(bhn);
      maps.push_back(map(2, {1}));
    }
    const Value lengths = lengths_;
    if (lengths) {
      inputs.push_back(lengths);
      maps.push_back(map(2, {0}));
    }
    const size_t h_arg = inputs.size();
    llvm::SmallVector<Value> outputs = {h};  // h, read and written
    maps.push_back(map(2, {0, 1}));
    if (lengths) {  // this step's output: zero where the row has ended
      outputs.push_back(
          b_.create<mlir::tensor::EmptyOp>(loc_, llvm::ArrayRef<int64_t>{N_, H_}, dtype_));
      maps.push_back(map(2, {0, 1}));
    }
    llvm::SmallVector<mlir::Type> result_types(outputs.size(), h.getType());
    const bool has_bhn = bool(bhn), reset_after = reset_after_;
    auto generic = b_.create<mlir::linalg::GenericOp>(
                 loc_, result_types, inputs, outputs, maps,
                 llvm::SmallVector<IteratorType>(2, IteratorType::parallel),
                 [has_bhn, reset_after, h_arg, lengths, t](mlir::OpBuilder &nb, mlir::Location nloc,
                                        mlir::ValueRange args) {
                   Value xr = args[0], xz = args[1], xn = args[2];
                   Value hr = args[3], hz = args[4], hn = args[5], h = args[h_arg];
                   mlir::Type type = h.getType();
                   Value one = nb.create<mlir::arith::ConstantOp>(nloc, nb.getFloatAttr(type, 1.0));
                   // σ(v) = 1 / (1 + e^-v)
                   auto sigmoid = [&](Value v) -> Value {
                     Value e = nb.create<mlir::math::ExpOp>(
                         nloc, nb.create<mlir::arith::NegFOp>(nloc, v));
                     return nb.create<mlir::arith::DivFOp>(
                         nloc, one, nb.create<mlir::arith::AddFOp>(nloc, one, e));
                   };
                   // After: xp_n + r ⊙ (hp_n + bhn). Before: hn is (r ⊙ h)·Wh_nᵀ already,
                   // so xp_n + (hn + bhn), and r is not needed here.
                   Value r = reset_after
                                 ? sigmoid(nb.create<mlir::arith::AddFOp>(nloc, xr, hr))
                                 : Value();
                   Value z = sigmoid(nb.create<mlir::arith::AddFOp>(nloc, xz, hz));
                   if (has_bhn) hn = nb.create<mlir::arith::AddFOp>(nloc, hn, args[6]);
                   if (reset_after) hn = nb.create<mlir::arith::MulFOp>(nloc, r, hn);
                   Value n = nb.create<mlir::math::TanhOp>(
                       nloc, nb.create<mlir::arith::AddFOp>(nloc, xn, hn));
                   // h' = (1 − z) ⊙ n + z ⊙ h
                   Value keep_new = nb.create<mlir::arith::MulFOp>(
                       nloc, nb.create<mlir::arith::SubFOp>(nloc, one, z), n);
                   Value keep_old = nb.create<mlir::arith::MulFOp>(nloc, z, h);
                   Value h_new = nb.create<mlir::arith::AddFOp>(nloc, keep_new, keep_old);
                   if (!lengths) {
                     nb.create<mlir::linalg::YieldOp>(nloc, h_new);
                     return;
                   }
                   // Row n is at a step it takes when t < len[n].
                   Value len = nb.create<mlir::arith::IndexCastOp>(nloc, nb.getIndexType(),
                                                                   args[h_arg - 1]);
                   Value active = nb.create<mlir::arith::CmpIOp>(
                       nloc, mlir::arith::CmpIPredicate::slt, t, len);
                   Value zero = nb.create<mlir::arith::ConstantOp>(nloc, nb.getFloatAttr(type, 0.0));
                   nb.create<mlir::linalg::YieldOp>(
                       nloc, mlir::ValueRange{
                                 nb.create<mlir::arith::SelectOp>(nloc, active, h_new, h),
                                 nb.create<mlir::arith::SelectOp>(nloc, active, h_new, zero)});
                 });
    if (!lengths) return {generic.getResult(0), generic.getResult(0)};
    return {generic.getResult(0), generic.getResult(1)};
  }

  // [N][3H]: hp[n][g] = Σ_k h[n][k] · Wh[g][k], over the loops (n, g, k).
  Value recurrent_product(Value h, Value Wh) {
    return contraction(h, Wh, zeros({N_, G_}), 3,
                       {map(3, {0, 2}), map(3, {1, 2}), map(3, {0, 1})});
  }

  // r ⊙ h [N][H], r = σ(xp_r + hp_r): the state the reset-before n gate multiplies by Wh.
  Value reset_state(Value xp, Value t, Value hp, Value h) {
    llvm::SmallVector<Value> inputs = {gate_slice(xp, 0, t), gate_slice(hp, 0, {}), h};
    llvm::SmallVector<mlir::AffineMap> maps(inputs.size() + 1, map(2, {0, 1}));
    Value empty = b_.create<mlir::tensor::EmptyOp>(loc_, llvm::ArrayRef<int64_t>{N_, H_}, dtype_);
    return b_.create<mlir::linalg::GenericOp>(
                 loc_, empty.getType(), inputs, mlir::ValueRange{empty}, maps,
                 llvm::SmallVector<IteratorType>(2, IteratorType::parallel),
                 [](mlir::OpBuilder &nb, mlir::Location nloc, mlir::ValueRange args) {
                   mlir::Type type = args[2].getType();
                   Value one = nb.create<mlir::arith::ConstantOp>(nloc, nb.getFloatAttr(type, 1.0));
                   Value v = nb.create<mlir::arith::AddFOp>(nloc, args[0], args[1]);
                   Value e = nb.create<mlir::math::ExpOp>(
                       nloc, nb.create<mlir::arith::NegFOp>(nloc, v));
                   Value r = nb.create<mlir::arith::DivFOp>(
                       nloc, one, nb.create<mlir::arith::AddFOp>(nloc, one, e));
                   nb.create<mlir::linalg::YieldOp>(
                       nloc, Value(nb.create<mlir::arith::MulFOp>(nloc, r, args[2])));
                 })
        .getResult(0);
  }

  // states[:, t, :] = h
  Value insert_state(Value h, Value states, Value t) {
    auto at = [&](int64_t v) -> mlir::OpFoldResult { return b_.getIndexAttr(v); };
    return b_.create<mlir::tensor::InsertSliceOp>(
        loc_, h, states, llvm::ArrayRef<mlir::OpFoldResult>{at(0), t, at(0)},
        llvm::ArrayRef<mlir::OpFoldResult>{at(N_), at(1), at(H_)},
        llvm::ArrayRef<mlir::OpFoldResult>{at(1), at(1), at(1)});
  }

  mlir::OpBuilder &b_;
  mlir::Location loc_;
  mlir::Type dtype_;
  int64_t N_, H_, G_;
  bool reset_after_;
  gru::Direction direction_;
  Value lengths_;  // [N] i32, or none
};

struct LayerOpLowering : mlir::OpConversionPattern<gru::LayerOp> {
  using OpConversionPattern::OpConversionPattern;

  mlir::LogicalResult matchAndRewrite(gru::LayerOp layer, OpAdaptor operands,
                                      mlir::ConversionPatternRewriter &rewriter) const override {
    Value states = LayerLowering(layer, rewriter)
                       .lower(operands.getInput(), operands.getWx(), operands.getWh(),
                              operands.getB(), operands.getBhn(), operands.getH0(),
                              operands.getLengths());
    rewriter.replaceOp(layer, states);
    return mlir::success();
  }
};

struct LowerToLinalg : impl::LowerToLinalgBase<LowerToLinalg> {
  void runOnOperation() override {
    // The lowering states the float32 function; a library of reduced-precision weights
    // computes another one (its rounding of the weights), which this pipeline does not model.
    bool reduced = false;
    getOperation()->walk([&](gru::LayerOp layer) {
      if (layer.getWeightsPrecision() == gru::Precision::f32) return;
      layer.emitError() << "weights_precision " << gru::stringifyPrecision(layer.getWeightsPrecision())
                        << " is not lowered: gru-lower-to-linalg computes f32 weights only";
      reduced = true;
    });
    if (reduced) return signalPassFailure();
    mlir::ConversionTarget target(getContext());
    target.addIllegalDialect<gru::GruDialect>();
    target.addLegalDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                           mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                           mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
    mlir::RewritePatternSet patterns(&getContext());
    patterns.add<LayerOpLowering>(&getContext());
    if (failed(mlir::applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

}  // namespace

}  // namespace grugen
