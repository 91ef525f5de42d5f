# cmake -DINPUT=file -DOUTPUT=header -DNAME=symbol -P embed.cmake
# Writes the bytes of INPUT as `inline constexpr unsigned char NAME[] = {...};` so the BPF
# object compiled at build time is part of the binary (nothing to install or find at run time).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
math(EXPR size "${n} / 2")
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed.cmake; do not edit.\n#pragma once\n#include <cstddef>\ninline constexpr unsigned char ${NAME}[] = {\n${bytes}};\ninline constexpr std::size_t ${NAME}Size = ${size};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
