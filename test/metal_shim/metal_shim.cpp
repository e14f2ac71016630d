// A Metal device for the test suite, on Linux x86-64: the Objective-C runtime entry points and the
// Metal objects that Halide's Metal runtime (src/runtime/metal.cpp, its x86-64 module
// metal_objc_x86) calls, so that a library gru-gen builds for `x86-64-linux-metal` runs the exact
// Metal Shading Language source the `metal` target ships. Never part of a generated library.
//
//  - objc_msgSend is the usual tail-jumping trampoline: it looks the selector up in the
//    receiver's class table and jumps to the method with the caller's registers and stack intact
//    (the x86-64 MTLSize arguments travel by value on the stack). A message to nil returns 0; a
//    selector the class lacks, a message to an object already freed, or an unknown class stops
//    the process with one line naming them.
//  - newLibraryWithSource:options:error: compiles the source with clang++ (C++17) and the
//    metal_stdlib stand-in in include/, and loads it; each kernel's parameters are bound by their
//    Metal attributes ([[buffer(n)]], [[threadgroup(0)]], [[threadgroup_position_in_grid]], ...).
//  - A command buffer runs its work at commit: each threadgroup's threads one after another, or
//    as fibers (ucontext) switching at threadgroup_barrier when the library has barriers; every
//    thread of a group must reach the same barrier (divergence is a command-buffer error).
//  - Apple's limits are checked: 1024 threads per threadgroup, 32 KiB of threadgroup memory,
//    buffer indices 0..30, setBytes up to 4 KiB. Bound buffers and pipeline states are retained
//    by the command buffer until it completes, as Metal does.
//
// Environment: GRU_METAL_SHIM_NO_SET_BYTES=1 makes encoders deny respondsToSelector:
// setBytes:length:atIndex: (Halide then passes scalar arguments in an MTLBuffer);
// GRU_METAL_SHIM_DUMP=DIR writes each library's source as received to DIR/library<k>.metal;
// GRU_METAL_SHIM_STATS=1 prints what ran at exit; GRU_METAL_SHIM_CXXFLAGS adds compiler flags
// (the sanitized suite's). Serial by design: one global lock, one queue, work done at commit.
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

extern "C" char **environ;

namespace {

using SEL = const char *;
using IMP = void (*)();

[[noreturn]] void fail(const char *format, ...) {
  std::fprintf(stderr, "metal shim: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  std::abort();
}

// ---------------------------------------------------------------- the Objective-C runtime --

struct Class {
  std::string name;
  std::unordered_map<SEL, IMP> methods;
};

struct Object {
  Class *cls;
  long refs = 1;
  explicit Object(Class *c) : cls(c) {}
  virtual ~Object() = default;
};

// Tables live for the whole process, past static destructors: Halide's runtime sends messages
// from its own exit destructor.
struct Runtime {
  std::recursive_mutex lock;
  std::unordered_map<std::string, SEL> selectors;
  std::unordered_map<std::string, Class *> classes;         // the metaclasses, by class name
  std::unordered_map<std::string, Object *> class_objects;  // what objc_getClass returns
  std::set<Object *> live;
  std::vector<Object *> unpooled;  // autoreleased with no pool in place (Apple leaks them too)
};
Runtime &rt() {
  static Runtime *r = new Runtime;
  return *r;
}

SEL sel(const char *name) {
  auto &t = rt().selectors;
  auto it = t.find(name);
  if (it != t.end()) return it->second;
  char *copy = strdup(name);
  t.emplace(copy, copy);
  return copy;
}

template <typename T, typename... A>
T *make(Class *cls, A &&...args) {
  T *o = new T(cls, std::forward<A>(args)...);
  rt().live.insert(o);
  return o;
}

void release(Object *o);
void retain(Object *o) {
  if (o) ++o->refs;
}
void release(Object *o) {
  if (!o) return;
  if (!rt().live.count(o)) fail("release of an object already freed (%p)", (void *)o);
  if (--o->refs == 0) {
    rt().live.erase(o);
    delete o;
  }
}

struct Pool : Object {
  using Object::Object;
  std::vector<Object *> objects;
  ~Pool() override {
    for (Object *o : objects) release(o);
  }
};
thread_local std::vector<Pool *> pools;

Object *autorelease(Object *o) {
  if (pools.empty())
    rt().unpooled.push_back(o);
  else
    pools.back()->objects.push_back(o);
  return o;
}

void nil_method() {}

struct Stats {
  long libraries = 0, dispatches = 0, threadgroups = 0, threads = 0, set_bytes = 0,
       scalar_buffers = 0, fiber_groups = 0;
} stats;

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void *objc_getClass(const char *name) {
  std::lock_guard<std::recursive_mutex> g(rt().lock);
  auto it = rt().class_objects.find(name);
  if (it == rt().class_objects.end()) fail("objc_getClass(\"%s\"): no such class", name);
  return it->second;
}

__attribute__((visibility("default"))) void *sel_getUid(const char *name) {
  std::lock_guard<std::recursive_mutex> g(rt().lock);
  return (void *)sel(name);
}

// What objc_msgSend jumps to: the receiver's method for the selector.
__attribute__((visibility("hidden"), used)) IMP gru_metal_shim_lookup(Object *self, SEL s) {
  if (!self) return nil_method;
  std::lock_guard<std::recursive_mutex> g(rt().lock);
  if (!rt().live.count(self))
    fail("-%s sent to %p, which is not a live object (freed, or never one)", s, (void *)self);
  auto it = self->cls->methods.find(s);
  if (it == self->cls->methods.end())
    fail("-[%s %s]: unrecognized selector sent to instance %p", self->cls->name.c_str(), s,
         (void *)self);
  return it->second;
}

// The block class Halide's completion handler names; never called through.
__attribute__((visibility("default"))) struct { void *isa[4]; } _NSConcreteStackBlock;

}  // extern "C"

// objc_msgSend: save the argument registers, look the method up, restore them, tail-jump.
asm(R"(
    .text
    .globl objc_msgSend
    .type objc_msgSend, @function
objc_msgSend:
    .cfi_startproc
    push %rdi
    .cfi_adjust_cfa_offset 8
    push %rsi
    .cfi_adjust_cfa_offset 8
    push %rdx
    .cfi_adjust_cfa_offset 8
    push %rcx
    .cfi_adjust_cfa_offset 8
    push %r8
    .cfi_adjust_cfa_offset 8
    push %r9
    .cfi_adjust_cfa_offset 8
    push %rax
    .cfi_adjust_cfa_offset 8
    sub $128, %rsp
    .cfi_adjust_cfa_offset 128
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movdqu %xmm2, 32(%rsp)
    movdqu %xmm3, 48(%rsp)
    movdqu %xmm4, 64(%rsp)
    movdqu %xmm5, 80(%rsp)
    movdqu %xmm6, 96(%rsp)
    movdqu %xmm7, 112(%rsp)
    call gru_metal_shim_lookup
    mov %rax, %r11
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movdqu 32(%rsp), %xmm2
    movdqu 48(%rsp), %xmm3
    movdqu 64(%rsp), %xmm4
    movdqu 80(%rsp), %xmm5
    movdqu 96(%rsp), %xmm6
    movdqu 112(%rsp), %xmm7
    add $128, %rsp
    .cfi_adjust_cfa_offset -128
    pop %rax
    .cfi_adjust_cfa_offset -8
    pop %r9
    .cfi_adjust_cfa_offset -8
    pop %r8
    .cfi_adjust_cfa_offset -8
    pop %rcx
    .cfi_adjust_cfa_offset -8
    pop %rdx
    .cfi_adjust_cfa_offset -8
    pop %rsi
    .cfi_adjust_cfa_offset -8
    pop %rdi
    .cfi_adjust_cfa_offset -8
    jmp *%r11
    .cfi_endproc
    .size objc_msgSend, .-objc_msgSend
    .section .note.GNU-stack,"",@progbits
    .text
)");

namespace {

// ------------------------------------------------------------------------- Foundation ------

struct String : Object {
  std::string text;
  using Object::Object;
};
struct Error : Object {
  std::string message;
  Error(Class *c, std::string m) : Object(c), message(std::move(m)) {}
};
struct CompileOptions : Object {
  using Object::Object;
  bool fast_math = true;
};

Class *cls(const char *name);
String *new_string(const std::string &text) {
  String *s = make<String>(cls("NSString"));
  s->text = text;
  return s;
}
Error *new_error(const std::string &message) { return make<Error>(cls("NSError"), message); }

// ----------------------------------------------------------------------------- Metal -------

constexpr unsigned kMaxThreadsPerThreadgroup = 1024;
constexpr size_t kMaxThreadgroupMemory = 32768;
constexpr size_t kMaxBufferIndex = 30;
constexpr size_t kMaxSetBytes = 4096;

// A buffer's bytes are followed by a canary, checked after each dispatch that bound it: a kernel
// that writes past a buffer's end is a command-buffer error naming the kernel and the buffer
// index. Under AddressSanitizer the buffer is exactly its length instead, and ASan reports the
// write at the Metal source's line (the sanitized suite compiles kernels with ASan).
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kCanaryBytes = 0;
#else
constexpr size_t kCanaryBytes = 64;
#endif
constexpr unsigned char kCanary = 0xC5;
struct Buffer : Object {
  void *data;
  size_t length;
  Buffer(Class *c, size_t n) : Object(c), data(std::calloc(n + kCanaryBytes, 1)), length(n) {
    std::memset((char *)data + n, kCanary, kCanaryBytes);
  }
  ~Buffer() override { std::free(data); }
  bool canary_intact() const {
    for (size_t i = 0; i < kCanaryBytes; ++i)
      if (((const unsigned char *)data)[length + i] != kCanary) return false;
    return true;
  }
};

// One parameter of a kernel, by its Metal attribute.
enum class Role {
  Buffer,
  ThreadgroupMemory,
  GroupPosition,
  ThreadInGroup,
  ThreadInGrid,
  ThreadsPerGroup,
  GroupsPerGrid
};
struct Param {
  Role role;
  unsigned index;            // buffer(n) / threadgroup(n)
  bool scalar_args = false;  // Halide's struct of scalar arguments
};

struct MSize {
  unsigned long width, height, depth;
};

// What the stand-in's entry wrappers receive (include/gru_metal_entry.h has the same layout).
struct EntryArgs {
  void *const *pointers;
  const int *roles;
  unsigned group[3], thread[3], threads[3], groups[3];
};
using Entry = void (*)(const EntryArgs *);

struct Library : Object {
  void *handle = nullptr;
  std::string dir;
  bool barriers = false;
  std::unordered_map<std::string, std::vector<Param>> kernels;
  using Object::Object;
  std::vector<std::string> files;
  ~Library() override {
    if (handle) dlclose(handle);
    for (const std::string &f : files) unlink(f.c_str());
    if (!dir.empty()) rmdir(dir.c_str());
  }
};

struct Function : Object {
  Library *library;
  std::string name;
  Entry entry;
  std::vector<Param> params;
  Function(Class *c, Library *l, std::string n, Entry e, std::vector<Param> p)
      : Object(c), library(l), name(std::move(n)), entry(e), params(std::move(p)) {
    retain(library);
  }
  ~Function() override { release(library); }
};

struct PipelineState : Object {
  Function *function;
  PipelineState(Class *c, Function *f) : Object(c), function(f) { retain(f); }
  ~PipelineState() override { release(function); }
};

struct Binding {
  Buffer *buffer = nullptr;  // retained
  size_t offset = 0;
  std::vector<unsigned char> bytes;  // setBytes: a copy
  bool set = false;
};

struct Dispatch {
  PipelineState *pipeline;  // retained
  std::vector<Binding> bindings;
  size_t threadgroup_memory;
  MSize groups, threads;
};

struct BlitCopy {
  Buffer *from, *to;  // retained
  size_t from_offset, to_offset, size;
};

struct CommandBuffer;
struct Encoder : Object {
  CommandBuffer *commands;  // not retained: the command buffer outlives its encoders' use
  bool ended = false;
  PipelineState *pipeline = nullptr;
  std::vector<Binding> bindings = std::vector<Binding>(kMaxBufferIndex + 1);
  size_t threadgroup_memory = 0;
  Encoder(Class *c, CommandBuffer *b) : Object(c), commands(b) {}
};

struct Block {
  void *isa;
  int flags, reserved;
  void (*invoke)(void *, void *);
  struct Descriptor {
    unsigned long reserved, size;
  } * descriptor;
};

struct CommandBuffer : Object {
  std::string label;
  std::vector<Dispatch> dispatches;
  std::vector<BlitCopy> copies;
  std::vector<std::vector<unsigned char>> handlers;  // copies of the blocks, as Block_copy makes
  bool committed = false;
  Error *error = nullptr;
  using Object::Object;
  ~CommandBuffer() override {
    drop_work();
    release(error);
  }
  void drop_work() {
    for (Dispatch &d : dispatches) {
      release(d.pipeline);
      for (Binding &b : d.bindings) release(b.buffer);
    }
    dispatches.clear();
    for (BlitCopy &c : copies) {
      release(c.from);
      release(c.to);
    }
    copies.clear();
  }
  void execute();
};

struct Device : Object {
  using Object::Object;
};
struct Queue : Object {
  using Object::Object;
};

// --------------------------------------------------------------- the kernels' execution ----

// One threadgroup's threads as fibers: each runs to a barrier (or its end), then the next.
struct Fibers {
  std::vector<ucontext_t> contexts;
  std::vector<std::vector<char>> stacks;
  ucontext_t scheduler;
  std::vector<int> at_barrier;  // the barrier's line, 0 when the thread has finished
  size_t current = 0;
  const void *scheduler_stack = nullptr;  // for AddressSanitizer's fiber annotations
  size_t scheduler_stack_size = 0;
};
thread_local Fibers *fibers = nullptr;

// AddressSanitizer is told of each stack switch, as its fiber interface asks (no false reports
// from one fiber's stack seen from another); nothing without it.
#if defined(__SANITIZE_ADDRESS__)
extern "C" void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                               size_t size);
extern "C" void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                                size_t *size_old);
#else
void __sanitizer_start_switch_fiber(void **, const void *, size_t) {}
void __sanitizer_finish_switch_fiber(void *, const void **, size_t *) {}
#endif

struct FiberStart {
  Entry entry;
  EntryArgs args;
  Fibers *f;
  size_t index;
};

void fiber_main(unsigned lo, unsigned hi) {
  FiberStart *s = (FiberStart *)(((uintptr_t)hi << 32) | lo);
  __sanitizer_finish_switch_fiber(nullptr, &s->f->scheduler_stack, &s->f->scheduler_stack_size);
  s->entry(&s->args);
  s->f->at_barrier[s->index] = 0;
  // Back to the scheduler (uc_link) for good: this fiber's stack is done with.
  __sanitizer_start_switch_fiber(nullptr, s->f->scheduler_stack, s->f->scheduler_stack_size);
}

// Apart from run_dispatch: getcontext returns twice, which its many locals would not survive.
__attribute__((noinline)) void make_fiber(Fibers &f, size_t t, FiberStart *start) {
  getcontext(&f.contexts[t]);
  f.contexts[t].uc_stack.ss_sp = f.stacks[t].data();
  f.contexts[t].uc_stack.ss_size = f.stacks[t].size();
  f.contexts[t].uc_link = &f.scheduler;
  const uintptr_t p = (uintptr_t)start;
  makecontext(&f.contexts[t], (void (*)())fiber_main, 2, unsigned(p), unsigned(p >> 32));
}

std::string run_dispatch(const Dispatch &d, bool use_fibers) {
  const Function &fn = *d.pipeline->function;
  const size_t total = d.threads.width * d.threads.height * d.threads.depth;
  char where[256];
  std::snprintf(where, sizeof where, "%s (threadgroups %lux%lux%lu, threads %lux%lux%lu)",
                fn.name.c_str(), d.groups.width, d.groups.height, d.groups.depth, d.threads.width,
                d.threads.height, d.threads.depth);
  if (total == 0 || d.groups.width * d.groups.height * d.groups.depth == 0)
    return std::string("empty dispatch of ") + where;
  if (total > kMaxThreadsPerThreadgroup)
    return std::string(where) + ": " + std::to_string(total) +
           " threads per threadgroup, over "
           "Metal's maxTotalThreadsPerThreadgroup of " +
           std::to_string(kMaxThreadsPerThreadgroup);
  if (d.threadgroup_memory > kMaxThreadgroupMemory)
    return std::string(where) + ": " + std::to_string(d.threadgroup_memory) +
           " bytes of threadgroup memory, over Metal's 32768";
  std::vector<void *> pointers(fn.params.size(), nullptr);
  std::vector<int> roles(fn.params.size());
  for (size_t i = 0; i < fn.params.size(); ++i) {
    const Param &p = fn.params[i];
    roles[i] = int(p.role);
    if (p.role == Role::Buffer) {
      const Binding &b = d.bindings[p.index];
      if (!b.set)
        return std::string(where) + ": nothing bound at buffer(" + std::to_string(p.index) + ")";
      if (b.buffer) {
        if (b.offset > b.buffer->length)
          return std::string(where) + ": buffer(" + std::to_string(p.index) +
                 ") offset past its end";
        pointers[i] = (char *)b.buffer->data + b.offset;
      } else {
        pointers[i] = (void *)b.bytes.data();
      }
    }
  }
  std::vector<unsigned char> shared(d.threadgroup_memory + 16);
  for (size_t i = 0; i < fn.params.size(); ++i)
    if (fn.params[i].role == Role::ThreadgroupMemory) pointers[i] = shared.data();
  EntryArgs base{};
  base.pointers = pointers.data();
  base.roles = roles.data();
  base.threads[0] = d.threads.width, base.threads[1] = d.threads.height,
  base.threads[2] = d.threads.depth;
  base.groups[0] = d.groups.width, base.groups[1] = d.groups.height,
  base.groups[2] = d.groups.depth;
  std::string error;
  for (unsigned gz = 0; gz < d.groups.depth; ++gz)
    for (unsigned gy = 0; gy < d.groups.height; ++gy)
      for (unsigned gx = 0; gx < d.groups.width; ++gx) {
        ++stats.threadgroups;
        // Threadgroup memory starts as garbage on a GPU: a kernel must not read it unwritten.
        std::memset(shared.data(), 0xA5, shared.size());
        base.group[0] = gx, base.group[1] = gy, base.group[2] = gz;
        std::vector<FiberStart> starts;
        for (unsigned tz = 0; tz < d.threads.depth; ++tz)
          for (unsigned ty = 0; ty < d.threads.height; ++ty)
            for (unsigned tx = 0; tx < d.threads.width; ++tx) {
              EntryArgs a = base;
              a.thread[0] = tx, a.thread[1] = ty, a.thread[2] = tz;
              starts.push_back({fn.entry, a, nullptr, starts.size()});
            }
        stats.threads += long(starts.size());
        if (!use_fibers) {
          for (FiberStart &s : starts) s.entry(&s.args);
          continue;
        }
        ++stats.fiber_groups;
        Fibers f;
        f.contexts.resize(total);
        f.stacks.resize(total);
        f.at_barrier.assign(total, -1);
        for (size_t t = 0; t < total; ++t) {
          starts[t].f = &f;
          f.stacks[t].resize(256 * 1024);
          make_fiber(f, t, &starts[t]);
        }
        fibers = &f;
        std::string diverged;
        for (;;) {
          bool any_running = false;
          for (size_t t = 0; t < total; ++t) {
            if (f.at_barrier[t] == 0) continue;
            f.current = t;
            void *fake_stack = nullptr;
            __sanitizer_start_switch_fiber(&fake_stack, f.stacks[t].data(), f.stacks[t].size());
            swapcontext(&f.scheduler, &f.contexts[t]);
            __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
          }
          // After a round, every thread is at a barrier or finished: all at the same one, or all
          // finished; anything else is divergence, which Metal leaves undefined (a GPU hang).
          int line = f.at_barrier[0];
          for (size_t t = 0; t < total; ++t) {
            if (f.at_barrier[t] != 0) any_running = true;
            if (f.at_barrier[t] != line && diverged.empty()) {
              diverged = std::string(where) + ": barrier divergence in threadgroup (" +
                         std::to_string(gx) + "," + std::to_string(gy) + "," + std::to_string(gz) +
                         "): thread 0 " +
                         (line ? "waits at the threadgroup_barrier of line " + std::to_string(line)
                               : std::string("has finished")) +
                         ", thread " + std::to_string(t) + " " +
                         (f.at_barrier[t] ? "waits at the threadgroup_barrier of line " +
                                                std::to_string(f.at_barrier[t])
                                          : std::string("has finished"));
            }
          }
          if (!any_running || !diverged.empty()) break;
        }
        fibers = nullptr;
        if (!diverged.empty()) return diverged;
      }
  for (size_t i = 0; i < fn.params.size(); ++i) {
    const Param &p = fn.params[i];
    if (p.role == Role::Buffer && d.bindings[p.index].buffer &&
        !d.bindings[p.index].buffer->canary_intact())
      return std::string(where) + ": wrote past the end of buffer(" + std::to_string(p.index) +
             ") (" + std::to_string(d.bindings[p.index].buffer->length) + " bytes)";
  }
  return error;
}

void CommandBuffer::execute() {
  for (BlitCopy &c : copies) {
    if (c.from_offset + c.size > c.from->length || c.to_offset + c.size > c.to->length)
      fail("copyFromBuffer: a range past a buffer's end");
    std::memmove((char *)c.to->data + c.to_offset, (char *)c.from->data + c.from_offset, c.size);
  }
  for (const Dispatch &d : dispatches) {
    ++stats.dispatches;
    std::string e = run_dispatch(d, d.pipeline->function->library->barriers);
    if (!e.empty()) {
      error = new_error("Metal command buffer \"" + label + "\" failed: " + e);
      break;
    }
  }
  drop_work();
}

// ------------------------------------------------------------------ the kernel compiler ----

std::string env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

// The kernels of an MSL source and their parameters by attribute, from the `kernel void NAME(...)`
// declarations Halide writes.
bool parse_kernels(const std::string &src, Library &lib, std::string &why) {
  size_t at = 0;
  while ((at = src.find("kernel void ", at)) != std::string::npos) {
    if (at > 0 && src[at - 1] != '\n') {
      at += 12;
      continue;
    }
    size_t name_begin = at + 12, open = src.find('(', name_begin);
    if (open == std::string::npos) break;
    std::string name = src.substr(name_begin, open - name_begin);
    int depth = 0;
    size_t close = open;
    for (; close < src.size(); ++close) {
      if (src[close] == '(') ++depth;
      if (src[close] == ')' && --depth == 0) break;
    }
    std::vector<Param> params;
    size_t p = open + 1;
    while (p < close) {
      size_t a = src.find("[[", p);
      if (a == std::string::npos || a > close) break;
      size_t b = src.find("]]", a);
      std::string attr = src.substr(a + 2, b - a - 2);
      attr.erase(0, attr.find_first_not_of(' '));
      attr.erase(attr.find_last_not_of(' ') + 1);
      Param q{Role::Buffer, 0};
      const bool scalar_args =
          src.substr(p, a - p).find("_args *_scalar_args") != std::string::npos;
      unsigned n = 0;
      if (std::sscanf(attr.c_str(), "buffer(%u)", &n) == 1) {
        if (n > kMaxBufferIndex) {
          why = name + ": [[buffer(" + std::to_string(n) + ")]] is past Metal's 31 buffer indices";
          return false;
        }
        q = {Role::Buffer, n, scalar_args};
      } else if (std::sscanf(attr.c_str(), "threadgroup(%u)", &n) == 1) {
        q = {Role::ThreadgroupMemory, n};
      } else if (attr == "threadgroup_position_in_grid") {
        q.role = Role::GroupPosition;
      } else if (attr == "thread_position_in_threadgroup") {
        q.role = Role::ThreadInGroup;
      } else if (attr == "thread_position_in_grid") {
        q.role = Role::ThreadInGrid;
      } else if (attr == "threads_per_threadgroup") {
        q.role = Role::ThreadsPerGroup;
      } else if (attr == "threadgroups_per_grid") {
        q.role = Role::GroupsPerGrid;
      } else {
        why = name + ": parameter attribute [[" + attr + "]] is not one this device knows";
        return false;
      }
      params.push_back(q);
      p = b + 2;
    }
    lib.kernels[name] = params;
    at = close;
  }
  if (lib.kernels.empty()) {
    why = "no kernel functions in the source";
    return false;
  }
  return true;
}

int run_command(const std::vector<std::string> &words, const std::string &log) {
  std::vector<char *> argv;
  for (const std::string &w : words) argv.push_back(const_cast<char *>(w.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Library *compile_library(const std::string &source_bytes, std::string &why) {
  ++stats.libraries;
  if (!env("GRU_METAL_SHIM_DUMP").empty()) {
    const std::string path =
        env("GRU_METAL_SHIM_DUMP") + "/library" + std::to_string(stats.libraries) + ".metal";
    std::ofstream(path, std::ios::binary) << source_bytes;
  }
  // The source as Halide embeds it ends in one NUL, which C++ would not take.
  std::string src = source_bytes;
  if (!src.empty() && src.back() == '\0') src.pop_back();
  if (src.find('\0') != std::string::npos) {
    why = "the source holds a NUL byte before its end";
    return nullptr;
  }
  Library *lib = make<Library>(cls("MTLLibrary"));
  if (!parse_kernels(src, *lib, why)) {
    release(lib);
    return nullptr;
  }
  lib->barriers = src.find("threadgroup_barrier(") != std::string::npos ||
                  src.find("simdgroup_barrier(") != std::string::npos;
  std::string tmp = env("TMPDIR").empty() ? P_tmpdir : env("TMPDIR");
  std::string dir_template = tmp + "/gru-metal-shim-XXXXXX";
  std::vector<char> dir_chars(dir_template.begin(), dir_template.end());
  dir_chars.push_back('\0');
  if (!mkdtemp(dir_chars.data())) {
    why = "cannot make a directory under " + tmp;
    release(lib);
    return nullptr;
  }
  const std::string dir = dir_chars.data();
  const std::string metal = dir + "/library.metal", wrapper = dir + "/entries.cpp",
                    so = dir + "/library.so", log = dir + "/compile.log";
  std::ofstream(metal, std::ios::binary) << src;
  {
    std::ofstream w(wrapper);
    w << "#include \"library.metal\"\n#include <gru_metal_entry.h>\n";
    for (auto &k : lib->kernels) w << "GRU_METAL_ENTRY(" << k.first << ")\n";
  }
  std::vector<std::string> words = {
      GRU_METAL_SHIM_CXX,          "-std=c++17", "-O2", "-fPIC", "-shared", "-fno-fast-math",
      "-I" GRU_METAL_SHIM_INCLUDE, "-x",         "c++", wrapper, "-o",      so};
  std::istringstream extra(env("GRU_METAL_SHIM_CXXFLAGS"));
  for (std::string w; extra >> w;) words.push_back(w);
  const int rc = run_command(words, log);
  std::string diagnostics = read_file(log);
  if (rc != 0) {
    why = "the Metal source does not compile (" + std::string(GRU_METAL_SHIM_CXX) + " -std=c++17 " +
          "with the metal_stdlib stand-in):\n" + diagnostics;
  } else if (!(lib->handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL))) {
    why = std::string("cannot load the compiled library: ") + dlerror();
  } else if (!diagnostics.empty()) {
    std::fprintf(stderr, "metal shim: the compiler's warnings on the Metal source:\n%s",
                 diagnostics.c_str());
  }
  // The files stay while the library is loaded: a sanitizer's report names the Metal source's
  // lines from the debug information of the compiled library, which it reads from the file.
  lib->files = {metal, wrapper, so, log};
  lib->dir = dir;
  if (!why.empty()) {
    release(lib);
    return nullptr;
  }
  return lib;
}

// ------------------------------------------------------------------- the method tables -----

// objc_msgSend jumps to a method with no lock held: each method takes the device's lock (Metal
// objects are thread-safe, and Halide releases buffers outside its own lock).
#define LOCKED std::lock_guard<std::recursive_mutex> guard(rt().lock)

Encoder *open_encoder(Object *self) {
  Encoder *e = static_cast<Encoder *>(self);
  if (e->ended) fail("a command sent to an encoder after endEncoding");
  if (e->commands->committed) fail("encoding into a command buffer already committed");
  return e;
}

void check_index(size_t index) {
  if (index > kMaxBufferIndex) fail("buffer index %zu past Metal's 0..30", index);
}

template <typename F>
void def(Class *c, const char *selector, F *method) {
  c->methods[sel(selector)] = reinterpret_cast<IMP>(method);
}

Object *m_retain(Object *self, SEL) {
  LOCKED;
  retain(self);
  return self;
}
void m_release(Object *self, SEL) {
  LOCKED;
  release(self);
}
Object *m_autorelease(Object *self, SEL) {
  LOCKED;
  return autorelease(self);
}
Object *m_init(Object *self, SEL) { return self; }

bool deny_set_bytes() { return env("GRU_METAL_SHIM_NO_SET_BYTES") == "1"; }

bool m_responds(Object *self, SEL, SEL what) {
  LOCKED;
  if (what == sel("setBytes:length:atIndex:") && deny_set_bytes()) return false;
  return self->cls->methods.count(what) != 0;
}

Class *new_class(const std::string &name, bool with_init = true) {
  Class *c = new Class{name, {}};
  def(c, "retain", m_retain);
  def(c, "release", m_release);
  def(c, "autorelease", m_autorelease);
  def(c, "respondsToSelector:", m_responds);
  if (with_init) def(c, "init", m_init);
  return c;
}

// A class object answering +alloc with an instance of T.
template <typename T>
void define_allocatable(const std::string &name, Class *instances) {
  Class *meta = new Class{name + " class", {}};
  rt().classes[name] = instances;
  static std::unordered_map<Class *, Class *> *instance_of =
      new std::unordered_map<Class *, Class *>;
  (*instance_of)[meta] = instances;
  def(
      meta, "alloc", +[](Object *self, SEL) -> Object * {
        LOCKED;
        return make<T>((*instance_of)[self->cls]);
      });
  Object *class_object = new Object(meta);
  rt().live.insert(class_object);
  rt().class_objects[name] = class_object;
}

Class *cls(const char *name) {
  auto it = rt().classes.find(name);
  if (it == rt().classes.end()) fail("internal: no class %s", name);
  return it->second;
}

void define_classes() {
  // Foundation
  Class *pool = new_class("NSAutoreleasePool", false);
  def(
      pool, "init", +[](Object *self, SEL) -> Object * {
        LOCKED;
        pools.push_back(static_cast<Pool *>(self));
        return self;
      });
  def(
      pool, "drain", +[](Object *self, SEL) {
        LOCKED;
        if (pools.empty() || pools.back() != self) fail("-[NSAutoreleasePool drain] out of order");
        pools.pop_back();
        release(self);
      });
  define_allocatable<Pool>("NSAutoreleasePool", pool);

  Class *string = new_class("NSString");
  def(
      string, "initWithBytesNoCopy:length:encoding:freeWhenDone:",
      +[](Object *self, SEL, const char *bytes, size_t length, size_t encoding,
          uint8_t free_when_done) -> Object * {
        LOCKED;
        if (encoding != 4 || free_when_done) fail("NSString: only UTF-8, not freed when done");
        static_cast<String *>(self)->text.assign(bytes, length);
        return self;
      });
  def(
      string, "UTF8String", +[](Object *self, SEL) -> const char * {
        LOCKED;
        return static_cast<String *>(self)->text.c_str();
      });
  define_allocatable<String>("NSString", string);

  Class *error = new_class("NSError");
  def(
      error, "localizedDescription", +[](Object *self, SEL) -> Object * {
        LOCKED;
        return autorelease(new_string(static_cast<Error *>(self)->message));
      });
  rt().classes["NSError"] = error;

  // Metal
  Class *options = new_class("MTLCompileOptions");
  def(
      options, "setFastMathEnabled:", +[](Object *self, SEL, uint8_t on) {
        LOCKED;
        static_cast<CompileOptions *>(self)->fast_math = on;
      });
  define_allocatable<CompileOptions>("MTLCompileOptions", options);

  Class *buffer = new_class("MTLBuffer");
  def(
      buffer, "contents",
      +[](Object *self, SEL) -> void * { return static_cast<Buffer *>(self)->data; });
  def(
      buffer, "length",
      +[](Object *self, SEL) -> size_t { return static_cast<Buffer *>(self)->length; });
  def(
      buffer, "storageMode", +[](Object *, SEL) -> unsigned long {
        return 0; /* Shared */
      });
  def(
      buffer, "didModifyRange:", +[](Object *, SEL, size_t, size_t) {
        LOCKED;
        fail("didModifyRange: on a buffer whose storage is shared, not managed");
      });
  rt().classes["MTLBuffer"] = buffer;

  Class *library = new_class("MTLLibrary");
  def(
      library, "newFunctionWithName:", +[](Object *self, SEL, Object *name) -> Object * {
        LOCKED;
        Library *lib = static_cast<Library *>(self);
        const std::string &n = static_cast<String *>(name)->text;
        auto it = lib->kernels.find(n);
        if (it == lib->kernels.end()) return nullptr;
        Entry e = (Entry)dlsym(lib->handle, ("gru_metal_entry_" + n).c_str());
        if (!e) fail("newFunctionWithName: %s has no entry in the compiled library", n.c_str());
        return make<Function>(cls("MTLFunction"), lib, n, e, it->second);
      });
  rt().classes["MTLLibrary"] = library;
  rt().classes["MTLFunction"] = new_class("MTLFunction");

  Class *pipeline = new_class("MTLComputePipelineState");
  def(
      pipeline, "maxTotalThreadsPerThreadgroup",
      +[](Object *, SEL) -> unsigned long { return kMaxThreadsPerThreadgroup; });
  rt().classes["MTLComputePipelineState"] = pipeline;

  Class *device = new_class("MTLDevice");
  def(
      device, "newBufferWithLength:options:",
      +[](Object *, SEL, size_t length, size_t options) -> Object * {
        LOCKED;
        if (options != 0)
          fail("newBufferWithLength:options: options %zu, not shared storage", options);
        if (length == 0) return nullptr;  // Metal refuses empty buffers
        return make<Buffer>(cls("MTLBuffer"), length);
      });
  def(
      device, "newCommandQueue", +[](Object *, SEL) -> Object * {
        LOCKED;
        return make<Queue>(cls("MTLCommandQueue"));
      });
  def(
      device, "newLibraryWithSource:options:error:",
      +[](Object *, SEL, Object *source, Object *opts, Object **error) -> Object * {
        LOCKED;
        if (static_cast<CompileOptions *>(opts)->fast_math)
          fail("newLibraryWithSource: fast math on (Halide turns it off)");
        std::string why;
        Library *lib = compile_library(static_cast<String *>(source)->text, why);
        if (!lib && error) *error = autorelease(new_error(why));
        return lib;
      });
  def(
      device, "newComputePipelineStateWithFunction:error:",
      +[](Object *, SEL, Object *function, Object **) -> Object * {
        LOCKED;
        return make<PipelineState>(cls("MTLComputePipelineState"),
                                   static_cast<Function *>(function));
      });
  rt().classes["MTLDevice"] = device;

  Class *queue = new_class("MTLCommandQueue");
  def(
      queue, "commandBuffer", +[](Object *, SEL) -> Object * {
        LOCKED;
        return autorelease(make<CommandBuffer>(cls("MTLCommandBuffer")));
      });
  rt().classes["MTLCommandQueue"] = queue;

  Class *commands = new_class("MTLCommandBuffer");
  def(
      commands, "setLabel:", +[](Object *self, SEL, Object *label) {
        LOCKED;
        static_cast<CommandBuffer *>(self)->label = static_cast<String *>(label)->text;
      });
  def(
      commands, "computeCommandEncoder", +[](Object *self, SEL) -> Object * {
        LOCKED;
        return autorelease(
            make<Encoder>(cls("MTLComputeCommandEncoder"), static_cast<CommandBuffer *>(self)));
      });
  def(
      commands, "blitCommandEncoder", +[](Object *self, SEL) -> Object * {
        LOCKED;
        return autorelease(
            make<Encoder>(cls("MTLBlitCommandEncoder"), static_cast<CommandBuffer *>(self)));
      });
  def(
      commands, "addCompletedHandler:", +[](Object *self, SEL, Block *block) {
        LOCKED;
        CommandBuffer *b = static_cast<CommandBuffer *>(self);
        if (b->committed) fail("addCompletedHandler: after commit");
        const unsigned char *bytes = (const unsigned char *)block;
        b->handlers.emplace_back(bytes, bytes + block->descriptor->size);
      });
  def(
      commands, "commit", +[](Object *self, SEL) {
        LOCKED;
        CommandBuffer *b = static_cast<CommandBuffer *>(self);
        if (b->committed) fail("commit of a command buffer already committed");
        b->committed = true;
        retain(b);
        b->execute();
        for (auto &h : b->handlers) {
          Block *block = (Block *)h.data();
          block->invoke(block, b);
        }
        b->handlers.clear();
        release(b);
      });
  def(
      commands, "waitUntilCompleted", +[](Object *self, SEL) {
        LOCKED;
        if (!static_cast<CommandBuffer *>(self)->committed)
          fail("waitUntilCompleted before commit");
      });
  def(
      commands, "error", +[](Object *self, SEL) -> Object * {
        LOCKED;
        return static_cast<CommandBuffer *>(self)->error;
      });
  rt().classes["MTLCommandBuffer"] = commands;

  Class *encoder = new_class("MTLComputeCommandEncoder");
  def(
      encoder, "setComputePipelineState:", +[](Object *self, SEL, Object *p) {
        LOCKED;
        Encoder *e = open_encoder(self);
        retain(p);
        release(e->pipeline);
        e->pipeline = static_cast<PipelineState *>(p);
      });
  def(
      encoder, "setBytes:length:atIndex:",
      +[](Object *self, SEL, const void *bytes, size_t length, size_t index) {
        LOCKED;
        Encoder *e = open_encoder(self);
        check_index(index);
        if (length > kMaxSetBytes) fail("setBytes: %zu bytes, over Metal's 4 KiB", length);
        Binding &b = e->bindings[index];
        release(b.buffer);
        b.buffer = nullptr;
        b.bytes.assign((const unsigned char *)bytes, (const unsigned char *)bytes + length);
        b.set = true;
      });
  def(
      encoder, "setBuffer:offset:atIndex:",
      +[](Object *self, SEL, Object *buffer, size_t offset, size_t index) {
        LOCKED;
        Encoder *e = open_encoder(self);
        check_index(index);
        retain(buffer);
        Binding &b = e->bindings[index];
        release(b.buffer);
        b.buffer = static_cast<Buffer *>(buffer);
        b.offset = offset;
        b.bytes.clear();
        b.set = true;
      });
  def(
      encoder,
      "setThreadgroupMemoryLength:atIndex:", +[](Object *self, SEL, size_t length, size_t index) {
        LOCKED;
        Encoder *e = open_encoder(self);
        if (index != 0) fail("setThreadgroupMemoryLength: index %zu (Halide uses 0 only)", index);
        if (length % 16) fail("setThreadgroupMemoryLength: %zu is not a multiple of 16", length);
        e->threadgroup_memory = length;
      });
  def(
      encoder, "dispatchThreadgroups:threadsPerThreadgroup:",
      +[](Object *self, SEL, MSize groups, MSize threads) {
        LOCKED;
        Encoder *e = open_encoder(self);
        if (!e->pipeline) fail("dispatchThreadgroups: with no pipeline state set");
        Dispatch d{e->pipeline, e->bindings, e->threadgroup_memory, groups, threads};
        retain(d.pipeline);
        for (Binding &b : d.bindings) retain(b.buffer);
        // Halide's scalar arguments, one struct at buffer(0): by setBytes or in an MTLBuffer.
        for (const Param &p : e->pipeline->function->params)
          if (p.scalar_args)
            ++(d.bindings[p.index].buffer ? stats.scalar_buffers : stats.set_bytes);
        e->commands->dispatches.push_back(std::move(d));
      });
  def(
      encoder, "endEncoding", +[](Object *self, SEL) {
        LOCKED;
        Encoder *e = open_encoder(self);
        e->ended = true;
        release(e->pipeline);
        e->pipeline = nullptr;
        for (Binding &b : e->bindings) release(b.buffer), b.buffer = nullptr;
      });
  rt().classes["MTLComputeCommandEncoder"] = encoder;

  Class *blit = new_class("MTLBlitCommandEncoder");
  def(
      blit, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:",
      +[](Object *self, SEL, Object *from, size_t from_offset, Object *to, size_t to_offset,
          size_t size) {
        LOCKED;
        Encoder *e = open_encoder(self);
        retain(from), retain(to);
        e->commands->copies.push_back(
            {static_cast<Buffer *>(from), static_cast<Buffer *>(to), from_offset, to_offset, size});
      });
  def(
      blit, "synchronizeResource:", +[](Object *, SEL, Object *) {
        LOCKED;
        fail("synchronizeResource: on a buffer whose storage is shared, not managed");
      });
  def(
      blit, "endEncoding", +[](Object *self, SEL) {
        LOCKED;
        open_encoder(self)->ended = true;
      });
  rt().classes["MTLBlitCommandEncoder"] = blit;
}

struct Init {
  Init() {
    std::lock_guard<std::recursive_mutex> g(rt().lock);
    define_classes();
  }
} init;

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void *MTLCreateSystemDefaultDevice(void) {
  std::lock_guard<std::recursive_mutex> g(rt().lock);
  return make<Device>(cls("MTLDevice"));
}

// NSLog: Halide logs NSString and NSError objects with the format @"%@".
__attribute__((visibility("default"))) void NSLog(void *format, ...) {
  std::lock_guard<std::recursive_mutex> g(rt().lock);
  va_list args;
  va_start(args, format);
  Object *o = va_arg(args, Object *);
  va_end(args);
  const std::string &f = static_cast<String *>(static_cast<Object *>(format))->text;
  if (f != "%@") fail("NSLog: format \"%s\" (only %%@ is known)", f.c_str());
  std::string text = !o                          ? "(null)"
                     : o->cls == cls("NSString") ? static_cast<String *>(o)->text
                     : o->cls == cls("NSError")  ? static_cast<Error *>(o)->message
                                                 : "<" + o->cls->name + ">";
  std::fprintf(stderr, "NSLog: %s\n", text.c_str());
}

// Called by the kernels' threadgroup_barrier: back to the scheduler until every thread is there.
__attribute__((visibility("default"))) void gru_metal_shim_barrier(int line) {
  if (!fibers) fail("threadgroup_barrier outside a fiber (line %d)", line);
  Fibers &f = *fibers;
  const size_t me = f.current;
  f.at_barrier[me] = line;
  void *fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, f.scheduler_stack, f.scheduler_stack_size);
  swapcontext(&f.contexts[me], &f.scheduler);
  __sanitizer_finish_switch_fiber(fake_stack, &f.scheduler_stack, &f.scheduler_stack_size);
}

}  // extern "C"

namespace {
struct Report {
  ~Report() {
    if (env("GRU_METAL_SHIM_STATS") != "1") return;
    std::fprintf(
        stderr,
        "metal shim: %ld libraries compiled, %ld dispatches, %ld threadgroups (%ld as "
        "fibers), %ld threads, scalar arguments by setBytes %ld times, by MTLBuffer %ld times\n",
        stats.libraries, stats.dispatches, stats.threadgroups, stats.fiber_groups, stats.threads,
        stats.set_bytes, stats.scalar_buffers);
  }
} report;
}  // namespace
