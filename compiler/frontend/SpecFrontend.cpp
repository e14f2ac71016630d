#include "frontend/SpecFrontend.h"

#include "ir/GruDialect.h"
#include "ir/SpecModule.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "support/Error.h"
#include "transforms/Passes.h"

namespace grugen {

namespace {

// Keeps the first error MLIR reports, as one line "<file>:<line>:<col>: <message>", and
// silences the rest: gru-gen reports exactly one line per failure.
class FirstError {
 public:
  explicit FirstError(mlir::MLIRContext &context)
      : handler_(&context, [this](mlir::Diagnostic &diagnostic) {
          if (diagnostic.getSeverity() == mlir::DiagnosticSeverity::Error && message_.empty())
            message_ = describe(diagnostic);
          return mlir::success();
        }) {}

  // Throws the first error, or `fallback` when MLIR failed without reporting one.
  [[noreturn]] void raise(const std::string &fallback) const {
    throw GruGenError(message_.empty() ? fallback : message_);
  }

 private:
  static std::string describe(mlir::Diagnostic &diagnostic) {
    std::string text;
    // Line 0 is the file as a whole (the module the parser wraps around a file's ops).
    if (auto file = diagnostic.getLocation()->findInstanceOf<mlir::FileLineColLoc>())
      text = file.getLine() == 0 ? file.getFilename().str() + ": "
                                 : file.getFilename().str() + ":" +
                                       std::to_string(file.getLine()) + ":" +
                                       std::to_string(file.getColumn()) + ": ";
    // Some messages embed printed IR over several lines; the contract is one line.
    std::string message;
    llvm::raw_string_ostream os(message);
    for (const mlir::DiagnosticArgument &arg : diagnostic.getArguments()) {
      // MLIR 19 crashes printing some malformed dense arrays (an `array<i01: ...>` given as
      // operandSegmentSizes: a null read in printDenseArrayAttr, found by fuzz_spec_mlir), and
      // the dense arrays gru-gen meets are operand segment sizes: an attribute holding one is
      // named, not printed.
      if (arg.getKind() == mlir::DiagnosticArgument::DiagnosticArgumentKind::Attribute) {
        bool holds_dense_array = false;
        arg.getAsAttribute().walk([&](mlir::DenseArrayAttr) { holds_dense_array = true; });
        if (holds_dense_array) {
          os << "(not printed)";
          continue;
        }
      }
      arg.print(os);
    }
    os.flush();
    for (char c : llvm::StringRef(message).rtrim()) text += (c == '\n') ? ' ' : c;
    return text;
  }

  std::string message_;
  mlir::ScopedDiagnosticHandler handler_;
};

}  // namespace

struct SpecFrontend::State {
  // A spec module is tiny; MLIR's thread pool would only cost start-up time.
  mlir::MLIRContext context{mlir::MLIRContext::Threading::DISABLED};
  mlir::OwningOpRef<mlir::ModuleOp> module;

  State() {
    mlir::DialectRegistry registry;
    registry.insert<gru::GruDialect, mlir::func::FuncDialect>();
    context.appendDialectRegistry(registry);
    // gru-gen reports one line per error: MLIR's habit of attaching the failing op, printed, to
    // a diagnostic adds nothing there, and printing a malformed op can crash MLIR 19 (see
    // FirstError::describe).
    context.printOpOnDiagnostic(false);
  }
};

SpecFrontend::SpecFrontend(std::unique_ptr<State> state) : state_(std::move(state)) {}
SpecFrontend::SpecFrontend(SpecFrontend &&) = default;
SpecFrontend::~SpecFrontend() = default;

namespace {

// Parsing verifies the module, so a malformed spec is refused here with its location.
std::unique_ptr<SpecFrontend::State> parse_spec(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                                const std::string &name) {
  auto state = std::make_unique<SpecFrontend::State>();
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  FirstError errors(state->context);
  state->module = mlir::parseSourceFile<mlir::ModuleOp>(sources, &state->context);
  if (!state->module) errors.raise("cannot parse spec file '" + name + "'");
  return state;
}

}  // namespace

SpecFrontend SpecFrontend::from_file(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    throw GruGenError("cannot read spec file '" + path + "': " + buffer.getError().message());
  return SpecFrontend(parse_spec(std::move(*buffer), path));
}

SpecFrontend SpecFrontend::from_source(const std::string &text, const std::string &name) {
  return SpecFrontend(parse_spec(llvm::MemoryBuffer::getMemBufferCopy(text, name), name));
}

SpecFrontend SpecFrontend::from_flags(const GruSpec &spec) {
  auto state = std::make_unique<State>();
  const mlir::Location flags = mlir::NameLoc::get(
      mlir::StringAttr::get(&state->context, "command line"));
  state->module = build_spec_module(state->context, spec, flags);
  return SpecFrontend(std::move(state));
}

GruSpec SpecFrontend::compile() {
  FirstError errors(state_->context);
  mlir::PassManager pm = mlir::PassManager::on<mlir::ModuleOp>(&state_->context);
  build_spec_pipeline(pm);
  if (failed(pm.run(*state_->module))) errors.raise("the spec's pass pipeline failed");
  mlir::FailureOr<GruSpec> spec = spec_of_module(*state_->module);
  if (failed(spec)) errors.raise("the spec module states no GRU layer");
  return *spec;
}

void SpecFrontend::write_module(const std::filesystem::path &file) const {
  std::error_code error;
  llvm::raw_fd_ostream os(file.string(), error);
  if (!error) {
    state_->module->print(os);
    os.close();
    error = os.error();
  }
  if (error) throw GruGenError("cannot write '" + file.string() + "': " + error.message());
}

}  // namespace grugen
