// require.h - the fuzz targets' property checks.
#pragma once

#include <cstdio>

namespace fuzz {
// A broken property is a bug just like a crash: say which target and property, then
// stop, so that libFuzzer keeps the input.
inline void require(bool condition, const char* target, const char* property) {
    if (condition) return;
    std::fprintf(stderr, "%s: property violated: %s\n", target, property);
    __builtin_trap();
}
}  // namespace fuzz
