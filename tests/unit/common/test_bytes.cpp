// common/bytes.h: bounds-checked little-endian reads, reads and writes of a Field.
#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

#include "common/bytes.h"

using namespace bzboot;

TEST_CASE("ByteView reads little-endian values that fit, nothing that does not", "[bytes]") {
    const Bytes b = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    const ByteView v(b);
    CHECK(v.u8(0) == 0x01);
    CHECK(v.u16(1) == 0x0302);
    CHECK(v.u32(2) == 0x06050403u);
    CHECK(v.u64(1) == 0x0908070605040302ull);
    CHECK(v.read_le(6, 3) == 0x090807u);
    CHECK_FALSE(v.u16(8));  // one byte short
    CHECK_FALSE(v.u64(2));
    CHECK_FALSE(v.u8(9));
    CHECK_FALSE(v.read_le(0, 0));
    CHECK_FALSE(v.read_le(0, 9));
    CHECK_FALSE(v.u32(std::numeric_limits<std::uint64_t>::max() - 1));  // offset + width wraps
    CHECK_FALSE(ByteView().u8(0));
}

TEST_CASE("a Field is read and written with its declared width", "[bytes]") {
    constexpr Field kWord{2, 2};
    const Bytes b = {0xAA, 0xBB, 0x34, 0x12, 0xCC, 0x78, 0x56};
    CHECK(ByteView(b).field(kWord) == 0x1234);
    CHECK(ByteView(b).field(kWord, 3) == 0x5678);  // the same field of a structure at 3
    CHECK_FALSE(ByteView(b).field(kWord, 4));
    CHECK_FALSE(ByteView(b).field(kWord, std::numeric_limits<std::uint64_t>::max()));

    Bytes out(6, 0xFF);
    put(out, kWord, 0xABCDEF);  // only the low two bytes: the field's width
    CHECK(out == Bytes{0xFF, 0xFF, 0xEF, 0xCD, 0xFF, 0xFF});
    put(out, kWord, 0x0102, 2);
    CHECK(out == Bytes{0xFF, 0xFF, 0xEF, 0xCD, 0x02, 0x01});
    CHECK_THROWS_AS(put(out, kWord, 0, 3), std::out_of_range);
    CHECK(out == Bytes{0xFF, 0xFF, 0xEF, 0xCD, 0x02, 0x01});  // untouched
}

TEST_CASE("writes past the end of a buffer throw and change nothing", "[bytes]") {
    Bytes b(4, 0);
    put_u32(b, 0, 0x04030201);
    CHECK(b == Bytes{1, 2, 3, 4});
    CHECK_THROWS_AS(put_u16(b, 3, 0), std::out_of_range);
    CHECK_THROWS_AS(put_u64(b, 0, 0), std::out_of_range);
    CHECK_THROWS_AS(write_le(b, 0, 0, 0), std::out_of_range);
    CHECK(b == Bytes{1, 2, 3, 4});
    append_le(b, 2, 0x0605);
    CHECK(b == Bytes{1, 2, 3, 4, 5, 6});
}

TEST_CASE("sub-views stay inside their view", "[bytes]") {
    const Bytes b = {1, 2, 3, 4, 5};
    const auto middle = ByteView(b).sub(1, 3);
    REQUIRE(middle);
    CHECK(middle->copy() == Bytes{2, 3, 4});
    CHECK_FALSE(middle->u8(3));
    CHECK(ByteView(b).sub(5, 0));
    CHECK_FALSE(ByteView(b).sub(3, 3));
    CHECK(round_up(0, 512) == 0);
    CHECK(round_up(1, 512) == 512);
    CHECK(round_up(512, 512) == 512);
}
