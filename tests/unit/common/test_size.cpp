// common/size.h: the one parser of sizes such as 64M for both tools.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "common/size.h"

using bzboot::parse_size;

TEST_CASE("sizes take K, M, G or T (powers of 1024, any case, optional B or iB)", "[size]") {
    CHECK(parse_size("4096") == 4096);
    CHECK(parse_size("0") == 0);
    CHECK(parse_size("64M") == 64ull << 20);
    CHECK(parse_size("64m") == 64ull << 20);
    CHECK(parse_size("64MB") == 64ull << 20);
    CHECK(parse_size("64 MiB") == 64ull << 20);
    CHECK(parse_size("65536K") == 64ull << 20);
    CHECK(parse_size("64Mi") == 64ull << 20);
    CHECK(parse_size("6G") == 6ull << 30);
    CHECK(parse_size("2T") == 2ull << 40);
    CHECK(parse_size("512B") == 512);
    CHECK(parse_size("16777215T") == (16777215ull << 40));
}

TEST_CASE("a number without a unit counts the caller's unit", "[size]") {
    CHECK(parse_size("512", bzboot::MiB) == 512ull << 20);  // as QEMU's -m
    CHECK(parse_size("512K", bzboot::MiB) == 512ull << 10);
    CHECK(parse_size("512B", bzboot::MiB) == 512);
}

TEST_CASE("anything else is refused, naming the text", "[size]") {
    for (const char* bad :
         {"", "M", "lots", "12Q", "1.5G", "-1", "64MiBs", "64 ", "0x10", "18446744073709551616", "16777216T"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_size(bad), std::invalid_argument);
    }
    CHECK_THROWS_WITH(parse_size("12Q"), Catch::Contains("'12Q'"));
    CHECK(parse_size("18446744073709551615") == 18446744073709551615ull);
}
