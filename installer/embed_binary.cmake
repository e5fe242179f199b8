# embed_binary.cmake - turn a binary file into a C++ source holding its bytes.
# Usage: cmake -DIN=file.bin -DOUT=file.cpp -DNAME=symbol -P embed_binary.cmake
# Defines  extern const unsigned char NAME[];  extern const std::size_t NAME_size;
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# Two hex digits per byte, sixteen bytes per line.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
if(size EQUAL 0)
  set(bytes "0x00,")  # C++ has no empty arrays; NAME_size still says 0
endif()
get_filename_component(base "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "// Generated from ${base} by installer/embed_binary.cmake: do not edit.\n"
  "#include <cstddef>\n"
  "extern const unsigned char ${NAME}[] = {\n    ${bytes}\n};\n"
  "extern const std::size_t ${NAME}_size = ${size};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
