// bytes.h - little-endian loads and stores on byte buffers (x86 byte order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bzcheck {

// Reads a little-endian unsigned integer of sizeof(T) bytes at p.
template <typename T>
T load_le(const std::uint8_t* p) {
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
    return value;
}

// Writes value as sizeof(T) little-endian bytes at p.
template <typename T>
void store_le(std::uint8_t* p, T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// Appends value as sizeof(T) little-endian bytes.
template <typename T>
void append_le(std::vector<std::uint8_t>& out, T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

}  // namespace bzcheck
