# Turns files into a C++ source that defines them as byte arrays, so that gru-gen carries its
# runtime sources and Halide's runtime header inside its own binary and needs no data files.
#
# Script mode:  cmake -DOUTPUT=<file.cpp> -DFILES="<name>=<path>;..." -P EmbedFiles.cmake
set(body "#include \"support/Embedded.h\"\n\nnamespace grugen {\nnamespace {\n")
set(table "")
set(index 0)
foreach(entry IN LISTS FILES)
  string(REGEX REPLACE "=.*$" "" name "${entry}")
  string(REGEX REPLACE "^[^=]*=" "" path "${entry}")
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "const unsigned char kFile${index}[] = {${bytes}0x00};\n")
  string(APPEND table "    {\"${name}\", std::string_view(reinterpret_cast<const char *>(kFile${index}), ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nstd::optional<std::string_view> embedded_file(std::string_view name) {\n")
string(APPEND body "  static const std::pair<std::string_view, std::string_view> kFiles[] = {\n${table}  };\n")
string(APPEND body "  for (const auto &[file, text] : kFiles)\n    if (file == name) return text;\n  return std::nullopt;\n}\n\n}  // namespace grugen\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
