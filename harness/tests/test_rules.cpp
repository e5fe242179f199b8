// Every placement rule passes on a correct synthetic hand-off and fails when
// the one thing it checks is broken.
#include "bootproto.h"
#include "snapshot_builder.h"

#include <catch2/catch.hpp>

#include <map>

using namespace bzcheck;
using namespace bzcheck::testing;
namespace bp = bootproto;

namespace {
const VerifyInputs& inputs() {
    static const VerifyInputs in = make_inputs();
    return in;
}
// Header fields live at X (16-bit) or boot_params (32/64-bit).
constexpr std::uint64_t HDR16 = SETUP_X;
constexpr std::uint64_t HDR64 = BOOT_PARAMS;
}  // namespace

TEST_CASE("correct 16-, 32- and 64-bit hand-offs pass every rule", "[rules]") {
    for (const Snapshot& snap : {make_handoff16(inputs()), make_handoff32(inputs()), make_handoff64(inputs()),
                                 make_handoff64(inputs(), true)}) {
        for (const RuleResult& r : verify(snap, inputs())) {
            INFO(handoff_name(snap.handoff) << " " << r.id << ": " << r.message);
            CHECK(r.status != Status::fail);
        }
    }
    // Each rule applies to at least one kind of hand-off.
    std::map<std::string, bool> passed_somewhere;
    for (const Snapshot& snap : {make_handoff16(inputs()), make_handoff32(inputs()), make_handoff64(inputs())})
        for (const RuleResult& r : verify(snap, inputs())) passed_somewhere[r.id] |= r.status == Status::pass;
    for (const auto& [id, passed] : passed_somewhere) {
        INFO(id);
        CHECK(passed);
    }
}

TEST_CASE("R01 header magic and version", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    SECTION("no HdrS") { poke32(snap, HDR64 + bp::HDR_HEADER, 0x12345678); }
    SECTION("version differs from the file") { poke16(snap, HDR64 + bp::HDR_VERSION, 0x0201); }
    SECTION("boot flag") { poke16(snap, HDR64 + bp::HDR_BOOT_FLAG, 0); }
    CHECK(rule_status("R01", snap, inputs()) == Status::fail);
}

TEST_CASE("R02 setup identical to the file except loader fields", "[rules]") {
    SECTION("16-bit: a setup code byte changed") {
        Snapshot snap = make_handoff16(inputs());
        poke8(snap, HDR16 + 0x800, 0xCC);
        CHECK(rule_status("R02", snap, inputs()) == Status::fail);
    }
    SECTION("64-bit: a read-only header field changed") {
        Snapshot snap = make_handoff64(inputs());
        poke32(snap, HDR64 + bp::HDR_INIT_SIZE, 0x1000);
        CHECK(rule_status("R02", snap, inputs()) == Status::fail);
    }
    SECTION("a loader field may change") {
        Snapshot snap = make_handoff64(inputs());
        poke8(snap, HDR64 + bp::HDR_EXT_LOADER_VER, 7);
        CHECK(rule_status("R02", snap, inputs()) == Status::pass);
    }
}

TEST_CASE("R03 X+0x10000 at or below the top of low memory", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    CHECK(rule_status("R03", snap, inputs()) == Status::pass);
    poke16(snap, 0x413, 64);  // the BIOS reports only 64 KiB of base memory
    CHECK(rule_status("R03", snap, inputs()) == Status::fail);
    CHECK(rule_status("R03", make_handoff64(inputs()), inputs()) == Status::not_applicable);
}

TEST_CASE("R04 heap_end_ptr consistent with CAN_USE_HEAP", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    CHECK(rule_status("R04", snap, inputs()) == Status::pass);
    poke16(snap, HDR16 + bp::HDR_HEAP_END_PTR, 0x100);  // ends inside the setup code
    CHECK(rule_status("R04", snap, inputs()) == Status::fail);
}

TEST_CASE("R05 command line placement, NUL and length", "[rules]") {
    SECTION("16-bit: inside the heap") {
        Snapshot snap = make_handoff16(inputs());
        poke32(snap, HDR16 + bp::HDR_CMD_LINE_PTR, HDR16 + 0x9000);
        poke_string(snap, HDR16 + 0x9000, CMDLINE);
        CHECK(rule_status("R05", snap, inputs()) == Status::fail);
    }
    SECTION("no NUL within cmdline_size") {
        Snapshot snap = make_handoff64(inputs());
        poke(snap, CMDLINE_32_64, std::vector<std::uint8_t>(4096, 'a'));
        CHECK(rule_status("R05", snap, inputs()) == Status::fail);
    }
    SECTION("cmd_line_ptr is 0") {
        Snapshot snap = make_handoff32(inputs());
        poke32(snap, HDR64 + bp::HDR_CMD_LINE_PTR, 0);
        CHECK(rule_status("R05", snap, inputs()) == Status::fail);
    }
}

TEST_CASE("R06 command line equals --cmdline", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    VerifyInputs other = make_inputs();
    other.cmdline = "quiet";
    CHECK(rule_status("R06", snap, other) == Status::fail);
    other.cmdline.reset();
    CHECK(rule_status("R06", snap, other) == Status::not_applicable);
}

TEST_CASE("R07 type_of_loader non-zero", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    poke8(snap, HDR16 + bp::HDR_TYPE_OF_LOADER, 0);
    CHECK(rule_status("R07", snap, inputs()) == Status::fail);
}

TEST_CASE("R08 protected-mode kernel byte-identical at its load address", "[rules]") {
    Snapshot snap = make_handoff32(inputs());
    poke8(snap, KERNEL_LOAD + KERNEL_PAYLOAD_SIZE - 1, 0x5A);
    CHECK(rule_status("R08", snap, inputs()) == Status::fail);
    Snapshot moved = make_handoff64(inputs());
    moved.cpu.rip += PAGE_2M;  // entry of a kernel that is not there
    CHECK(rule_status("R08", moved, inputs()) == Status::fail);
}

TEST_CASE("R09 initrd byte-identical; --no-initrd wants none", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    VerifyInputs none = make_inputs();
    none.initrd.reset();
    CHECK(rule_status("R09", snap, none) == Status::not_applicable);
    none.no_initrd = true;
    CHECK(rule_status("R09", snap, none) == Status::fail);
    poke8(snap, INITRD_ADDR + 17, 0);
    CHECK(rule_status("R09", snap, inputs()) == Status::fail);
}

namespace {
// Moves the initrd of a 64-bit hand-off to addr.
Snapshot with_initrd_at(std::uint64_t addr) {
    Snapshot snap = make_handoff64(inputs());
    poke32(snap, HDR64 + bp::HDR_RAMDISK_IMAGE, static_cast<std::uint32_t>(addr));
    poke(snap, addr, *inputs().initrd);
    return snap;
}
}  // namespace

TEST_CASE("R10 initrd page aligned", "[rules]") {
    CHECK(rule_status("R10", with_initrd_at(INITRD_ADDR + 0x10), inputs()) == Status::fail);
    CHECK(rule_status("R09", with_initrd_at(INITRD_ADDR + 0x10), inputs()) == Status::pass);
}

TEST_CASE("R11 initrd in usable RAM", "[rules]") {
    // Ends below 0xA0000 but above the base memory the BIOS reports (and E820 RAM).
    CHECK(rule_status("R11", with_initrd_at(0x9ae00), inputs()) == Status::fail);
    CHECK(rule_status("R11", with_initrd_at(0x40000), inputs()) == Status::pass);
}

TEST_CASE("R12 initrd below initrd_addr_max", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    poke32(snap, HDR64 + bp::HDR_INITRD_ADDR_MAX, 0x1000000);
    CHECK(rule_status("R12", snap, inputs()) == Status::fail);
}

TEST_CASE("R13 initrd outside the decompression window", "[rules]") {
    CHECK(rule_status("R13", with_initrd_at(KERNEL_PREF_ADDRESS + 0x100000), inputs()) == Status::fail);
    CHECK(rule_status("R13", with_initrd_at(KERNEL_LOAD + KERNEL_INIT_SIZE - 0x1000), inputs()) == Status::fail);
}

TEST_CASE("R14 placed objects do not overlap", "[rules]") {
    SECTION("command line inside boot_params") {
        Snapshot snap = make_handoff64(inputs());
        poke32(snap, HDR64 + bp::HDR_CMD_LINE_PTR, BOOT_PARAMS + 0xF00);
        poke_string(snap, BOOT_PARAMS + 0xF00, CMDLINE);
        CHECK(rule_status("R14", snap, inputs()) == Status::fail);
    }
    SECTION("initrd over the page tables") {
        Snapshot snap = with_initrd_at(PML4_ADDR - 0x1000);
        CHECK(rule_status("R14", snap, inputs()) == Status::fail);
    }
}

TEST_CASE("R15 segments and entry point", "[rules]") {
    Snapshot snap16 = make_handoff16(inputs());
    snap16.cpu.ds.selector = 0;
    CHECK(rule_status("R15", snap16, inputs()) == Status::fail);
    Snapshot snap64 = make_handoff64(inputs());
    snap64.cpu.cs.selector = 0x08;
    CHECK(rule_status("R15", snap64, inputs()) == Status::fail);
    Snapshot snap32 = make_handoff32(inputs());
    snap32.cpu.ss.base = 0x1000;
    CHECK(rule_status("R15", snap32, inputs()) == Status::fail);
}

TEST_CASE("R16 stack pointer and boot_params registers", "[rules]") {
    Snapshot snap16 = make_handoff16(inputs());
    snap16.cpu.rsp = 0x100;  // inside the setup code
    CHECK(rule_status("R16", snap16, inputs()) == Status::fail);
    Snapshot snap32 = make_handoff32(inputs());
    snap32.cpu.rbx = 1;
    CHECK(rule_status("R16", snap32, inputs()) == Status::fail);
    Snapshot snap64 = make_handoff64(inputs());
    snap64.cpu.rsi = 0x50000;  // no boot_params there
    CHECK(rule_status("R16", snap64, inputs()) == Status::fail);
}

TEST_CASE("R17 CPU mode and interrupts", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    snap.cpu.rflags |= RFLAGS_IF;
    CHECK(rule_status("R17", snap, inputs()) == Status::fail);
    Snapshot snap32 = make_handoff32(inputs());
    snap32.cpu.cr0 |= CR0_PG;
    CHECK(rule_status("R17", snap32, inputs()) == Status::fail);
}

TEST_CASE("R18 boot_params sentinel", "[rules]") {
    Snapshot snap = make_handoff32(inputs());
    poke8(snap, HDR64 + bp::BP_SENTINEL, 0xff);
    CHECK(rule_status("R18", snap, inputs()) == Status::fail);
}

TEST_CASE("R19 E820 entries valid and sorted", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    SECTION("unsorted") { poke64(snap, HDR64 + bp::BP_E820_TABLE + bp::E820_ENTRY_SIZE, 0x10); }
    SECTION("empty entry") { poke64(snap, HDR64 + bp::BP_E820_TABLE + 8, 0); }
    SECTION("too many") { poke8(snap, HDR64 + bp::BP_E820_ENTRIES, 200); }
    CHECK(rule_status("R19", snap, inputs()) == Status::fail);
}

TEST_CASE("R20 E820 RAM exists in the snapshot", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    const std::uint64_t last = HDR64 + bp::BP_E820_TABLE + 2 * bp::E820_ENTRY_SIZE;
    poke64(snap, last + 8, 2 * RAM_TOP);  // claims 64 MiB where the dump has 31
    CHECK(rule_status("R20", snap, inputs()) == Status::fail);
}

TEST_CASE("R21 identity map of kernel, zero page and command line", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    const std::uint64_t pd = PML4_ADDR + 2 * PAGE_4K;
    SECTION("first 2 MiB not present") { poke64(snap, pd, 0); }
    SECTION("pref_address window mapped elsewhere") { poke64(snap, pd + 8 * (KERNEL_PREF_ADDRESS / PAGE_2M), 0x83); }
    CHECK(rule_status("R21", snap, inputs()) == Status::fail);
    CHECK(rule_status("R21", make_handoff16(inputs()), inputs()) == Status::not_applicable);
}

TEST_CASE("R22 nothing in the decompressor's trampoline", "[rules]") {
    // BDA: 639 KiB, EBDA at 0x9FC00 -> trampoline [0x9D000, 0x9F000).
    Snapshot snap = make_handoff64(inputs());
    poke32(snap, HDR64 + bp::HDR_CMD_LINE_PTR, 0x9E000);
    poke_string(snap, 0x9E000, CMDLINE);
    CHECK(rule_status("R22", snap, inputs()) == Status::fail);
    CHECK(rule_status("R22", make_handoff32(inputs()), inputs()) == Status::pass);
}

TEST_CASE("kernel files that are not bzImages are rejected", "[rules]") {
    CHECK_THROWS_AS(parse_kernel({}), InputError);
    auto file = make_kernel_file();
    file[bp::HDR_HEADER] = 'X';
    CHECK_THROWS_AS(parse_kernel(file), InputError);
    file = make_kernel_file();
    file[bp::HDR_SETUP_SECTS] = 0xff;  // setup longer than the file
    CHECK_THROWS_AS(parse_kernel(file), InputError);
}

TEST_CASE("R23 acpi_rsdp_addr points at a valid RSDP", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    CHECK(rule_status("R23", snap, inputs()) == Status::pass);
    CHECK(rule_status("R23", make_handoff16(inputs()), inputs()) == Status::not_applicable);
    SECTION("not set: the kernel searches itself") {
        poke64(snap, BOOT_PARAMS + bp::BP_ACPI_RSDP_ADDR, 0);
        CHECK(rule_status("R23", snap, inputs()) == Status::not_applicable);
    }
    SECTION("pointing elsewhere") {
        poke64(snap, BOOT_PARAMS + bp::BP_ACPI_RSDP_ADDR, RSDP_ADDR + 16);
        CHECK(rule_status("R23", snap, inputs()) == Status::fail);
    }
    SECTION("outside RAM") {
        poke64(snap, BOOT_PARAMS + bp::BP_ACPI_RSDP_ADDR, 0xE0000);
        CHECK(rule_status("R23", snap, inputs()) == Status::fail);
    }
    SECTION("a wrong checksum") {
        poke8(snap, RSDP_ADDR + 9, 'X');  // an OEM id byte
        CHECK(rule_status("R23", snap, inputs()) == Status::fail);
    }
    SECTION("a wrong extended checksum") {
        poke8(snap, RSDP_ADDR + 24, 1);  // an XSDT address byte
        CHECK(rule_status("R23", snap, inputs()) == Status::fail);
    }
}
