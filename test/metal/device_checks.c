/* The test Metal device (test/metal_shim) on its own, driven as Halide's Metal runtime drives it
 * (objc_msgSend cast to each selector's signature, MTLSize by value), with small hand-written
 * Metal kernels: what it adds to running gru-gen's kernels, checked to work and to fail.
 * Usage: device_checks CHECK, one of
 *   barrier      threads exchange values through threadgroup memory across threadgroup_barrier
 *   divergence   only some threads of a group reach a barrier: a command-buffer error
 *   threads      1025 threads per threadgroup: over Metal's limit, a command-buffer error
 *   shared       32 KiB + 16 of threadgroup memory: over Metal's limit, a command-buffer error
 *   overflow     a kernel writes one float past its buffer: reported
 *   compile      a source that does not compile: newLibraryWithSource fails with the diagnostic
 *   selector     a selector the device does not have: the process stops, naming it
 *   index        a buffer bound at index 31: the process stops
 * Prints one line per outcome; exit 1 when a check does not hold. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *id;
typedef void *SEL;
typedef struct {
  unsigned long width, height, depth;
} MTLSize;
extern id objc_getClass(const char *name);
extern SEL sel_getUid(const char *name);
extern void objc_msgSend(void);
extern id MTLCreateSystemDefaultDevice(void);

/* As Halide does, through a pointer: objc_msgSend has each method's signature in turn. */
static void (*msg)(void) = objc_msgSend;
typedef id (*msg0)(id, SEL);
typedef id (*msg1)(id, SEL, id);
typedef id (*msg_string)(id, SEL, const char *, size_t, size_t, uint8_t);
typedef id (*msg_library)(id, SEL, id, id, id *);
typedef id (*msg_pipeline)(id, SEL, id, id *);
typedef id (*msg_new_buffer)(id, SEL, size_t, size_t);
typedef void (*msg_set_buffer)(id, SEL, id, size_t, size_t);
typedef void (*msg_set_length)(id, SEL, size_t, size_t);
typedef void (*msg_fast_math)(id, SEL, uint8_t);
typedef void (*msg_dispatch)(id, SEL, MTLSize, MTLSize);
typedef const char *(*msg_utf8)(id, SEL);

static id send0(id o, const char *s) { return ((msg0)msg)(o, sel_getUid(s)); }

static id string(const char *text) {
  id s = send0(objc_getClass("NSString"), "alloc");
  return ((msg_string)msg)(s, sel_getUid("initWithBytesNoCopy:length:encoding:freeWhenDone:"), text,
                           strlen(text), 4, 0);
}

static const char *describe(id error) {
  id text = send0(error, "localizedDescription");
  return ((msg_utf8)msg)(text, sel_getUid("UTF8String"));
}

static const char *kSource =
    "#include <metal_stdlib>\n"
    "using namespace metal;\n"
    "kernel void reverse(device float *out [[ buffer(0) ]],\n"
    "                    const device float *in [[ buffer(1) ]],\n"
    "                    uint3 group [[ threadgroup_position_in_grid ]],\n"
    "                    uint3 tid [[ thread_position_in_threadgroup ]],\n"
    "                    uint3 size [[ threads_per_threadgroup ]],\n"
    "                    threadgroup float *shared [[ threadgroup(0) ]])\n"
    "{\n"
    "  shared[tid.x] = in[group.x * size.x + tid.x];\n"
    "  threadgroup_barrier(mem_flags::mem_threadgroup);\n"
    "  out[group.x * size.x + tid.x] = shared[size.x - 1 - tid.x];\n"
    "}\n"
    "kernel void diverge(device float *out [[ buffer(0) ]],\n"
    "                    uint3 tid [[ thread_position_in_threadgroup ]])\n"
    "{\n"
    "  if (tid.x < 2) threadgroup_barrier(mem_flags::mem_threadgroup);\n"
    "  out[tid.x] = 1.0f;\n"
    "}\n"
    "kernel void overflow(device float *out [[ buffer(0) ]],\n"
    "                     uint3 tid [[ thread_position_in_threadgroup ]],\n"
    "                     uint3 size [[ threads_per_threadgroup ]])\n"
    "{\n"
    "  out[tid.x + 1] = float(tid.x);\n"
    "}\n";

static id device, queue, library;

/* Runs `kernel` over `groups` threadgroups of `threads` threads with `shared` bytes of
 * threadgroup memory; buffer(0) is `out`, buffer(1) `in` (when given). Returns the command
 * buffer's error text, or NULL. */
static const char *run(const char *kernel, unsigned long groups, unsigned long threads,
                       size_t shared, id out, id in) {
  id function = ((msg1)msg)(library, sel_getUid("newFunctionWithName:"), string(kernel));
  if (!function) {
    printf("no function %s\n", kernel);
    exit(1);
  }
  id error = NULL;
  id pipeline = ((msg_pipeline)msg)(
      device, sel_getUid("newComputePipelineStateWithFunction:error:"), function, &error);
  id commands = send0(queue, "commandBuffer");
  id encoder = send0(commands, "computeCommandEncoder");
  ((msg1)msg)(encoder, sel_getUid("setComputePipelineState:"), pipeline);
  ((msg_set_buffer)msg)(encoder, sel_getUid("setBuffer:offset:atIndex:"), out, 0, 0);
  if (in) ((msg_set_buffer)msg)(encoder, sel_getUid("setBuffer:offset:atIndex:"), in, 0, 1);
  ((msg_set_length)msg)(encoder, sel_getUid("setThreadgroupMemoryLength:atIndex:"), shared, 0);
  const MTLSize g = {groups, 1, 1}, t = {threads, 1, 1};
  ((msg_dispatch)msg)(encoder, sel_getUid("dispatchThreadgroups:threadsPerThreadgroup:"), g, t);
  send0(encoder, "endEncoding");
  send0(commands, "commit");
  send0(pipeline, "release"); /* the command buffer holds it (Halide releases it here too) */
  send0(commands, "waitUntilCompleted");
  error = send0(commands, "error");
  send0(function, "release");
  return error ? describe(error) : NULL;
}

static id new_buffer(size_t bytes) {
  return ((msg_new_buffer)msg)(device, sel_getUid("newBufferWithLength:options:"), bytes, 0);
}

static int expect_error(const char *what, const char *error, const char *needle) {
  if (error && strstr(error, needle)) {
    printf("%s: error, as expected: %s\n", what, error);
    return 0;
  }
  printf("%s: FAIL: expected an error with \"%s\", got %s\n", what, needle, error ? error : "none");
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(
        stderr,
        "usage: device_checks barrier|divergence|threads|shared|overflow|compile|selector|index\n");
    return 1;
  }
  const char *check = argv[1];
  id pool = send0(send0(objc_getClass("NSAutoreleasePool"), "alloc"), "init");
  device = MTLCreateSystemDefaultDevice();
  queue = send0(device, "newCommandQueue");
  id options = send0(send0(objc_getClass("MTLCompileOptions"), "alloc"), "init");
  ((msg_fast_math)msg)(options, sel_getUid("setFastMathEnabled:"), 0);
  id error = NULL;
  const char *source = strcmp(check, "compile") == 0
                           ? "#include <metal_stdlib>\nkernel void broken(device float *out [[ "
                             "buffer(0) ]]) {\n  out[0] = undeclared;\n}\n"
                           : kSource;
  library = ((msg_library)msg)(device, sel_getUid("newLibraryWithSource:options:error:"),
                               string(source), options, &error);
  int failed = 0;
  if (strcmp(check, "compile") == 0) {
    failed = library
                 ? (printf("compile: FAIL: the library compiled\n"), 1)
                 : expect_error("compile", describe(error), "undeclared identifier 'undeclared'");
  } else if (!library) {
    printf("FAIL: the library does not compile: %s\n", describe(error));
    failed = 1;
  } else if (strcmp(check, "barrier") == 0) {
    enum { kGroups = 3, kThreads = 64 };
    id in = new_buffer(kGroups * kThreads * sizeof(float)),
       out = new_buffer(kGroups * kThreads * sizeof(float));
    float *x = (float *)send0(in, "contents"), *y = (float *)send0(out, "contents");
    for (int i = 0; i < kGroups * kThreads; ++i) x[i] = (float)i;
    const char *e = run("reverse", kGroups, kThreads, kThreads * sizeof(float), out, in);
    int wrong = 0;
    for (int g = 0; g < kGroups; ++g)
      for (int t = 0; t < kThreads; ++t)
        wrong += y[g * kThreads + t] != (float)(g * kThreads + kThreads - 1 - t);
    printf(
        "barrier: %d threadgroups of %d threads exchanged through threadgroup memory: %d "
        "wrong%s%s\n",
        kGroups, kThreads, wrong, e ? ", error: " : "", e ? e : "");
    failed = wrong || e;
    send0(in, "release");
    send0(out, "release");
  } else if (strcmp(check, "divergence") == 0) {
    id out = new_buffer(8 * sizeof(float));
    failed = expect_error("divergence", run("diverge", 1, 8, 0, out, NULL), "barrier divergence");
    send0(out, "release");
  } else if (strcmp(check, "threads") == 0) {
    id out = new_buffer(2048 * sizeof(float));
    failed = expect_error("threads", run("overflow", 1, 1025, 0, out, NULL),
                          "maxTotalThreadsPerThreadgroup");
    send0(out, "release");
  } else if (strcmp(check, "shared") == 0) {
    id in = new_buffer(64 * sizeof(float)), out = new_buffer(64 * sizeof(float));
    failed =
        expect_error("shared", run("reverse", 1, 64, 32768 + 16, out, in), "threadgroup memory");
    send0(in, "release");
    send0(out, "release");
  } else if (strcmp(check, "overflow") == 0) {
    id out = new_buffer(8 * sizeof(float));
    failed = expect_error("overflow", run("overflow", 1, 8, 0, out, NULL),
                          "wrote past the end of buffer(0)");
    send0(out, "release");
  } else if (strcmp(check, "selector") == 0) {
    send0(device, "frobnicate");
    printf("selector: FAIL: -frobnicate returned\n");
    failed = 1;
  } else if (strcmp(check, "index") == 0) {
    id commands = send0(queue, "commandBuffer");
    id encoder = send0(commands, "computeCommandEncoder");
    id out = new_buffer(16);
    ((msg_set_buffer)msg)(encoder, sel_getUid("setBuffer:offset:atIndex:"), out, 0, 31);
    printf("index: FAIL: setBuffer at index 31 returned\n");
    failed = 1;
  } else {
    fprintf(stderr, "device_checks: unknown check '%s'\n", check);
    return 1;
  }
  send0(library, "release");
  send0(options, "release");
  send0(queue, "release");
  send0(device, "release");
  send0(pool, "drain");
  return failed;
}
