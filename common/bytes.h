// bytes.h - little-endian access to byte buffers, always bounds-checked.
//
// Every on-disk and in-memory structure bzinstall and bzcheck read is little-endian
// (x86 byte order). Reads go through ByteView, so a short or hostile buffer can never
// be read out of bounds: a value that does not fit reads as absent (std::nullopt).
// Writes into a Bytes buffer that is too small are a caller's bug and throw
// std::out_of_range.
//
// The generated constants headers (build/gen/*.h) declare structure fields as
// bzboot::Field {offset, width}; field() reads and put() writes one with the width
// declared beside its offset, so no call site repeats a width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "field.h"

namespace bzboot {

using Bytes = std::vector<std::uint8_t>;

// A read-only window on bytes owned by someone else (C++17 has no std::span).
struct ByteView {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;

    ByteView() = default;
    ByteView(const std::uint8_t* d, std::size_t n) : data(d), size(n) {}
    ByteView(const Bytes& bytes) : data(bytes.data()), size(bytes.size()) {}  // NOLINT: implicit on purpose

    // True when [offset, offset + length) lies inside the view (overflow-safe).
    bool contains(std::uint64_t offset, std::uint64_t length) const {
        return offset <= size && size - offset >= length;
    }

    // The `width`-byte (1..8) little-endian value at `offset`, or nullopt if it does not fit.
    std::optional<std::uint64_t> read_le(std::uint64_t offset, unsigned width) const {
        if (width == 0 || width > sizeof(std::uint64_t) || !contains(offset, width)) {
            return std::nullopt;
        }
        std::uint64_t value = 0;
        for (unsigned i = 0; i < width; ++i) {
            value |= std::uint64_t{data[offset + i]} << (8 * i);
        }
        return value;
    }
    // `f` of a structure that starts at `base`, `f.width` bytes wide.
    std::optional<std::uint64_t> field(Field f, std::uint64_t base = 0) const {
        if (base + f.offset < base) return std::nullopt;
        return read_le(base + f.offset, f.width);
    }
    std::optional<std::uint8_t> u8(std::uint64_t offset) const { return narrow<std::uint8_t>(offset); }
    std::optional<std::uint16_t> u16(std::uint64_t offset) const { return narrow<std::uint16_t>(offset); }
    std::optional<std::uint32_t> u32(std::uint64_t offset) const { return narrow<std::uint32_t>(offset); }
    std::optional<std::uint64_t> u64(std::uint64_t offset) const { return read_le(offset, 8); }

    // The `length` bytes at `offset`, or nullopt if they do not all lie inside the view.
    std::optional<ByteView> sub(std::uint64_t offset, std::uint64_t length) const {
        if (!contains(offset, length)) return std::nullopt;
        return ByteView(data + offset, static_cast<std::size_t>(length));
    }
    Bytes copy() const { return Bytes(data, data + size); }

private:
    template <typename T>
    std::optional<T> narrow(std::uint64_t offset) const {
        auto v = read_le(offset, sizeof(T));
        return v ? std::optional<T>(static_cast<T>(*v)) : std::nullopt;
    }
};

// Store the low `width` (1..8) bytes of `value`, little-endian, at `offset`.
inline void write_le(Bytes& bytes, std::uint64_t offset, unsigned width, std::uint64_t value) {
    if (width == 0 || width > sizeof(std::uint64_t) || !ByteView(bytes).contains(offset, width)) {
        throw std::out_of_range("write_le out of bounds");
    }
    for (unsigned i = 0; i < width; ++i) {
        bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}
// Store `value` in field `f` of a structure that starts at `base`, `f.width` bytes wide.
inline void put(Bytes& bytes, Field f, std::uint64_t value, std::uint64_t base = 0) {
    write_le(bytes, base + f.offset, f.width, value);
}
inline void put_u8(Bytes& b, std::uint64_t offset, std::uint64_t v) { write_le(b, offset, 1, v); }
inline void put_u16(Bytes& b, std::uint64_t offset, std::uint64_t v) { write_le(b, offset, 2, v); }
inline void put_u32(Bytes& b, std::uint64_t offset, std::uint64_t v) { write_le(b, offset, 4, v); }
inline void put_u64(Bytes& b, std::uint64_t offset, std::uint64_t v) { write_le(b, offset, 8, v); }

// Append the low `width` (1..8) bytes of `value`, little-endian.
inline void append_le(Bytes& bytes, unsigned width, std::uint64_t value) {
    if (width == 0 || width > sizeof(std::uint64_t)) {
        throw std::out_of_range("append_le width");
    }
    for (unsigned i = 0; i < width; ++i) {
        bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
}

// `value` rounded up to a multiple of `unit` (unit > 0).
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace bzboot
