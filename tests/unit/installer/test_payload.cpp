// The payload header: layout, checksums and every field.
#include <catch2/catch.hpp>

#include <cstring>

#include "diskformat.h"
#include "fletcher64.h"
#include "installer_test_support.h"
#include "payload.h"

using namespace bzinstall;
using namespace bzboot;
namespace df = diskformat;

TEST_CASE("kernel and initrd start on PAYLOAD_ALIGN boundaries after the header", "[payload]") {
    PayloadLayout with_initrd = layout_payload(10001, 777);
    CHECK(with_initrd.kernel_offset == df::PAYLOAD_HDR_SIZE);
    CHECK(with_initrd.initrd_offset == df::PAYLOAD_HDR_SIZE + 3 * df::PAYLOAD_ALIGN);
    CHECK(with_initrd.total_bytes == with_initrd.initrd_offset + 777);

    PayloadLayout exact = layout_payload(2 * df::PAYLOAD_ALIGN, 1);
    CHECK(exact.initrd_offset == df::PAYLOAD_HDR_SIZE + 2 * df::PAYLOAD_ALIGN);

    PayloadLayout no_initrd = layout_payload(10001, 0);
    CHECK(no_initrd.initrd_offset == 0);
    CHECK(no_initrd.initrd_size == 0);
    CHECK(no_initrd.total_bytes == df::PAYLOAD_HDR_SIZE + 10001);
}

TEST_CASE("the payload header holds magic, extents, checksums and the command line", "[payload]") {
    const Bytes kernel = bztest::pattern_bytes(10001, 7);
    const Bytes initrd = bztest::pattern_bytes(777, 8);
    const PayloadLayout layout = layout_payload(kernel.size(), initrd.size());
    const std::string cmdline = "console=ttyS0 root=/dev/ram0";
    Bytes header = build_payload_header(layout, kernel, initrd, cmdline, df::PF_HANDOFF64 | df::PF_LA57);
    ByteView h(header);

    REQUIRE(header.size() == df::PAYLOAD_HDR_SIZE);
    CHECK(std::memcmp(header.data() + df::PH_MAGIC, "BZBOOTPL", 8) == 0);
    CHECK(has_payload_magic(header));
    CHECK(h.u32(df::PH_VERSION) == df::PAYLOAD_VERSION);
    CHECK(h.u32(df::PH_FLAGS) == (df::PF_HANDOFF64 | df::PF_LA57));
    CHECK(h.u32(df::PH_CMDLINE_LEN) == cmdline.size());
    CHECK(h.u32(df::PH_KERNEL_SECTOR) == df::PAYLOAD_HDR_SIZE / 512);
    CHECK(h.u32(df::PH_KERNEL_SIZE) == kernel.size());
    CHECK(h.u32(df::PH_INITRD_SECTOR) == layout.initrd_offset / 512);
    CHECK(h.u32(df::PH_INITRD_SIZE) == initrd.size());
    CHECK(h.field(df::PH_KERNEL_FLETCHER64) == fletcher64(kernel));
    CHECK(h.field(df::PH_INITRD_FLETCHER64) == fletcher64(initrd));
    // The 64-bit fields are naturally aligned; the word before them stays zero.
    CHECK(df::PH_KERNEL_FLETCHER64.offset % 8 == 0);
    CHECK(h.u32(df::PH_INITRD_SIZE.end()) == 0u);
    CHECK(std::string(reinterpret_cast<const char*>(header.data() + df::PH_CMDLINE)) == cmdline);

    // The header's checksum covers all 4 KiB with its own field zeroed.
    const std::uint64_t stored = *h.field(df::PH_HEADER_FLETCHER64);
    put(header, df::PH_HEADER_FLETCHER64, 0);
    CHECK(stored == fletcher64(header));
    // ...and changes when anything in the header does.
    header[df::PH_CMDLINE] ^= 1;
    CHECK(stored != fletcher64(header));
}

TEST_CASE("a header without initrd records none", "[payload]") {
    const Bytes kernel = bztest::pattern_bytes(5000, 9);
    const PayloadLayout layout = layout_payload(kernel.size(), 0);
    Bytes header = build_payload_header(layout, kernel, Bytes{}, "", 0);
    ByteView h(header);
    CHECK(h.u32(df::PH_INITRD_SIZE) == 0);
    CHECK(h.u32(df::PH_INITRD_SECTOR) == 0);
    CHECK(h.u32(df::PH_CMDLINE_LEN) == 0);
    CHECK(header[df::PH_CMDLINE] == 0);
}

TEST_CASE("a foreign partition start is not taken for a payload", "[payload]") {
    CHECK_FALSE(has_payload_magic(Bytes(4096, 0)));
    CHECK_FALSE(has_payload_magic(Bytes{'B', 'Z', 'B', 'O'}));  // too short for the whole magic
    const char* almost = "BZBOOTPX";
    CHECK_FALSE(has_payload_magic(Bytes(almost, almost + 8)));
}
