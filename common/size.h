// size.h - sizes written the way people write them: "512M", "6G", "65536K", "4096".
#pragma once

#include <cstdint>
#include <string_view>

namespace bzboot {

inline constexpr std::uint64_t KiB = std::uint64_t{1} << 10;
inline constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
inline constexpr std::uint64_t GiB = std::uint64_t{1} << 30;
inline constexpr std::uint64_t TiB = std::uint64_t{1} << 40;

// Decimal digits, then optionally a unit (spaces may come before it): K, M, G or T (powers of
// 1024, any case), which may be followed by "B", "i" or "iB"; "B" alone means bytes. A
// number without a unit counts `unit_without_suffix` bytes (1 for bzinstall's --size,
// MiB for bzcheck's --memory, as QEMU's -m). Throws std::invalid_argument, naming
// `text`, for anything else or a size above 2^64 - 1 bytes; 0 is a valid size.
std::uint64_t parse_size(std::string_view text, std::uint64_t unit_without_suffix = 1);
// The same, naming the quantity in the message: with `what` "memory size", "bad memory
// size '12X': unknown unit (K, M, G or T)" (bzcheck's --memory).
std::uint64_t parse_size(std::string_view text, std::uint64_t unit_without_suffix, std::string_view what);

}  // namespace bzboot
