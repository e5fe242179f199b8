// Fletcher-64 (installer/fletcher64.h): known answers, the definition in closed form on
// random data and sizes, and what docs/disk-format.md says it detects and misses.
// (tests/unit/stage2 runs stage 2's own loop against this function.)
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "common/bytes.h"
#include "fletcher64.h"

using bzboot::Bytes;
using bzinstall::fletcher64;

namespace {

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes random_bytes(std::mt19937& rng, std::size_t size) {
    std::uniform_int_distribution<unsigned> byte(0, 0xFF);
    Bytes bytes(size);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(byte(rng));
    return bytes;
}

// The definition in closed form: A = sum of w[i], B = sum of (n - i) * w[i], mod 2^32.
std::uint64_t closed_form(const Bytes& bytes) {
    const std::size_t n = (bytes.size() + 3) / 4;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t w = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            if (4 * i + k < bytes.size()) w |= std::uint32_t{bytes[4 * i + k]} << (8 * k);
        }
        a += w;
        b += static_cast<std::uint32_t>(n - i) * w;
    }
    return std::uint64_t{b} << 32 | a;
}

void put_word(Bytes& bytes, std::size_t word, std::uint32_t value) { bzboot::put_u32(bytes, 4 * word, value); }

}  // namespace

TEST_CASE("Fletcher-64 known answers (computed by hand and by tests/lib/fletcher64.py)", "[fletcher64]") {
    CHECK(fletcher64(Bytes{}) == 0u);
    CHECK(fletcher64(text("a")) == 0x0000006100000061u);
    CHECK(fletcher64(text("abc")) == 0x0063626100636261u);
    CHECK(fletcher64(text("abcd")) == 0x6463626164636261u);
    CHECK(fletcher64(text("abcde")) == 0xc8c6c527646362c6u);
    // "1234" "5678" "9\0\0\0": A = 0x6C6A689F; B = 0x34333231 + 0x6C6A6866 + A, mod 2^32.
    CHECK(fletcher64(text("123456789")) == 0x0d0803366c6a689fu);
    Bytes counting(256);
    for (unsigned i = 0; i < counting.size(); ++i) counting[i] = static_cast<std::uint8_t>(i);
    CHECK(fletcher64(counting) == 0x9d754a80601fdf80u);
    CHECK(fletcher64(Bytes(64, 0xFF)) == 0xffffff78fffffff0u);
    CHECK(fletcher64(Bytes(4096, 0)) == 0u);
}

TEST_CASE("Fletcher-64 is its definition on random data of random sizes", "[fletcher64]") {
    std::mt19937 rng(20261202);
    std::uniform_int_distribution<std::size_t> small(0, 8192);
    std::vector<std::size_t> sizes;
    for (std::size_t size = 0; size <= 260; ++size) sizes.push_back(size);  // every tail, around 16 words
    for (int i = 0; i < 200; ++i) sizes.push_back(small(rng));
    for (std::size_t mib : {1, 3}) {
        for (std::size_t extra : {0, 1, 2, 3}) sizes.push_back((mib << 20) + extra);
    }
    for (std::size_t size : sizes) {
        const Bytes bytes = random_bytes(rng, size);
        INFO("size " << size);
        CHECK(fletcher64(bytes) == closed_form(bytes));
    }
}

TEST_CASE("Fletcher-64 pads the last word with zeros", "[fletcher64]") {
    CHECK(fletcher64(text("abc")) == fletcher64(Bytes{'a', 'b', 'c', 0}));
    CHECK(fletcher64(text("abcde")) == fletcher64(Bytes{'a', 'b', 'c', 'd', 'e', 0, 0, 0}));
    // Whole zero words do count in B (B += A once more per word): the length matters.
    CHECK(fletcher64(text("abcd")) != fletcher64(Bytes{'a', 'b', 'c', 'd', 0, 0, 0, 0}));
}

TEST_CASE("Fletcher-64 detects every single changed byte", "[fletcher64]") {
    std::mt19937 rng(11);
    const Bytes original = random_bytes(rng, 1027);  // a partial last word too
    const std::uint64_t sum = fletcher64(original);
    for (std::size_t at = 0; at < original.size(); ++at) {
        for (unsigned value = 0; value <= 0xFF; ++value) {
            if (value == original[at]) continue;
            Bytes changed = original;
            changed[at] = static_cast<std::uint8_t>(value);
            if (fletcher64(changed) == sum) {
                FAIL("byte " << at << " changed to " << value << " went unnoticed");
            }
        }
    }
}

TEST_CASE("Fletcher-64 detects a change within one word or two adjacent words", "[fletcher64]") {
    std::mt19937 rng(12);
    const Bytes original = random_bytes(rng, 256);
    const std::uint64_t sum = fletcher64(original);
    std::uniform_int_distribution<std::uint32_t> any;
    for (std::size_t word = 0; word + 1 < original.size() / 4; ++word) {
        for (int trial = 0; trial < 64; ++trial) {
            Bytes changed = original;
            const std::uint32_t first = any(rng);
            put_word(changed, word, first);
            put_word(changed, word + 1, any(rng));
            if (changed != original) CHECK(fletcher64(changed) != sum);
        }
    }
}

TEST_CASE("Fletcher-64 tells 0x00000000 from 0xFFFFFFFF (Fletcher's mod 2^32 - 1 cannot)", "[fletcher64]") {
    Bytes zeros(512, 0);
    Bytes erased = zeros;
    put_word(erased, 17, 0xFFFFFFFF);
    CHECK(fletcher64(zeros) != fletcher64(erased));
    CHECK(fletcher64(zeros) != fletcher64(Bytes(512, 0xFF)));  // a sector erased to 0xFF
}

TEST_CASE("Fletcher-64 misses what docs/disk-format.md says it misses", "[fletcher64]") {
    std::mt19937 rng(13);
    const Bytes original = random_bytes(rng, 4096);
    const std::uint64_t sum = fletcher64(original);
    auto flip_bit = [](Bytes& bytes, std::size_t word, unsigned bit) { bytes[4 * word + bit / 8] ^= 1u << (bit % 8); };
    // Bit 31 flipped in two words an even distance apart: +-2^31 twice is 0 in A, and
    // the distance times 2^31 is 0 in B.
    Bytes even = original;
    flip_bit(even, 10, 31);
    flip_bit(even, 12, 31);
    CHECK(fletcher64(even) == sum);
    // An odd distance is seen.
    Bytes odd = original;
    flip_bit(odd, 10, 31);
    flip_bit(odd, 13, 31);
    CHECK(fletcher64(odd) != sum);
    // Word i up by d, word j down by d: missed only when (j - i) * d is 0 mod 2^32,
    // here d = 2^30 and j - i = 4.
    Bytes shifted = original;
    const bzboot::ByteView view(original);
    put_word(shifted, 100, *view.u32(400) + (1u << 30));
    put_word(shifted, 104, *view.u32(416) - (1u << 30));
    CHECK(fletcher64(shifted) == sum);
    put_word(shifted, 104, *view.u32(416));
    put_word(shifted, 103, *view.u32(412) - (1u << 30));  // distance 3: seen
    CHECK(fletcher64(shifted) != sum);
}
