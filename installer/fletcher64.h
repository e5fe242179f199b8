// fletcher64.h - the payload's checksum, as stage 2 computes it (stage2/fletcher64.inc).
//
// Fletcher-64 as bzboot defines it (docs/disk-format.md, "Checksum"; the header fields
// PH_*_FLETCHER64 of include/diskformat.inc): the bytes as little-endian 32-bit words
// w[0..n), the last one zero-padded when the size is not a multiple of 4; two sums
// modulo 2^32 starting at 0, for each word A += w[i], then B += A; the value is
// B << 32 | A. (Fletcher's own sums are modulo 2^32 - 1; these are not.)
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace bzinstall {

std::uint64_t fletcher64(bzboot::ByteView bytes);

}  // namespace bzinstall
