# Writes a C++ source that holds a file's bytes as a std::string_view.
# usage: cmake -DINPUT=<file> -DOUTPUT=<file.cc> -DNAMESPACE=<a::b>
#              -DSYMBOL=<name> -P embed_file.cmake
# The symbol is declared `extern const std::string_view SYMBOL;` by the
# header that uses it. Bytes are written as hex escapes, so any file works.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" length)
math(EXPR bytes "${length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
# Break the literal into lines of 32 bytes (a compiler-friendly size).
string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){32})" "\\1\"\n\"" escaped "${escaped}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by scripts/embed_file.cmake; do not edit.\n"
  "#include <string_view>\n"
  "namespace ${NAMESPACE} {\n"
  "extern const std::string_view ${SYMBOL};\n"
  "const std::string_view ${SYMBOL}(\n\"${escaped}\", ${bytes});\n"
  "}  // namespace ${NAMESPACE}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
