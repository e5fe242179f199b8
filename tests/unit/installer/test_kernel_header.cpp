// The bzImage header checks: one valid synthetic kernel, then one broken rule per test.
#include <catch2/catch.hpp>

#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"
#include "installer_test_support.h"
#include "kernel_header.h"

using namespace bzinstall;
using bzboot::ByteView;
using bzboot::put_u16;
using bzboot::put_u32;
using bztest::Bytes;
using bztest::FakeKernel;
namespace bp = bootproto;

namespace {

KernelHeader parse(const Bytes& image) { return parse_kernel_header(image); }

// The header of a valid fake kernel (fails the test if it does not parse).
KernelHeader valid_header(const FakeKernel& fake = FakeKernel{}) {
    KernelHeader header;
    REQUIRE_NOTHROW(header = parse(fake.bytes()));
    return header;
}

// Catch matchers on the one-line reason of a Refusal.
using Catch::Contains;

}  // namespace

TEST_CASE("a valid bzImage header is accepted and read correctly", "[header]") {
    FakeKernel fake;
    KernelHeader k = valid_header(fake);
    CHECK(k.protocol == 0x020F);
    CHECK(k.setup_sects == 4);
    CHECK(k.setup_bytes == 5 * 512);
    CHECK(k.protected_mode_bytes == fake.protected_mode_bytes);
    CHECK(k.cmdline_max == 2047);
    CHECK(k.initrd_addr_max == 0x7FFFFFFF);
    CHECK(k.xloadflags == (bp::XLF_KERNEL_64 | bp::XLF_CAN_BE_LOADED_ABOVE_4G));
}

TEST_CASE("setup_sects 0 means 4", "[header]") {
    FakeKernel fake;
    fake.setup_sects = 0;
    CHECK(valid_header(fake).setup_sects == bp::SETUP_SECTS_DEFAULT);
}

TEST_CASE("truncated kernels are refused", "[header]") {
    const Bytes whole = FakeKernel{}.bytes();
    const std::uint64_t setup_bytes = 5 * 512;

    SECTION("empty file") { CHECK_THROWS_AS(parse(Bytes{}), Refusal); }
    SECTION("shorter than the boot sector") {
        CHECK_THROWS_AS(parse(Bytes(whole.begin(), whole.begin() + 0x100)), Refusal);
    }
    SECTION("setup only, no protected-mode part") {
        CHECK_THROWS_WITH(parse(Bytes(whole.begin(), whole.begin() + setup_bytes)), Contains("truncated"));
    }
    SECTION("protected-mode part shorter than syssize says") {
        CHECK_THROWS_WITH(parse(Bytes(whole.begin(), whole.end() - 100)), Contains("syssize"));
    }
    SECTION("the last partial paragraph missing is still whole enough") {
        // syssize rounds up to 16 bytes: a file ending inside the last paragraph is complete.
        FakeKernel fake;
        fake.protected_mode_bytes = 20000;  // 1250 paragraphs exactly
        Bytes image = fake.bytes();
        put_u32(image, bp::HDR_SYSSIZE, 1251);
        CHECK_THROWS_AS(parse(image), Refusal);
        put_u32(image, bp::HDR_SYSSIZE, 1250);
        image.resize(image.size() - 1);  // 19999 bytes still round up to 1250 paragraphs
        CHECK_NOTHROW(parse(image));
    }
}

TEST_CASE("a wrong boot_flag is refused", "[header]") {
    Bytes image = FakeKernel{}.bytes();
    put_u16(image, bp::HDR_BOOT_FLAG, 0x55AA);  // byte-swapped
    CHECK_THROWS_WITH(parse(image), Contains("boot flag"));
}

TEST_CASE("a kernel without HdrS is refused", "[header]") {
    Bytes image = FakeKernel{}.bytes();
    put_u32(image, bp::HDR_HEADER, 0x53726449);  // "IdrS"
    CHECK_THROWS_WITH(parse(image), Contains("HdrS"));
}

TEST_CASE("boot protocol 2.01 is refused, 2.02 accepted", "[header]") {
    FakeKernel fake;
    fake.protocol = 0x0201;
    CHECK_THROWS_WITH(parse(fake.bytes()), "boot protocol 2.01 is older than 2.02");

    fake.protocol = 0x0202;
    KernelHeader old = valid_header(fake);
    // Fields that did not exist yet take their documented defaults.
    CHECK(old.cmdline_max == bp::CMDLINE_SIZE_PRE_2_06);
    CHECK(old.initrd_addr_max == bp::INITRD_ADDR_MAX_PRE_2_03);
    CHECK(old.xloadflags == 0);
}

TEST_CASE("a zImage (LOADED_HIGH clear) is refused", "[header]") {
    FakeKernel fake;
    fake.loadflags = bp::CAN_USE_HEAP;
    CHECK_THROWS_WITH(parse(fake.bytes()), Contains("LOADED_HIGH"));
}

TEST_CASE("absurd setup_sects is refused", "[header]") {
    FakeKernel fake;
    fake.setup_sects = bp::SETUP_SECTS_MAX;
    CHECK_NOTHROW(parse(fake.bytes()));

    fake.setup_sects = bp::SETUP_SECTS_MAX + 1;
    CHECK_THROWS_WITH(parse(fake.bytes()), Contains("setup_sects"));

    fake.setup_sects = 255;
    CHECK_THROWS_AS(parse(fake.bytes()), Refusal);
}

TEST_CASE("the command line may be exactly cmdline_size long, not longer", "[header][cmdline]") {
    FakeKernel fake;
    fake.cmdline_size = 100;
    KernelHeader k = valid_header(fake);
    BootRequest request;

    request.cmdline = std::string(100, 'x');
    CHECK_NOTHROW(check_boot_request(k, request));

    request.cmdline = std::string(101, 'x');
    CHECK_THROWS_WITH(check_boot_request(k, request), Contains("cmdline_size"));
}

TEST_CASE("before protocol 2.06 the command line limit is 255", "[header][cmdline]") {
    FakeKernel fake;
    fake.protocol = 0x0205;
    fake.cmdline_size = 4000;  // not a field yet: must be ignored
    KernelHeader k = valid_header(fake);
    BootRequest request;
    request.cmdline = std::string(255, 'x');
    CHECK_NOTHROW(check_boot_request(k, request));
    request.cmdline = std::string(256, 'x');
    CHECK_THROWS_AS(check_boot_request(k, request), Refusal);
}

TEST_CASE("the payload header limits the command line too", "[header][cmdline]") {
    FakeKernel fake;
    fake.cmdline_size = 0xFFFFF;
    KernelHeader k = valid_header(fake);
    BootRequest request;
    request.cmdline = std::string(diskformat::PH_CMDLINE_MAX, 'x');
    CHECK_NOTHROW(check_boot_request(k, request));
    request.cmdline = std::string(diskformat::PH_CMDLINE_MAX + 1, 'x');
    CHECK_THROWS_WITH(check_boot_request(k, request), Contains("payload header"));
}

TEST_CASE("64-bit handoff and LA57 need XLF_KERNEL_64", "[header][handoff]") {
    BootRequest handoff64;
    handoff64.handoff64 = true;
    BootRequest la57 = handoff64;
    la57.la57 = true;

    FakeKernel fake;
    CHECK_NOTHROW(check_boot_request(valid_header(fake), handoff64));
    CHECK_NOTHROW(check_boot_request(valid_header(fake), la57));

    fake.xloadflags = bp::XLF_CAN_BE_LOADED_ABOVE_4G;
    CHECK_THROWS_WITH(check_boot_request(valid_header(fake), handoff64), Contains("XLF_KERNEL_64"));
    CHECK_THROWS_WITH(check_boot_request(valid_header(fake), la57), Contains("--la57"));

    fake = FakeKernel{};
    fake.protocol = 0x020B;  // 2.11: xloadflags did not exist, whatever the bytes say
    CHECK_THROWS_WITH(check_boot_request(valid_header(fake), handoff64), Contains("2.12"));
}

TEST_CASE("the initrd must be non-empty and fit below initrd_addr_max", "[header][initrd]") {
    FakeKernel fake;
    fake.initrd_addr_max = 0x37FFFFFF;
    KernelHeader k = valid_header(fake);
    const std::uint64_t room = 0x38000000 - 0x100000;
    CHECK_NOTHROW(check_initrd(k, 1));
    CHECK_NOTHROW(check_initrd(k, room));
    CHECK_THROWS_WITH(check_initrd(k, room + 1), Contains("initrd_addr_max"));
    CHECK_THROWS_WITH(check_initrd(k, 0), "initrd is empty");

    fake.initrd_addr_max = 0x1000;  // absurd: below 1 MiB, no room at all
    CHECK_THROWS_AS(check_initrd(valid_header(fake), 1), Refusal);
}

TEST_CASE("no prefix or single-byte corruption of a kernel makes the parser misbehave", "[header][robust]") {
    // Every prefix up to past the header, and every header byte set to 0x00 and 0xFF:
    // the parser must answer (accept, or refuse with a reason) without reading out of
    // bounds or throwing anything but Refusal; run under ASan/UBSan to make that strict.
    const Bytes whole = FakeKernel{}.bytes();
    const auto refusal_reason = [](ByteView image) -> std::string {
        try {
            parse_kernel_header(image);
            return "";
        } catch (const Refusal& e) {
            return e.what()[0] != '\0' ? e.what() : "(a refusal without a reason)";
        }
    };
    for (std::size_t length = 0; length <= 3 * 1024; ++length) {
        CHECK_FALSE(refusal_reason(ByteView(whole.data(), length)).empty());  // every prefix is truncated
    }
    for (std::size_t offset = bp::HDR_SETUP_SECTS; offset < bp::HDR_KERNEL_INFO_OFFSET.end(); ++offset) {
        for (std::uint8_t value : {0x00, 0xFF}) {
            Bytes image = whole;
            image[offset] = value;
            CHECK(refusal_reason(image) != "(a refusal without a reason)");
        }
    }
}
