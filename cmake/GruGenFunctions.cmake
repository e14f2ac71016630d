# gru_add_library: a GRU layer compiled by gru-gen at build time, as a library target.
#
#   gru_add_library(<name>
#                   [INPUT_SIZE D HIDDEN_SIZE H] [NO_BIAS]   # or taken from WEIGHTS
#                   [RESET_BEFORE]   # the reset gate before the recurrent product (--reset-before)
#                   [LAYERS K] [BIDIRECTIONAL]   # a model: --layers K, --bidirectional
#                   [BATCH N]                                # default 1
#                   [WEIGHTS_PRECISION f32|f16|bf16|int8|w8a8] # --weights-precision, default f32
#                   [TARGETS host|arm64-linux|arm64-macos|metal|opencl|x86-64-linux|arm64-ios|
#                            metal-ios|arm64-android|<Halide target> ...]  # default host; see below
#                   [WEIGHTS file.safetensors [WEIGHTS_PREFIX p] [EMBED]]
#                   [TUNING_RECORD file.json]  # a record `gru-gen --tune` wrote, for its target
#                   [THREADS_MAX T]  # team kernels for thread teams of 2..T (--threads-max; 0: cores)
#                   [OUTPUT_DIR dir])      # default gru-gen/<name>; relative to the binary dir
#
# Creates <name>, an imported static library (the first of TARGETS) carrying the
# include directory of <name>.h and the target's link flags, so `target_link_libraries(app
# PRIVATE <name>)` is all an app needs. gru-gen re-runs when the spec, the weights file, the
# tuning record or gru-gen itself change. Every target in TARGETS is generated under OUTPUT_DIR/<target>.
# TARGETS defaults to host, this machine's CPU; when cross-compiling (CMAKE_CROSSCOMPILING), to
# the portable target of CMAKE_SYSTEM_NAME and CMAKE_SYSTEM_PROCESSOR (Linux aarch64:
# arm64-linux, Linux x86_64: x86-64-linux, Darwin arm64: arm64-macos, iOS: arm64-ios, Android
# aarch64: arm64-android), and a first target host for another system or processor is refused.
# The sizes and the batch given are passed on as given; gru-gen checks them (against WEIGHTS too).
# A value (a path: WEIGHTS, TUNING_RECORD, OUTPUT_DIR, resolved) holding ';', CMake's list
# separator, is refused at configure time.
include_guard(GLOBAL)

# A value holding ';' is a list to CMake: passed on, it became two arguments of gru-gen (WEIGHTS
# "a;b.safetensors": --weights a, and b.safetensors as a spec file), and OUTPUT_DIR two
# directories. It is refused before anything is written.
function(_gru_refuse_semicolon name keyword value)
  if(value MATCHES ";")
    message(FATAL_ERROR "gru_add_library(${name}): ${keyword} '${value}' contains ';', CMake's "
                        "list separator, which cannot reach gru-gen in one argument: use a "
                        "value without ';'")
  endif()
endfunction()

function(gru_add_library name)
  set(one_value_keywords INPUT_SIZE HIDDEN_SIZE BATCH WEIGHTS WEIGHTS_PREFIX OUTPUT_DIR
                         TUNING_RECORD THREADS_MAX WEIGHTS_PRECISION LAYERS)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_BIAS;EMBED;RESET_BEFORE;BIDIRECTIONAL"
                        "${one_value_keywords}" "TARGETS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "gru_add_library(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  foreach(keyword IN LISTS one_value_keywords)
    _gru_refuse_semicolon(${name} ${keyword} "${ARG_${keyword}}")
  endforeach()
  # DEFINED, not the value: INPUT_SIZE 0 or BATCH 0 reach gru-gen, which refuses them in one
  # line, and a size given with WEIGHTS is checked against the file, never dropped.
  if(NOT ARG_WEIGHTS AND (NOT DEFINED ARG_INPUT_SIZE OR NOT DEFINED ARG_HIDDEN_SIZE))
    message(FATAL_ERROR "gru_add_library(${name}): needs INPUT_SIZE and HIDDEN_SIZE, or WEIGHTS")
  endif()
  if((ARG_EMBED OR ARG_WEIGHTS_PREFIX) AND NOT ARG_WEIGHTS)
    message(FATAL_ERROR "gru_add_library(${name}): EMBED and WEIGHTS_PREFIX need WEIGHTS")
  endif()
  # host is the machine gru-gen runs on: in a cross build, not the one the app runs on.
  string(REGEX REPLACE "^(aarch64|arm64|ARM64|arm64-v8a)$" "arm64" system_cpu "${CMAKE_SYSTEM_PROCESSOR}")
  string(REGEX REPLACE "^(x86_64|AMD64|amd64|x64)$" "x86_64" system_cpu "${system_cpu}")
  string(REGEX REPLACE "^(aarch64|arm64|ARM64)$" "arm64" host_cpu "${CMAKE_HOST_SYSTEM_PROCESSOR}")
  string(REGEX REPLACE "^(x86_64|AMD64|amd64|x64)$" "x86_64" host_cpu "${host_cpu}")
  set(cross_for "")
  if(CMAKE_CROSSCOMPILING AND NOT (CMAKE_SYSTEM_NAME STREQUAL CMAKE_HOST_SYSTEM_NAME
                                   AND system_cpu STREQUAL host_cpu))
    set(cross_for "${CMAKE_SYSTEM_NAME} ${CMAKE_SYSTEM_PROCESSOR}")
  endif()
  if(NOT ARG_TARGETS)
    if(NOT cross_for)
      set(ARG_TARGETS host)
    elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND system_cpu STREQUAL "arm64")
      set(ARG_TARGETS arm64-linux)
    elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND system_cpu STREQUAL "x86_64")
      set(ARG_TARGETS x86-64-linux)
    elseif(CMAKE_SYSTEM_NAME STREQUAL "Darwin" AND system_cpu STREQUAL "arm64")
      set(ARG_TARGETS arm64-macos)
    elseif(CMAKE_SYSTEM_NAME STREQUAL "iOS")
      set(ARG_TARGETS arm64-ios)
    elseif(CMAKE_SYSTEM_NAME STREQUAL "Android" AND system_cpu STREQUAL "arm64")
      set(ARG_TARGETS arm64-android)
    else()
      message(FATAL_ERROR "gru_add_library(${name}): cross-compiling for ${cross_for}, which "
                          "has no default gru-gen target: name one in TARGETS")
    endif()
  endif()
  list(REMOVE_DUPLICATES ARG_TARGETS)
  list(GET ARG_TARGETS 0 linked)
  if(cross_for AND linked STREQUAL "host")
    message(FATAL_ERROR "gru_add_library(${name}): TARGETS host is this build machine's CPU "
                        "(${CMAKE_HOST_SYSTEM_NAME} ${CMAKE_HOST_SYSTEM_PROCESSOR}), but the "
                        "project is cross-compiled for ${cross_for}: name that target first "
                        "(e.g. arm64-linux, x86-64-linux, arm64-macos, arm64-ios)")
  endif()
  if(NOT DEFINED ARG_BATCH)
    set(ARG_BATCH 1)
  endif()
  # A relative OUTPUT_DIR is relative to the current binary directory, as CMake's own outputs
  # are: the generated files belong to the build tree, never to the sources.
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "gru-gen/${name}")
  endif()
  get_filename_component(out "${ARG_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  # Relative paths take the binary or source directory's ';' too.
  _gru_refuse_semicolon(${name} OUTPUT_DIR "${out}")

  list(JOIN ARG_TARGETS "," target_list)
  set(args --name ${name} --batch ${ARG_BATCH} --target ${target_list})
  set(inputs "$<TARGET_FILE:GruGen::gru-gen>")
  if(DEFINED ARG_INPUT_SIZE)
    list(APPEND args --input-size ${ARG_INPUT_SIZE})
  endif()
  if(DEFINED ARG_HIDDEN_SIZE)
    list(APPEND args --hidden-size ${ARG_HIDDEN_SIZE})
  endif()
  if(ARG_NO_BIAS)
    list(APPEND args --no-bias)
  endif()
  if(ARG_RESET_BEFORE)
    list(APPEND args --reset-before)
  endif()
  if(DEFINED ARG_LAYERS)
    list(APPEND args --layers ${ARG_LAYERS})
  endif()
  if(ARG_BIDIRECTIONAL)
    list(APPEND args --bidirectional)
  endif()
  # gru-gen checks the value (one error line naming the precisions it takes).
  if(ARG_WEIGHTS_PRECISION)
    list(APPEND args --weights-precision ${ARG_WEIGHTS_PRECISION})
  endif()
  if(ARG_WEIGHTS)
    get_filename_component(weights "${ARG_WEIGHTS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    _gru_refuse_semicolon(${name} WEIGHTS "${weights}")
    list(APPEND args --weights ${weights})
    list(APPEND inputs "${weights}")
    if(ARG_WEIGHTS_PREFIX)
      list(APPEND args --weights-prefix ${ARG_WEIGHTS_PREFIX})
    endif()
    if(ARG_EMBED)
      list(APPEND args --embed-weights)
    endif()
  endif()

  if(ARG_TUNING_RECORD)
    get_filename_component(record "${ARG_TUNING_RECORD}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    _gru_refuse_semicolon(${name} TUNING_RECORD "${record}")
    list(APPEND args --tuning-record ${record})
    list(APPEND inputs "${record}")
  endif()

  if(DEFINED ARG_THREADS_MAX)
    list(APPEND args --threads-max ${ARG_THREADS_MAX})
  endif()

  # The spec as a file that changes only when the spec does: the build re-runs gru-gen then,
  # whichever generator tracks (or does not track) command lines. One per library (names are
  # unique in a project), so that libraries sharing an OUTPUT_DIR do not rewrite each other's.
  file(MAKE_DIRECTORY "${out}")
  set(spec_stamp "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${name}_gru_gen.spec")
  file(CONFIGURE OUTPUT "${spec_stamp}" CONTENT "${args}\n")
  set(outputs "${out}/${name}.h")
  foreach(t IN LISTS ARG_TARGETS)
    list(APPEND outputs "${out}/${t}/lib${name}.a")
  endforeach()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND GruGen::gru-gen -q ${args} -o "${out}"
    DEPENDS ${inputs} "${spec_stamp}"
    COMMENT "gru-gen: ${name} for ${target_list}"
    VERBATIM)
  add_custom_target(${name}_gru_gen DEPENDS ${outputs})

  # Link flags come from gru-gen itself, so they never drift from its targets.
  get_target_property(gru_gen GruGen::gru-gen IMPORTED_LOCATION)
  execute_process(COMMAND "${gru_gen}" --print-link-flags --target ${linked}
                  OUTPUT_VARIABLE flags RESULT_VARIABLE failed ERROR_VARIABLE error
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(failed)
    message(FATAL_ERROR "gru_add_library(${name}): ${error}")
  endif()
  # One line "TARGET: FLAGS", or "TARGET: (none)".
  string(REGEX REPLACE "^[^:]*: " "" flags "${flags}")
  if(flags STREQUAL "(none)")
    set(flags "")
  endif()
  string(REPLACE "-framework " "-framework\\ " flags "${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")

  add_library(${name} STATIC IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES
    IMPORTED_LOCATION "${out}/${linked}/lib${name}.a"
    INTERFACE_INCLUDE_DIRECTORIES "${out}"
    INTERFACE_LINK_LIBRARIES "${flags}")
  add_dependencies(${name} ${name}_gru_gen)
endfunction()
