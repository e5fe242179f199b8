#include "fletcher64.h"

namespace bzinstall {

namespace {
constexpr std::size_t kWord = 4;  // bytes per summed word (stage 2: FLETCHER64_WORD)
constexpr unsigned kBitsPerByte = 8;
constexpr unsigned kHalf = 32;  // B in the value's high half
}  // namespace

std::uint64_t fletcher64(bzboot::ByteView bytes) {
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    for (std::size_t at = 0; at < bytes.size; at += kWord) {
        // The little-endian word at `at`; past the end, the padding bytes are 0.
        std::uint32_t word = 0;
        for (std::size_t i = 0; i < kWord && at + i < bytes.size; ++i) {
            word |= std::uint32_t{bytes.data[at + i]} << (kBitsPerByte * i);
        }
        a += word;  // unsigned: modulo 2^32
        b += a;
    }
    return std::uint64_t{b} << kHalf | a;
}

}  // namespace bzinstall
