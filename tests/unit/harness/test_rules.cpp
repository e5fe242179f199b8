// Every placement rule passes on a correct synthetic hand-off and fails when
// the one thing it checks is broken, with the reason and the addresses that
// name the fault.
#include "bios.h"
#include "bootproto.h"
#include "snapshot_builder.h"

#include <catch2/catch.hpp>

#include <map>

using namespace bzcheck;
using namespace bzcheck::testing;
namespace bp = bootproto;

namespace {
// Header fields live at X (16-bit) or boot_params (32/64-bit).
constexpr std::uint64_t HDR16 = SETUP_X;
constexpr std::uint64_t HDR64 = BOOT_PARAMS;
using Addresses = std::vector<std::uint64_t>;

// The rule's verdict on snap is `status`, saying message about addresses.
void check_verdict(Status status, const std::string& id, const Snapshot& snap, const VerifyInputs& in,
                   const std::string& message, const Addresses& addresses) {
    const RuleResult r = rule_result(id, snap, in);
    INFO(id << ": " << status_name(r.status) << " " << r.message);
    CHECK(r.status == status);
    CHECK(r.message == message);
    CHECK(r.addresses == addresses);
}
void check_fails(const std::string& id, const Snapshot& snap, const VerifyInputs& in, const std::string& message,
                 const Addresses& addresses) {
    check_verdict(Status::fail, id, snap, in, message, addresses);
}
// A departure the rule grades WARN.
void check_warns(const std::string& id, const Snapshot& snap, const VerifyInputs& in, const std::string& message,
                 const Addresses& addresses) {
    check_verdict(Status::warn, id, snap, in, message, addresses);
}
// The 32/64-bit kernel's reason to accept a cleared boot_flag.
constexpr const char* BOOT_FLAG_UNREAD =
    "the 32/64-bit entry never reads boot_flag: it is the real-mode boot sector's signature";
}  // namespace

TEST_CASE("correct 16-, 32- and 64-bit hand-offs pass every rule", "[rules]") {
    for (const Snapshot& snap : {make_handoff16(inputs()), make_handoff32(inputs()), make_handoff64(inputs()),
                                 make_handoff64(inputs(), true)}) {
        for (const RuleResult& r : verify(snap, inputs())) {
            INFO(handoff_name(snap.handoff) << " " << r.id << ": " << r.message);
            CHECK((r.status == Status::pass || r.status == Status::not_applicable));
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
    SECTION("no HdrS") {
        poke32(snap, HDR64 + bp::HDR_HEADER, 0x12345678);
        check_fails("R01", snap, inputs(), "no setup header (\"HdrS\") found at 0x20000+0x202", {HDR64});
    }
    SECTION("version differs from the file") {
        poke16(snap, HDR64 + bp::HDR_VERSION, 0x0201);
        check_fails("R01", snap, inputs(), "version 0x0201: the kernel file says 0x020f (at least 0x0202 needed)",
                    {HDR64 + bp::HDR_VERSION});
    }
    SECTION("16-bit: boot flag") {
        Snapshot snap16 = make_handoff16(inputs());
        poke16(snap16, HDR16 + bp::HDR_BOOT_FLAG, 0);
        check_fails("R01", snap16, inputs(), "boot_flag is 0x0000, not 0xaa55", {HDR16 + bp::HDR_BOOT_FLAG});
    }
    SECTION("32/64-bit: a cleared boot flag in boot_params is tolerated (GRUB's linux)") {
        poke16(snap, HDR64 + bp::HDR_BOOT_FLAG, 0);
        check_warns("R01", snap, inputs(),
                    std::string("boot_flag is 0x0000, not 0xaa55 in boot_params: ") + BOOT_FLAG_UNREAD,
                    {HDR64 + bp::HDR_BOOT_FLAG});
        Snapshot snap32 = make_handoff32(inputs());
        poke16(snap32, HDR64 + bp::HDR_BOOT_FLAG, 0);
        CHECK(rule_status("R01", snap32, inputs()) == Status::warn);
    }
}

TEST_CASE("R02 setup identical to the file except loader fields", "[rules]") {
    SECTION("16-bit: a setup code byte changed") {
        Snapshot snap = make_handoff16(inputs());
        poke8(snap, HDR16 + 0x800, 0xCC);
        check_fails("R02", snap, inputs(),
                    "1 bytes of the real-mode setup differ from the kernel file (first at 0x10800)", {HDR16 + 0x800});
    }
    SECTION("64-bit: a read-only header field changed") {
        Snapshot snap = make_handoff64(inputs());
        poke32(snap, HDR64 + bp::HDR_INIT_SIZE, 0x1000);  // 0x400000 in the file: bytes 1 and 2 differ
        check_fails("R02", snap, inputs(),
                    "2 bytes of the setup header in boot_params differ from the kernel file (first at 0x20261)",
                    {HDR64 + bp::HDR_INIT_SIZE + 1});
    }
    SECTION("32-bit: only boot_flag cleared is tolerated (GRUB's linux); 16-bit: it fails") {
        Snapshot snap32 = make_handoff32(inputs());
        poke16(snap32, HDR64 + bp::HDR_BOOT_FLAG, 0);
        check_warns("R02", snap32, inputs(),
                    std::string("only boot_flag of the setup header in boot_params differs from the kernel file: ") +
                        BOOT_FLAG_UNREAD,
                    {HDR64 + bp::HDR_BOOT_FLAG});
        poke8(snap32, HDR64 + bp::HDR_INIT_SIZE + 1, 0x55);  // and a read-only field: no longer tolerated
        CHECK(rule_status("R02", snap32, inputs()) == Status::fail);
        Snapshot snap16 = make_handoff16(inputs());
        poke16(snap16, HDR16 + bp::HDR_BOOT_FLAG, 0);
        CHECK(rule_status("R02", snap16, inputs()) == Status::fail);
    }
    SECTION("a loader field may change") {
        Snapshot snap = make_handoff64(inputs());
        poke8(snap, HDR64 + bp::HDR_EXT_LOADER_VER, 7);
        CHECK(rule_status("R02", snap, inputs()) == Status::pass);
    }
}

TEST_CASE("R03 bzboot's layout: X = 0x10000, the real-mode code below the top of low memory", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    const RuleResult r = rule_result("R03", snap, inputs());
    CHECK(r.status == Status::pass);
    CHECK(r.message == "X = 0x10000; real-mode code up to 0x2001d (command line end) <= 0x9fc00");
    CHECK(r.addresses == Addresses{SETUP_X, 0x2001d});
    CHECK(rule_status("R03", make_handoff64(inputs()), inputs()) == Status::not_applicable);
    CHECK(rule_status("R03", make_handoff32(inputs()), inputs()) == Status::not_applicable);
}

TEST_CASE("R03 GRUB linux16's layout passes: X+0x10000 above the top of low memory is no limit", "[rules]") {
    const Snapshot snap = grub_linux16(inputs());
    const RuleResult r = rule_result("R03", snap, inputs());
    INFO(r.message);
    CHECK(r.status == Status::pass);
    CHECK(r.message == "X = 0x90000; real-mode code up to 0x9901d (command line end) <= 0x9a000");
    CHECK(r.addresses == Addresses{GRUB_X, 0x9901d});
    // The rest of the hand-off is right too.
    for (const RuleResult& each : verify(snap, inputs())) {
        INFO(each.id << ": " << each.message);
        CHECK(each.status != Status::fail);
    }
    // boot.rst's Sample Boot Configuration: the heap up to 0x9a000 exactly.
    CHECK(rule_status("R03", grub_linux16(inputs(), 0x9e00), inputs()) == Status::pass);
}

TEST_CASE("R03 X 16-byte aligned and at least 0x10000", "[rules]") {
    SECTION("not 16-byte aligned") {
        Snapshot snap = make_handoff16(inputs());
        snap.cpu.cs.base += 8;
        check_fails("R03", snap, inputs(), "X = 0x10008 is not 16-byte aligned", {0x10008});
    }
    SECTION("below 0x10000") {
        const Snapshot snap = relocated16(inputs(), 0x8000, 0x7e00, 0x10000, 0x7e00);
        check_fails("R03", snap, inputs(), "X = 0x8000 lies below 0x10000", {0x8000});
    }
}

TEST_CASE("R03 the real-mode code below the top of low memory", "[rules]") {
    SECTION("heap end above the EBDA") {
        const Snapshot snap = grub_linux16(inputs(), 0xfe00);  // heap end X+0x10000 = 0xa0000
        check_fails("R03", snap, inputs(), "heap end 0xa0000 lies above the top of low memory 0x9fc00",
                    {GRUB_X, 0xa0000});
    }
    SECTION("command line end above the BIOS's base memory") {
        Snapshot snap = make_handoff16(inputs());
        poke16(snap, bios::BDA_BASE_MEM_KIB, 128);  // base memory ends at 0x20000, the command line at 0x2001d
        check_fails("R03", snap, inputs(), "command line end 0x2001d lies above the top of low memory 0x20000",
                    {SETUP_X, 0x2001d});
    }
    SECTION("SS:SP above the top of low memory") {
        Snapshot snap = grub_linux16(inputs());
        snap.cpu.rsp = 0xa000;                      // SS:SP 0x9a000
        poke16(snap, bios::BDA_BASE_MEM_KIB, 614);  // base memory ends at 0x99800
        check_fails("R03", snap, inputs(), "SS:SP 0x9a000 lies above the top of low memory 0x99800", {GRUB_X, 0x9a000});
    }
}

TEST_CASE("R03 at X = 0x90000 nothing above 0x9A000", "[rules]") {
    SECTION("heap end") {
        const Snapshot snap = grub_linux16(inputs(), 0x9f00);  // heap end 0x9a100
        check_fails("R03", snap, inputs(), "X = 0x90000: heap end 0x9a100 lies above 0x9a000", {GRUB_X, 0x9a100});
    }
    SECTION("command line") {
        Snapshot snap = grub_linux16(inputs());
        poke32(snap, GRUB_X + bp::HDR_CMD_LINE_PTR, 0x99ff0);
        poke_string(snap, 0x99ff0, CMDLINE);
        check_fails("R03", snap, inputs(), "X = 0x90000: command line end 0x9a00d lies above 0x9a000",
                    {GRUB_X, 0x9a00d});
    }
    SECTION("SS:SP") {
        Snapshot snap = grub_linux16(inputs());
        snap.cpu.rsp = 0xa000 + 0x10;
        check_fails("R03", snap, inputs(), "X = 0x90000: SS:SP 0x9a010 lies above 0x9a000", {GRUB_X, 0x9a010});
    }
}

TEST_CASE("R04 heap_end_ptr consistent with CAN_USE_HEAP", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    CHECK(rule_status("R04", snap, inputs()) == Status::pass);
    poke16(snap, HDR16 + bp::HDR_HEAP_END_PTR, 0x100);  // ends at X+0x300, inside the setup code
    check_fails("R04", snap, inputs(),
                "CAN_USE_HEAP set but heap end X+0x300 is not in (end of setup X+0xa00, X+0x10000]", {HDR16 + 0x300});
}

TEST_CASE("R05 command line placement, NUL and length", "[rules]") {
    SECTION("16-bit: inside the heap") {
        Snapshot snap = make_handoff16(inputs());
        poke32(snap, HDR16 + bp::HDR_CMD_LINE_PTR, HDR16 + 0x9000);
        poke_string(snap, HDR16 + 0x9000, CMDLINE);
        check_fails("R05", snap, inputs(),
                    "command line [0x19000, 0x1901d) is not between the heap end 0x20000 and 0xA0000",
                    {0x19000, 0x1901d});
    }
    SECTION("no NUL within cmdline_size") {
        Snapshot snap = make_handoff64(inputs());
        poke(snap, CMDLINE_32_64, std::vector<std::uint8_t>(4096, 'a'));
        check_fails("R05", snap, inputs(), "no NUL within cmdline_size+1 = 2048 bytes of 0x21000 (or not in RAM)",
                    {CMDLINE_32_64});
    }
    SECTION("cmd_line_ptr is 0") {
        Snapshot snap = make_handoff32(inputs());
        poke32(snap, HDR64 + bp::HDR_CMD_LINE_PTR, 0);
        check_fails("R05", snap, inputs(), "cmd_line_ptr is 0", {});
    }
}

TEST_CASE("R06 command line equals --cmdline", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    VerifyInputs other = make_inputs();
    other.cmdline = "quiet";
    check_fails("R06", snap, other,
                "command line is \"console=ttyS0 root=/dev/sda1\", expected \"quiet\" (a loader may add only "
                "BOOT_IMAGE=, auto and initrd= words)",
                {CMDLINE_32_64});
    other.cmdline.reset();
    CHECK(rule_status("R06", snap, other) == Status::not_applicable);
}

namespace {
// The 64-bit hand-off with the loader's command line `line`; --cmdline stays CMDLINE.
Snapshot with_cmdline(const std::string& line) {
    Snapshot snap = make_handoff64(inputs());
    poke_string(snap, CMDLINE_32_64, line);
    return snap;
}
}  // namespace

TEST_CASE("R06 accepts the words boot.rst lets a loader add, and names them", "[rules]") {
    SECTION("SYSLINUX: BOOT_IMAGE= first, initrd= after the user's words") {
        const RuleResult r = rule_result(
            "R06", with_cmdline("BOOT_IMAGE=/vmlinuz console=ttyS0 root=/dev/sda1 initrd=/initrd.gz"), inputs());
        CHECK(r.status == Status::pass);
        CHECK(r.message ==
              "command line \"BOOT_IMAGE=/vmlinuz console=ttyS0 root=/dev/sda1 initrd=/initrd.gz\": the loader added "
              "BOOT_IMAGE=/vmlinuz (first), initrd=/initrd.gz (after the user's words)");
    }
    SECTION("auto first") {
        CHECK(rule_status("R06", with_cmdline("auto console=ttyS0 root=/dev/sda1"), inputs()) == Status::pass);
    }
    SECTION("the same words, spaced differently") {
        const RuleResult r = rule_result("R06", with_cmdline("console=ttyS0  root=/dev/sda1 "), inputs());
        CHECK(r.status == Status::pass);
        CHECK(r.message == "command line \"console=ttyS0  root=/dev/sda1 \" has the expected words");
    }
    SECTION("BOOT_IMAGE= or auto after the user's words: WARN, boot.rst recommends them first") {
        check_warns("R06", with_cmdline("console=ttyS0 root=/dev/sda1 auto"), inputs(),
                    "command line \"console=ttyS0 root=/dev/sda1 auto\": the loader added auto (after the user's "
                    "words); boot.rst recommends auto first (\"init=/bin/sh\" gets confused by \"auto\" after it)",
                    {CMDLINE_32_64});
        CHECK(rule_status("R06", with_cmdline("console=ttyS0 root=/dev/sda1 BOOT_IMAGE=/vmlinuz"), inputs()) ==
              Status::warn);
    }
    SECTION("any other word, a word missing, or the user's words reordered: FAIL") {
        for (const char* line :
             {"quiet console=ttyS0 root=/dev/sda1", "console=ttyS0 root=/dev/sda1 quiet", "console=ttyS0",
              "root=/dev/sda1 console=ttyS0", "console=ttyS0 BOOT_IMAGE=/vmlinuz root=/dev/sda1"}) {
            INFO(line);
            CHECK(rule_status("R06", with_cmdline(line), inputs()) == Status::fail);
        }
    }
    SECTION("a quoted word is one word, as the kernel splits it") {
        VerifyInputs quoted = make_inputs();
        quoted.cmdline = "init=/bin/sh \"a b\"";
        CHECK(rule_status("R06", with_cmdline("BOOT_IMAGE=x init=/bin/sh \"a b\""), quoted) == Status::pass);
        CHECK(rule_status("R06", with_cmdline("BOOT_IMAGE=x init=/bin/sh \"a\" b"), quoted) == Status::fail);
    }
}

TEST_CASE("R07 type_of_loader non-zero", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    poke8(snap, HDR16 + bp::HDR_TYPE_OF_LOADER, 0);
    check_fails("R07", snap, inputs(), "type_of_loader is 0", {HDR16 + bp::HDR_TYPE_OF_LOADER});
}

TEST_CASE("R08 protected-mode kernel byte-identical at its load address", "[rules]") {
    Snapshot snap = make_handoff32(inputs());
    poke8(snap, KERNEL_LOAD + KERNEL_PAYLOAD_SIZE - 1, 0x5A);
    check_fails("R08", snap, inputs(), "protected-mode kernel at 0x100000 differs from the file at 0x102fff",
                {KERNEL_LOAD, KERNEL_LOAD + KERNEL_PAYLOAD_SIZE - 1});
    Snapshot moved = make_handoff64(inputs());
    moved.cpu.rip += PAGE_2M;  // entry of a kernel that is not there
    check_fails("R08", moved, inputs(), "protected-mode kernel at 0x300000 differs from the file at 0x300000",
                {KERNEL_LOAD + PAGE_2M, KERNEL_LOAD + PAGE_2M});
}

TEST_CASE("R09 initrd byte-identical; --no-initrd wants none", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    VerifyInputs none = make_inputs();
    none.initrd.reset();
    CHECK(rule_status("R09", snap, none) == Status::not_applicable);
    none.no_initrd = true;
    check_fails("R09", snap, none, "--no-initrd, yet ramdisk_image 0x1c00000 size 0x5123", {INITRD_ADDR});
    poke8(snap, INITRD_ADDR + 17, 0);
    check_fails("R09", snap, inputs(), "initrd at 0x1c00000 differs from the file", {INITRD_ADDR});
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

TEST_CASE("R10 initrd page aligned: graded WARN, boot.rst asks no alignment", "[rules]") {
    check_warns("R10", with_initrd_at(INITRD_ADDR + 0x10), inputs(), "initrd at 0x1c00010 is not page aligned",
                {INITRD_ADDR + 0x10});
    CHECK(rule_status("R09", with_initrd_at(INITRD_ADDR + 0x10), inputs()) == Status::pass);
}

TEST_CASE("R11 initrd in usable RAM", "[rules]") {
    // Ends below 0xA0000 but above the base memory the BIOS reports (and E820 RAM).
    check_fails("R11", with_initrd_at(0x9ae00), inputs(), "initrd [0x9ae00, 0x9ff23) is not all in usable RAM",
                {0x9ae00, 0x9ae00 + INITRD_SIZE});
    CHECK(rule_status("R11", with_initrd_at(0x40000), inputs()) == Status::pass);
}

TEST_CASE("R12 initrd below initrd_addr_max", "[rules]") {
    constexpr std::uint32_t MAX = 0x1000000;
    const Addresses addresses = {INITRD_ADDR + INITRD_SIZE - 1, MAX};
    SECTION("a kernel without XLF_CAN_BE_LOADED_ABOVE_4G: FAIL") {
        VerifyInputs in = make_inputs();
        bzboot::testing::FakeKernel kernel = fake_kernel();
        kernel.xloadflags = bp::XLF_KERNEL_64;
        in.kernel = parse_kernel(kernel.bytes());
        Snapshot snap = make_handoff64(in);
        poke32(snap, HDR64 + bp::HDR_INITRD_ADDR_MAX, MAX);
        check_fails("R12", snap, in, "initrd's last byte 0x1c05122 is above initrd_addr_max 0x1000000", addresses);
    }
    SECTION("with XLF_CAN_BE_LOADED_ABOVE_4G: WARN (QEMU's -kernel with 3 GiB)") {
        Snapshot snap = make_handoff64(inputs());
        poke32(snap, HDR64 + bp::HDR_INITRD_ADDR_MAX, MAX);
        check_warns("R12", snap, inputs(),
                    "initrd's last byte 0x1c05122 is above initrd_addr_max 0x1000000; the kernel sets "
                    "XLF_CAN_BE_LOADED_ABOVE_4G (\"kernel/boot_params/cmdline/ramdisk can be above 4G\"): it reads "
                    "the initrd wherever it lies",
                    addresses);
    }
}

TEST_CASE("R13 initrd outside the decompression window", "[rules]") {
    check_fails("R13", with_initrd_at(KERNEL_PREF_ADDRESS + 0x100000), inputs(),
                "initrd [0x1100000, 0x1105123) overlaps the decompression window [0x1000000, 0x1400000)",
                {KERNEL_PREF_ADDRESS + 0x100000, KERNEL_PREF_ADDRESS});
    check_fails("R13", with_initrd_at(KERNEL_LOAD + KERNEL_INIT_SIZE - 0x1000), inputs(),
                "initrd [0x4ff000, 0x504123) overlaps the decompression window [0x100000, 0x500000)",
                {KERNEL_LOAD + KERNEL_INIT_SIZE - 0x1000, KERNEL_LOAD});
}

TEST_CASE("R14 placed objects do not overlap", "[rules]") {
    SECTION("command line inside boot_params") {
        Snapshot snap = make_handoff64(inputs());
        poke32(snap, HDR64 + bp::HDR_CMD_LINE_PTR, BOOT_PARAMS + 0xF00);
        poke_string(snap, BOOT_PARAMS + 0xF00, CMDLINE);
        check_fails("R14", snap, inputs(), "boot_params [0x20000, 0x21000) overlaps command line [0x20f00, 0x20f1d)",
                    {BOOT_PARAMS, BOOT_PARAMS + 0xF00});
    }
    SECTION("initrd over the page tables") {
        Snapshot snap = with_initrd_at(PML4_ADDR - 0x1000);
        check_fails("R14", snap, inputs(), "initrd [0x2f000, 0x34123) overlaps page table [0x30000, 0x31000)",
                    {PML4_ADDR - 0x1000, PML4_ADDR});
    }
}

TEST_CASE("R15 segments and entry point", "[rules]") {
    Snapshot snap16 = make_handoff16(inputs());
    snap16.cpu.ds.selector = 0;
    check_fails("R15", snap16, inputs(), "16-bit hand-off: DS = 0x0, expected X>>4 = 0x1000",
                {SETUP_X + bp::SETUP_ENTRY_OFFSET});
    Snapshot snap64 = make_handoff64(inputs());
    snap64.cpu.cs.selector = 0x08;
    check_fails("R15", snap64, inputs(), "64-bit hand-off: CS = 0x8, expected 0x10",
                {KERNEL_LOAD + bp::ENTRY_64_OFFSET});
    Snapshot snap32 = make_handoff32(inputs());
    snap32.cpu.ss.base = 0x1000;
    check_fails("R15", snap32, inputs(), "32-bit hand-off: SS is not 4 GiB flat", {KERNEL_LOAD});
}

TEST_CASE("R16 stack pointer and boot_params registers", "[rules]") {
    Snapshot snap16 = make_handoff16(inputs());
    snap16.cpu.rsp = 0x100;  // inside the setup code
    check_fails("R16", snap16, inputs(), "SS:SP = 1000:0100 is not inside the heap/stack area X+0xa00..X+0x10000",
                {SETUP_X + 0x100});
    Snapshot snap32 = make_handoff32(inputs());
    snap32.cpu.rbx = 1;
    check_fails("R16", snap32, inputs(), "must be zero: EBX = 0x1", {BOOT_PARAMS});
    Snapshot snap64 = make_handoff64(inputs());
    snap64.cpu.rsi = 0x50000;  // no boot_params there
    check_fails("R16", snap64, inputs(), "RSI does not point at a boot_params with \"HdrS\"", {0x50000});
}

TEST_CASE("R17 CPU mode and interrupts", "[rules]") {
    Snapshot snap = make_handoff16(inputs());
    snap.cpu.rflags |= RFLAGS_IF;
    check_warns("R17", snap, inputs(),
                "real mode, but interrupts are enabled (RFLAGS 0x202): the setup code calls the BIOS with interrupts "
                "on and disables them itself before protected mode (realmode_switch_hook)",
                {});
    Snapshot snap64 = make_handoff64(inputs());
    snap64.cpu.rflags |= RFLAGS_IF;
    check_fails("R17", snap64, inputs(), "interrupts are enabled (IF = 1)", {});
    Snapshot snap32 = make_handoff32(inputs());
    snap32.cpu.cr0 |= CR0_PG;
    check_fails("R17", snap32, inputs(), "paging is enabled", {});
}

TEST_CASE("R18 boot_params sentinel: graded WARN, the kernel clears what a loader left", "[rules]") {
    Snapshot snap = make_handoff32(inputs());
    poke8(snap, HDR64 + bp::BP_SENTINEL, 0xff);
    check_warns("R18", snap, inputs(), "sentinel is 0xff: boot_params was not zeroed before the header was copied",
                {HDR64 + bp::BP_SENTINEL});
}

TEST_CASE("R19 E820 entries valid and sorted", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    const std::uint64_t table = HDR64 + bp::BP_E820_TABLE;
    SECTION("unsorted") {
        poke64(snap, table + bp::E820_ENTRY_SIZE, 0x10);  // entry 1 starts inside entry 0
        check_warns("R19", snap, inputs(),
                    "entry 1 at 0x10 is unsorted or overlaps entry 0: the kernel sorts and merges the table itself "
                    "(e820__update_table)",
                    {0x10});
    }
    SECTION("empty entry") {
        poke64(snap, table + 8, 0);  // entry 0's length
        check_fails("R19", snap, inputs(), "entry 0 [0x0, +0x0) type 1 is invalid", {0});
    }
    SECTION("too many") {
        poke8(snap, HDR64 + bp::BP_E820_ENTRIES, 200);
        check_fails("R19", snap, inputs(), "e820_entries = 200 > 128", {});
    }
}

TEST_CASE("R20 E820 RAM exists in the snapshot", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    const std::uint64_t last = HDR64 + bp::BP_E820_TABLE + 2 * bp::E820_ENTRY_SIZE;
    poke64(snap, last + 8, 2 * RAM_TOP);  // claims 64 MiB where the dump has 31
    check_fails("R20", snap, inputs(), "E820 RAM [0x100000, 0x4100000) is not RAM in the snapshot", {0x100000});
}

TEST_CASE("R21 identity map of kernel, zero page and command line", "[rules]") {
    Snapshot snap = make_handoff64(inputs());
    const std::uint64_t pd = PML4_ADDR + 2 * PAGE_4K;
    SECTION("first 2 MiB not present") {
        poke64(snap, pd, 0);
        check_fails("R21", snap, inputs(), "kernel [load, +init_size) [0x100000, 0x500000) is not identity mapped",
                    {KERNEL_LOAD});
    }
    SECTION("pref_address window mapped elsewhere") {
        poke64(snap, pd + 8 * (KERNEL_PREF_ADDRESS / PAGE_2M), 0x83);  // to physical 0
        check_fails("R21", snap, inputs(), "[pref_address, +init_size) [0x1000000, 0x1400000) is not identity mapped",
                    {KERNEL_PREF_ADDRESS});
    }
    CHECK(rule_status("R21", make_handoff16(inputs()), inputs()) == Status::not_applicable);
}

TEST_CASE("R22 nothing in the decompressor's trampoline", "[rules]") {
    // BDA: 639 KiB, EBDA at 0x9FC00 -> trampoline [0x9D000, 0x9F000).
    Snapshot snap = make_handoff64(inputs());
    poke32(snap, HDR64 + bp::HDR_CMD_LINE_PTR, 0x9E000);
    poke_string(snap, 0x9E000, CMDLINE);
    check_fails("R22", snap, inputs(),
                "command line [0x9e000, 0x9e01d) lies in the decompressor's trampoline [0x9d000, 0x9f000)",
                {0x9E000, 0x9D000});
    CHECK(rule_status("R22", make_handoff32(inputs()), inputs()) == Status::pass);
}

TEST_CASE("kernel files that are not bzImages are rejected", "[rules]") {
    CHECK_THROWS_AS(parse_kernel({}), InputError);
    auto file = fake_kernel().bytes();
    file[bp::HDR_HEADER] = 'X';
    CHECK_THROWS_AS(parse_kernel(file), InputError);
    file = fake_kernel().bytes();
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
        check_fails("R23", snap, inputs(), "no \"RSD PTR \" signature at acpi_rsdp_addr 0x9fc10", {RSDP_ADDR + 16});
    }
    SECTION("outside RAM") {
        poke64(snap, BOOT_PARAMS + bp::BP_ACPI_RSDP_ADDR, 0xE0000);
        check_fails("R23", snap, inputs(), "acpi_rsdp_addr 0xe0000 is not in RAM", {0xE0000});
    }
    SECTION("a wrong checksum") {
        poke8(snap, RSDP_ADDR + 9, 'X');  // an OEM id byte
        check_fails("R23", snap, inputs(), "RSDP at 0x9fc00: checksum of its first 20 bytes is not 0", {RSDP_ADDR});
    }
    SECTION("a wrong extended checksum") {
        poke8(snap, RSDP_ADDR + 24, 1);  // an XSDT address byte
        check_fails("R23", snap, inputs(), "RSDP at 0x9fc00, revision 2: length 36 or extended checksum wrong",
                    {RSDP_ADDR});
    }
}

TEST_CASE("grades: a departure FAILs or WARNs as its row says; --strict rejects a WARN too", "[rules]") {
    for (const Rule& rule : rules()) {
        INFO(rule.id);
        CHECK(std::string(rule.basis).size() > 0);
    }
    const auto grade_of = [](const char* id) {
        for (const Rule& rule : rules())
            if (rule.id == std::string(id)) return rule.grade;
        FAIL("no rule " << id);
        return Grade::fail;
    };
    CHECK(grade_of("R10") == Grade::warn);  // "should": no FAIL
    CHECK(grade_of("R18") == Grade::warn);
    CHECK(grade_of("R03") == Grade::fail);  // placement limits, entry state
    CHECK(grade_of("R15") == Grade::fail);

    const auto results = [](std::initializer_list<Status> statuses) {
        std::vector<RuleResult> out;
        for (Status s : statuses) {
            RuleResult r;
            r.status = s;
            out.push_back(r);
        }
        return out;
    };
    const auto passing = results({Status::pass, Status::not_applicable});
    const auto warning = results({Status::pass, Status::warn});
    const auto failing = results({Status::warn, Status::fail});
    CHECK(overall(passing) == Status::pass);
    CHECK(overall(warning) == Status::warn);
    CHECK(overall(failing) == Status::fail);
    CHECK_FALSE(rejected(warning, false));
    CHECK(rejected(warning, true));
    CHECK(rejected(failing, false));
    CHECK_FALSE(rejected(passing, true));
}
