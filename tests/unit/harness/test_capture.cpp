// test_capture.cpp - unit tests of capture's pure parts: option parsing, the
// hand-off candidates and classification, and the parsers of what QEMU and
// Bochs print. The texts below were printed by QEMU 7.2 and Bochs 2.7 at
// bzboot's hand-offs (real mode: 16-bit entry; long mode: 64-bit entry).
#include <catch2/catch.hpp>

#include <map>

#include "bootproto.h"
#include "capture.h"
#include "capture_bochs.h"
#include "capture_qemu.h"
#include "capture_session.h"

using namespace bzcheck;

namespace {

const char* const QEMU_REAL_MODE = R"(
CPU#0
EAX=00001020 EBX=00000000 ECX=00000000 EDX=00000000
ESI=00000000 EDI=00000000 EBP=00000000 ESP=0000fff0
EIP=00000000 EFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =1000 00010000 0000ffff 00009300
CS =1020 00010200 0000ffff 00009b00
SS =1000 00010000 0000ffff 00009300
DS =1000 00010000 0000ffff 00009300
FS =1000 00010000 0000ffff 00009300
GS =1000 00010000 0000ffff 00009300
LDT=0000 00000000 0000ffff 00008200
TR =0000 00000000 0000ffff 00008b00
GDT=     00000000 00000000
IDT=     00000000 000003ff
CR0=00000010 CR2=00000000 CR3=00000000 CR4=00000000
DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 
DR6=00000000ffff0ff0 DR7=0000000000000400
EFER=0000000000000000
FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80
)";

const char* const QEMU_LONG_MODE = R"(
RAX=0000000000100200 RBX=0000000000000000 RCX=00000000c0000080 RDX=0000000000000000
RSI=0000000000021000 RDI=0000000000000000 RBP=0000000000000000 RSP=0000000000007c00
R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000
R12=0000000000000000 R13=0000000000000000 R14=0000000000000000 R15=0000000000000000
RIP=0000000000100200 RFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
CS =0010 0000000000000000 ffffffff 00af9a00 DPL=0 CS64 [-R-]
SS =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
DS =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
FS =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
GS =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]
LDT=0000 0000000000000000 0000ffff 00008200 DPL=0 LDT
TR =0000 0000000000000000 0000ffff 00008b00 DPL=0 TSS64-busy
GDT=     0000000000008c60 00000027
IDT=     0000000000000000 000003ff
CR0=80000011 CR2=0000000000000000 CR3=0000000000041000 CR4=00000020
DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 
DR6=00000000ffff0ff0 DR7=0000000000000400
EFER=0000000000000500
)";

const char* const BOCHS_LONG_MODE = R"(
CPU0:
rax: 00000000_00100200
rbx: 00000000_00000000
rcx: 00000000_c0000080
rdx: 00000000_00000000
rsp: 00000000_00007c00
rbp: 00000000_00000000
rsi: 00000000_00021000
rdi: 00000000_00000000
r8 : 00000000_00000000
r9 : 00000000_00000000
r10: 00000000_00000000
r11: 00000000_00000000
r12: 00000000_00000000
r13: 00000000_00000000
r14: 00000000_00000000
r15: 00000000_00000000
rip: 00000000_00100200
eflags 0x00000046: id vip vif ac vm rf nt IOPL=0 of df if tf sf ZF af PF cf
es:0x0018, dh=0x00cf9300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0xffffffff, Read/Write, Accessed
cs:0x0010, dh=0x00af9b00, dl=0x0000ffff, valid=1
	Code segment, base=0x00000000, limit=0xffffffff, Execute/Read, Non-Conforming, Accessed, 64-bit
ss:0x0018, dh=0x00cf9300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0xffffffff, Read/Write, Accessed
ds:0x0018, dh=0x00cf9300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0xffffffff, Read/Write, Accessed
fs:0x0018, dh=0x00cf9300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0xffffffff, Read/Write, Accessed
gs:0x0018, dh=0x00cf9300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0xffffffff, Read/Write, Accessed
ldtr:0x0000, dh=0x00008200, dl=0x0000ffff, valid=1
tr:0x0000, dh=0x00008b00, dl=0x0000ffff, valid=1
gdtr:base=0x0000000000008c60, limit=0x27
idtr:base=0x0000000000000000, limit=0x3ff
CR0=0xe0000011: PG CD NW ac wp ne ET ts em mp PE
CR2=page fault laddr=0x0000000000000000
CR3=0x000000041000
    PCD=page-level cache disable=0
    PWT=page-level write-through=0
CR4=0x00000020: pks cet pke smap smep keylock osxsave pcid fsgsbase smx vmx la57 umip osxmmexcpt osfxsr pce pge mce PAE pse de tsd pvi vme
CR8: 0x0
EFER=0x00000500: ffxsr nxe LMA LME sce
)";

// Bochs's `sreg` in real mode: segment bases come from the descriptor words.
const char* const BOCHS_REAL_MODE_SREG = R"(
es:0x1000, dh=0x00009301, dl=0x0000ffff, valid=7
	Data segment, base=0x00010000, limit=0x0000ffff, Read/Write, Accessed
cs:0x1020, dh=0x00009301, dl=0x0200ffff, valid=1
	Data segment, base=0x00010200, limit=0x0000ffff, Read/Write, Accessed
ss:0x1000, dh=0x00009301, dl=0x0000ffff, valid=1
	Data segment, base=0x00010000, limit=0x0000ffff, Read/Write, Accessed
ds:0x1000, dh=0x00cf9301, dl=0x0000ffff, valid=1
	Data segment, base=0x00010000, limit=0xffffffff, Read/Write, Accessed
fs:0x0000, dh=0x00009300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
gs:0x0000, dh=0x00009300, dl=0x0000ffff, valid=1
	Data segment, base=0x00000000, limit=0x0000ffff, Read/Write, Accessed
ldtr:0x0000, dh=0x00008200, dl=0x0000ffff, valid=1
tr:0x0000, dh=0x00008b00, dl=0x0000ffff, valid=1
gdtr:base=0x00000000000f9ad7, limit=0x30
idtr:base=0x0000000000000000, limit=0x3ff
)";

std::string without_line(std::string text, const std::string& start) {
    const std::size_t at = text.find("\n" + start);
    REQUIRE(at != std::string::npos);
    text.erase(at + 1, text.find('\n', at + 1) - at);
    return text;
}

// Guest memory for classify_stop: a few dwords, everything else absent.
struct FakeMemory {
    std::map<std::uint64_t, std::uint32_t> dwords;
    PhysReadU32 reader() const {
        return [this](std::uint64_t addr) -> std::optional<std::uint32_t> {
            auto it = dwords.find(addr);
            if (it == dwords.end()) return std::nullopt;
            return it->second;
        };
    }
};

constexpr std::uint64_t X = 0x10000;            // setup base
constexpr std::uint64_t BOOT_PARAMS = 0x21000;  // zero page of a 32/64-bit hand-off
constexpr std::uint64_t HDRS_AT_SETUP = X + bootproto::HDR_HEADER;
constexpr std::uint64_t HDRS_AT_BOOT_PARAMS = BOOT_PARAMS + bootproto::HDR_HEADER;
constexpr std::uint64_t CODE32_START_AT_BOOT_PARAMS = BOOT_PARAMS + bootproto::HDR_CODE32_START.offset;

CpuState real_mode_at(std::uint64_t cs_base, std::uint64_t ip) {
    CpuState cpu;
    cpu.cs.base = cs_base;
    cpu.cs.selector = static_cast<std::uint32_t>(cs_base >> 4);
    cpu.rip = ip;
    return cpu;
}

CpuState protected_mode_at(std::uint64_t eip, std::uint64_t esi) {
    CpuState cpu;
    cpu.cr0 = CR0_PE;
    cpu.rip = eip;
    cpu.rsi = esi;
    return cpu;
}

CpuState long_mode_at(std::uint64_t rip, std::uint64_t rsi) {
    CpuState cpu = protected_mode_at(rip, rsi);
    cpu.cr0 |= CR0_PG;
    cpu.efer = EFER_LME | EFER_LMA;
    return cpu;
}

}  // namespace

TEST_CASE("memory sizes take K, M and G suffixes", "[capture]") {
    CHECK(parse_memory_size("512M") == 512ull << 20);
    CHECK(parse_memory_size("2G") == 2ull << 30);
    CHECK(parse_memory_size("2g") == 2ull << 30);
    CHECK(parse_memory_size("65536K") == 64ull << 20);
    CHECK(parse_memory_size("512") == 512ull << 20);  // MiB, like QEMU's -m
    // bzinstall's --size syntax (common/size.h), so also these:
    CHECK(parse_memory_size("12MB") == 12ull << 20);
    CHECK(parse_memory_size("2GiB") == 2ull << 30);
    CHECK(parse_memory_size("64 Mi") == 64ull << 20);
    for (const char* bad : {"", "M", "12X", "1000K", "0M", "-1G", "999999999999G", "1.5G", "512B"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_memory_size(bad), std::invalid_argument);
    }
    // The message names the quantity and the reason.
    CHECK_THROWS_WITH(parse_memory_size("12X"), "bad memory size '12X': unknown unit (K, M, G or T)");
    CHECK_THROWS_WITH(parse_memory_size("999999999999G"), "bad memory size '999999999999G': too large");
    CHECK_THROWS_WITH(parse_memory_size("1000K"), "memory size '1000K' is not a positive number of MiB");
    CHECK_THROWS_WITH(parse_memory_size("0"), "memory size '0' is not a positive number of MiB");
}

TEST_CASE("hand-off candidates: usual places, and the kernel's own", "[capture]") {
    const HandoffCandidates usual = handoff_candidates({});
    const std::vector<std::uint64_t> all = usual.all();
    for (std::uint64_t address : {0x10200ull, 0x90200ull, 0x100000ull, 0x100200ull, 0x1000200ull})
        CHECK(std::count(all.begin(), all.end(), address) == 1);

    std::vector<std::uint8_t> header(0x1000, 0);
    auto put32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) header[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    put32(bootproto::HDR_HEADER, bootproto::HDRS_MAGIC);
    put32(bootproto::HDR_VERSION, 0x020f);
    put32(bootproto::HDR_CODE32_START, 0x200000);
    put32(bootproto::HDR_PREF_ADDRESS, 0x4000000);
    const HandoffCandidates own = handoff_candidates(header);
    CHECK(std::count(own.entries32.begin(), own.entries32.end(), 0x200000) == 1);
    CHECK(std::count(own.entries64.begin(), own.entries64.end(), 0x200200) == 1);
    CHECK(std::count(own.entries64.begin(), own.entries64.end(), 0x4000200) == 1);

    put32(bootproto::HDR_HEADER, 0);
    CHECK_THROWS_AS(handoff_candidates(header), std::invalid_argument);
    CHECK_THROWS_AS(handoff_candidates(std::vector<std::uint8_t>(16, 0)), std::invalid_argument);
}

TEST_CASE("a stop is a hand-off only in the right mode with HdrS in place", "[capture]") {
    const HandoffCandidates candidates = handoff_candidates({});
    FakeMemory memory;
    const auto classify = [&](const CpuState& cpu) { return classify_stop(cpu, candidates, memory.reader()); };

    SECTION("16-bit: (X>>4)+0x20:0, or X>>4:0x200 - the same linear address") {
        CHECK(classify(real_mode_at(X + 0x200, 0)) == HandoffKind::unknown);  // no HdrS yet
        memory.dwords[HDRS_AT_SETUP] = bootproto::HDRS_MAGIC;
        CHECK(classify(real_mode_at(X + 0x200, 0)) == HandoffKind::real16);
        CHECK(classify(real_mode_at(X, 0x200)) == HandoffKind::real16);
        CHECK(classify(real_mode_at(X, 0x300)) == HandoffKind::unknown);  // not an entry point
        memory.dwords[HDRS_AT_SETUP] = 0x53726449;
        CHECK(classify(real_mode_at(X + 0x200, 0)) == HandoffKind::unknown);
    }
    SECTION("32-bit: ESI at a boot_params with HdrS, EIP at its code32_start") {
        memory.dwords[CODE32_START_AT_BOOT_PARAMS] = 0x100000;
        CHECK(classify(protected_mode_at(0x100000, BOOT_PARAMS)) == HandoffKind::unknown);
        memory.dwords[HDRS_AT_BOOT_PARAMS] = bootproto::HDRS_MAGIC;
        CHECK(classify(protected_mode_at(0x100000, BOOT_PARAMS)) == HandoffKind::prot32);
        CHECK(classify(protected_mode_at(0x100000, BOOT_PARAMS + 0x1000)) == HandoffKind::unknown);
        CHECK(classify(protected_mode_at(0x10200, BOOT_PARAMS)) == HandoffKind::unknown);  // a 16-bit entry
    }
    SECTION("64-bit: long mode, RSI at a boot_params with HdrS") {
        memory.dwords[HDRS_AT_BOOT_PARAMS] = bootproto::HDRS_MAGIC;
        CHECK(classify(long_mode_at(0x100200, BOOT_PARAMS)) == HandoffKind::long64);
        CHECK(classify(long_mode_at(0x1000200, BOOT_PARAMS)) == HandoffKind::long64);
        CHECK(classify(long_mode_at(0x100000, BOOT_PARAMS)) == HandoffKind::unknown);  // the 32-bit entry
        CHECK(classify(long_mode_at(0x100200, 0)) == HandoffKind::unknown);
        // The same address in real mode is no hand-off.
        CHECK(classify(real_mode_at(0x100000, 0x200)) == HandoffKind::unknown);
    }
}

namespace {

// A bzImage prefix for handoff_candidates: the header and, after a setup of
// SETUP_SECTS sectors, protected-mode code whose dwords are CODE_DWORD + i.
constexpr std::uint8_t SETUP_SECTS = 2;
constexpr std::uint32_t CODE_DWORD = 0xfc5e8d00;
std::vector<std::uint8_t> kernel_prefix(std::size_t code_bytes) {
    std::vector<std::uint8_t> file((SETUP_SECTS + 1) * bootproto::SECTOR_SIZE + code_bytes, 0);
    const auto put32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) file[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    file[bootproto::HDR_SETUP_SECTS.offset] = SETUP_SECTS;
    put32(bootproto::HDR_HEADER.offset, bootproto::HDRS_MAGIC);
    put32(bootproto::HDR_VERSION.offset, 0x020f);
    put32(bootproto::HDR_CODE32_START.offset, 0x100000);
    put32(bootproto::HDR_PREF_ADDRESS.offset, 0x1000000);
    for (std::size_t i = 0; i * 4 + 4 <= code_bytes; ++i)
        put32((SETUP_SECTS + 1) * bootproto::SECTOR_SIZE + i * 4, CODE_DWORD + static_cast<std::uint32_t>(i));
    return file;
}

}  // namespace

TEST_CASE("hand-off candidates: the kernel's first protected-mode bytes", "[capture]") {
    const HandoffCandidates c = handoff_candidates(kernel_prefix(ENTRY32_CODE_BYTES));
    REQUIRE(c.entry32_code.size() == ENTRY32_CODE_BYTES);
    CHECK(c.entry32_code[0] == (CODE_DWORD & 0xff));
    CHECK(c.entry32_code[4] == ((CODE_DWORD + 1) & 0xff));
    // A prefix that ends before them (only the header): no code to compare.
    CHECK(handoff_candidates(kernel_prefix(ENTRY32_CODE_BYTES - 1)).entry32_code.empty());
    CHECK(handoff_candidates({}).entry32_code.empty());
}

TEST_CASE("a 32-bit stop is the hand-off only where the kernel is", "[capture]") {
    constexpr std::uint64_t RELOCATOR = 0x100000;  // where GRUB's relocator runs first
    constexpr std::uint64_t KERNEL = 0x1000000;    // pref_address: where GRUB loads the kernel
    FakeMemory memory;
    memory.dwords[HDRS_AT_BOOT_PARAMS] = bootproto::HDRS_MAGIC;
    memory.dwords[CODE32_START_AT_BOOT_PARAMS] = KERNEL;
    const auto place_kernel_code = [&](std::uint64_t at) {
        for (std::uint32_t i = 0; i < ENTRY32_CODE_BYTES / 4; ++i) memory.dwords[at + 4 * i] = CODE_DWORD + i;
    };
    place_kernel_code(KERNEL);
    memory.dwords[RELOCATOR] = 0x00418e89;  // GRUB's relocator: "mov [esi+0x41], ecx"
    const HandoffCandidates with_kernel = handoff_candidates(kernel_prefix(ENTRY32_CODE_BYTES));
    const HandoffCandidates without_kernel = handoff_candidates({});

    SECTION("a loader's own code at a candidate, HdrS at ESI by chance: skipped") {
        CHECK(classify_stop(protected_mode_at(RELOCATOR, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::unknown);
        CHECK(classify_stop(protected_mode_at(RELOCATOR, BOOT_PARAMS), without_kernel, memory.reader()) ==
              HandoffKind::unknown);
    }
    SECTION("EIP at code32_start: taken, with or without --kernel") {
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::prot32);
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), without_kernel, memory.reader()) ==
              HandoffKind::prot32);
    }
    SECTION("code32_start left at the file's 0x100000, the kernel entered at pref_address") {
        memory.dwords[CODE32_START_AT_BOOT_PARAMS] = bootproto::BZIMAGE_LOAD_ADDR;
        // The kernel's own bytes at EIP: the hand-off (verify judges the loader).
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::prot32);
        // Without --kernel nothing says it is the kernel.
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), without_kernel, memory.reader()) ==
              HandoffKind::unknown);
        // One dword differs, or is not in RAM: not the kernel's code.
        memory.dwords[KERNEL + ENTRY32_CODE_BYTES - 4] ^= 1;
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::unknown);
        memory.dwords.erase(KERNEL + ENTRY32_CODE_BYTES - 4);
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::unknown);
    }
    SECTION("no code32_start readable: only the kernel's bytes decide") {
        memory.dwords.erase(CODE32_START_AT_BOOT_PARAMS);
        CHECK(classify_stop(protected_mode_at(KERNEL, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::prot32);
        CHECK(classify_stop(protected_mode_at(RELOCATOR, BOOT_PARAMS), with_kernel, memory.reader()) ==
              HandoffKind::unknown);
    }
}

TEST_CASE("QEMU's info registers: real mode", "[capture]") {
    const CpuState cpu = parse_qemu_info_registers(QEMU_REAL_MODE);
    CHECK(cpu.rax == 0x1020);
    CHECK(cpu.rsp == 0xfff0);
    CHECK(cpu.rip == 0);
    CHECK(cpu.rflags == 0x46);
    CHECK(cpu.cs.selector == 0x1020);
    CHECK(cpu.cs.base == 0x10200);
    CHECK(cpu.cs.limit == 0xffff);
    CHECK(cpu.cs.flags == 0x9b00);
    CHECK(cpu.ds.base == 0x10000);
    CHECK(cpu.idt.limit == 0x3ff);
    CHECK(cpu.cr0 == 0x10);
    CHECK(cpu.efer == 0);
}

TEST_CASE("QEMU's info registers: long mode", "[capture]") {
    const CpuState cpu = parse_qemu_info_registers(QEMU_LONG_MODE);
    CHECK(cpu.rip == 0x100200);
    CHECK(cpu.rsi == 0x21000);
    CHECK(cpu.rcx == 0xc0000080);
    CHECK(cpu.r8 == 0);
    CHECK(cpu.cs.selector == 0x10);
    CHECK(cpu.cs.flags == 0x00af9a00);
    CHECK(cpu.ss.selector == 0x18);
    CHECK(cpu.gdt.base == 0x8c60);
    CHECK(cpu.gdt.limit == 0x27);
    CHECK(cpu.cr0 == 0x80000011);
    CHECK(cpu.cr3 == 0x41000);
    CHECK(cpu.cr4 == 0x20);
    CHECK(cpu.efer == 0x500);
}

TEST_CASE("QEMU's info registers: a missing register is an error", "[capture]") {
    CHECK_THROWS_AS(parse_qemu_info_registers(without_line(QEMU_LONG_MODE, "EFER=")), CaptureError);
    CHECK_THROWS_AS(parse_qemu_info_registers(without_line(QEMU_LONG_MODE, "CS =")), CaptureError);
    CHECK_THROWS_AS(parse_qemu_info_registers(""), CaptureError);
}

TEST_CASE("Bochs's r, sreg and creg: long mode", "[capture]") {
    const CpuState cpu = parse_bochs_registers(BOCHS_LONG_MODE);
    CHECK(cpu.rax == 0x100200);
    CHECK(cpu.rsi == 0x21000);
    CHECK(cpu.rsp == 0x7c00);
    CHECK(cpu.rip == 0x100200);
    CHECK(cpu.rflags == 0x46);
    CHECK(cpu.cs.selector == 0x10);
    CHECK(cpu.cs.base == 0);
    CHECK(cpu.cs.limit == 0xffffffff);
    CHECK(cpu.cs.flags == 0x00af9b00);
    CHECK((cpu.cs.flags & SEG_LONG) != 0);
    CHECK(cpu.ds.flags == 0x00cf9300);
    CHECK(cpu.tr.flags == 0x8b00);
    CHECK(cpu.gdt.base == 0x8c60);
    CHECK(cpu.gdt.limit == 0x27);
    CHECK(cpu.idt.limit == 0x3ff);
    CHECK(cpu.cr0 == 0xe0000011);
    CHECK(cpu.cr2 == 0);
    CHECK(cpu.cr3 == 0x41000);
    CHECK(cpu.cr4 == 0x20);
    CHECK(cpu.efer == 0x500);
}

TEST_CASE("Bochs's sreg: real-mode bases and limits from the descriptor words", "[capture]") {
    std::string text = BOCHS_LONG_MODE;
    text.erase(text.find("es:0x0018"), text.find("gdtr:") - text.find("es:0x0018"));
    text += BOCHS_REAL_MODE_SREG;
    const CpuState cpu = parse_bochs_registers(text);
    CHECK(cpu.cs.selector == 0x1020);
    CHECK(cpu.cs.base == 0x10200);
    CHECK(cpu.cs.limit == 0xffff);
    CHECK(cpu.ds.base == 0x10000);
    CHECK(cpu.ds.limit == 0xffffffff);  // G set: 4 KiB granularity ("unreal" DS)
    CHECK(cpu.gdt.base == 0xf9ad7);
}

TEST_CASE("Bochs's registers: a missing register is an error", "[capture]") {
    CHECK_THROWS_AS(parse_bochs_registers(without_line(BOCHS_LONG_MODE, "EFER=")), CaptureError);
    CHECK_THROWS_AS(parse_bochs_registers(without_line(BOCHS_LONG_MODE, "rsi:")), CaptureError);
    CHECK_THROWS_AS(parse_bochs_registers(without_line(BOCHS_LONG_MODE, "cs:")), CaptureError);
}

TEST_CASE("emulator command lines", "[capture]") {
    QemuConfig qemu;
    qemu.image = "/images/a,b.img";
    qemu.memory_bytes = 2ull << 30;
    qemu.machine = "q35";
    const std::vector<std::string> q = qemu_command_line(qemu, 4321, "/tmp/s.log");
    const auto has = [](const std::vector<std::string>& argv, const std::string& arg) {
        return std::find(argv.begin(), argv.end(), arg) != argv.end();
    };
    CHECK(q[0] == "qemu-system-x86_64");
    CHECK(has(q, "tcg"));
    CHECK(has(q, "2048M"));
    CHECK(has(q, "q35"));
    CHECK(has(q, "-S"));
    CHECK(has(q, "tcp:127.0.0.1:4321"));
    CHECK(has(q, "file=/images/a,,b.img,format=raw,if=ide,snapshot=on"));  // comma doubled
    CHECK_FALSE(has(q, "-kernel"));

    QemuConfig direct;
    direct.kernel = "/k";
    direct.initrd = "/i";
    direct.cmdline = "console=ttyS0 quiet";
    direct.memory_bytes = 512ull << 20;
    direct.machine = "pc";
    const std::vector<std::string> d = qemu_command_line(direct, 1, "/tmp/s.log");
    CHECK(has(d, "-kernel"));
    CHECK(has(d, "console=ttyS0 quiet"));
    CHECK_FALSE(has(d, "-drive"));

    BochsConfig bochs{"/images/disk.img", 512ull << 20, ""};
    const std::vector<std::string> b =
        bochs_command_line(bochs, "/tmp/w/disk.img", "/tmp/w/s.log", "/tmp/w/b.log", "/tmp/w/bochsrc");
    CHECK(b[0] == "bochs");
    CHECK(has(b, "/tmp/w/bochsrc"));
    CHECK(has(b, "megs: 512"));
    CHECK(has(b, "display_library: term"));
    CHECK(has(b, "ata0-master: type=disk, path=/tmp/w/disk.img, mode=volatile"));
    CHECK(has(b, "cpuid: 1g_pages=1"));
}

// --- capture --running (issue 12) -----------------------------------------------

TEST_CASE("a running --qemu-kernel capture keeps the guest running: bzboot.hold appended once", "[capture]") {
    CHECK(running_cmdline("console=ttyS0") == "console=ttyS0 bzboot.hold");
    CHECK(running_cmdline("") == "bzboot.hold");
    CHECK(running_cmdline("bzboot.hold console=ttyS0") == "bzboot.hold console=ttyS0");
    // A word that only contains it is another word.
    CHECK(running_cmdline("xbzboot.hold") == "xbzboot.hold bzboot.hold");
}

TEST_CASE("a stop's privilege level: CS's RPL in protected mode, 0 in real mode", "[capture]") {
    CpuState cpu;
    cpu.cr0 = CR0_PE | CR0_PG;
    cpu.cs.selector = 0x10;  // the kernel's __KERNEL_CS
    CHECK(current_privilege_level(cpu) == 0);
    cpu.cs.selector = 0x33;  // __USER_CS
    CHECK(current_privilege_level(cpu) == 3);
    cpu.cr0 = 0;
    cpu.cs.selector = 0x1023;  // a real-mode segment: no RPL
    CHECK(current_privilege_level(cpu) == 0);
}

TEST_CASE("capture --running: refused for Bochs, and its options need it", "[capture]") {
    CaptureOptions o;
    o.image = BZ_SOURCE_DIR "/README.md";  // any readable file: refused before it is read
    o.out = "/nonexistent/x.snap";
    o.running = true;
    o.emulator = "bochs";
    CHECK(run_capture(o) == 2);
    o.running = false;
    o.emulator = "qemu";
    o.tlb_out = "/tmp/tlb.txt";
    CHECK(run_capture(o) == 2);
    o.tlb_out.clear();
    o.running = true;
    o.after.clear();
    CHECK(run_capture(o) == 2);
}
