// bytes.h - little-endian access to byte buffers, always bounds-checked.
//
// Every on-disk and in-kernel field bzboot touches is little-endian. Reads go
// through ByteView so that a short or hostile buffer can never be read out of
// bounds: a field that does not fit reads as "absent" (std::nullopt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace bzinstall {

using Bytes = std::vector<std::uint8_t>;

// A read-only window on bytes owned by someone else (C++17 has no std::span).
struct ByteView {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;

    ByteView() = default;
    ByteView(const std::uint8_t* d, std::size_t n) : data(d), size(n) {}
    ByteView(const Bytes& bytes) : data(bytes.data()), size(bytes.size()) {}  // NOLINT: implicit on purpose

    // The `width`-byte little-endian value at `offset`, or nullopt if it does not fit.
    std::optional<std::uint64_t> read_le(std::uint64_t offset, unsigned width) const {
        if (width > sizeof(std::uint64_t) || offset > size || size - offset < width) {
            return std::nullopt;
        }
        std::uint64_t value = 0;
        for (unsigned i = 0; i < width; ++i) {
            value |= std::uint64_t{data[offset + i]} << (8 * i);
        }
        return value;
    }
    std::optional<std::uint8_t> u8(std::uint64_t offset) const {
        auto v = read_le(offset, 1);
        return v ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(*v)) : std::nullopt;
    }
    std::optional<std::uint16_t> u16(std::uint64_t offset) const {
        auto v = read_le(offset, 2);
        return v ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(*v)) : std::nullopt;
    }
    std::optional<std::uint32_t> u32(std::uint64_t offset) const {
        auto v = read_le(offset, 4);
        return v ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v)) : std::nullopt;
    }
};

// Store `value` as `width` little-endian bytes at `offset`; the buffer must be large enough
// (a caller bug otherwise, hence the exception rather than a refusal).
inline void write_le(Bytes& bytes, std::uint64_t offset, unsigned width, std::uint64_t value) {
    if (width > sizeof(std::uint64_t) || offset > bytes.size() || bytes.size() - offset < width) {
        throw std::logic_error("write_le out of bounds");
    }
    for (unsigned i = 0; i < width; ++i) {
        bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}
inline void put_u8(Bytes& b, std::uint64_t off, std::uint64_t v) { write_le(b, off, 1, v); }
inline void put_u16(Bytes& b, std::uint64_t off, std::uint64_t v) { write_le(b, off, 2, v); }
inline void put_u32(Bytes& b, std::uint64_t off, std::uint64_t v) { write_le(b, off, 4, v); }

// `value` rounded up to a multiple of `unit` (unit > 0).
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) {
    return (value + unit - 1) / unit * unit;
}

}  // namespace bzinstall
