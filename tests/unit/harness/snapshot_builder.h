// snapshot_builder.h - synthetic hand-off snapshots for the unit tests.
//
// A small fake bzImage (common/testing/fake_kernel.h) and correct 16-,
// 32- and 64-bit hand-offs of it: setup or boot_params, command line, kernel,
// initrd, E820 table, BIOS data area and (64-bit) identity-mapping page tables
// laid out in 32 MiB of RAM. Tests break one thing and expect one rule to fail.
#pragma once

#include "common/testing/fake_kernel.h"
#include "rules.h"
#include "snapshot.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bzcheck::testing {

inline constexpr std::uint64_t RAM_TOP = 0x2000000;  // 32 MiB
inline constexpr std::uint64_t LOW_RAM_TOP = 0xA0000;
inline constexpr std::uint64_t BASE_MEMORY_KIB = 639;  // BDA: bios::BDA_BASE_MEM_KIB
inline constexpr std::uint64_t EBDA_SEGMENT = 0x9FC0;  // BDA: bios::BDA_EBDA_SEG
inline constexpr std::uint64_t SETUP_X = 0x10000;
inline constexpr std::uint64_t KERNEL_LOAD = 0x100000;
inline constexpr std::uint64_t KERNEL_PAYLOAD_SIZE = 0x3000;
inline constexpr std::uint64_t KERNEL_PREF_ADDRESS = 0x1000000;
inline constexpr std::uint64_t KERNEL_INIT_SIZE = 0x400000;
inline constexpr std::uint64_t KERNEL_SETUP_SECTS = 4;
inline constexpr std::uint64_t INITRD_ADDR = 0x1c00000;
inline constexpr std::uint64_t INITRD_SIZE = 0x5123;
inline constexpr std::uint64_t BOOT_PARAMS = 0x20000;  // 32/64-bit hand-offs
inline constexpr std::uint64_t CMDLINE_32_64 = 0x21000;
inline constexpr std::uint64_t PML4_ADDR = 0x30000;            // then PDPT, PD (identity 1 GiB)
inline constexpr std::uint64_t PML5_ADDR = 0x33000;            // for the LA57 variant
inline constexpr std::uint64_t RSDP_ADDR = EBDA_SEGMENT << 4;  // ACPI RSDP (revision 2) in the EBDA
inline constexpr const char* CMDLINE = "console=ttyS0 root=/dev/sda1";

// The bzImage of every hand-off: common/testing/fake_kernel.h's, with the setup size,
// payload size, load and preferred addresses and init_size above.
bzboot::testing::FakeKernel fake_kernel();
std::vector<std::uint8_t> make_initrd_file();
VerifyInputs make_inputs();    // kernel, initrd and command line above
const VerifyInputs& inputs();  // make_inputs(), made once

// RAM [0, 0xA0000) and [0x100000, RAM_TOP), all zero except the BDA.
Snapshot empty_machine();

Snapshot make_handoff16(const VerifyInputs& in);
Snapshot make_handoff32(const VerifyInputs& in);
Snapshot make_handoff64(const VerifyInputs& in, bool la57 = false);

// The 16-bit hand-off with the real-mode code moved to X: setup, segments and
// SP follow it; heap_end_ptr and the command line's address are the caller's.
Snapshot relocated16(const VerifyInputs& in, std::uint64_t x, std::uint16_t heap_end_ptr, std::uint32_t cmdline,
                     std::uint16_t sp);
// GRUB 2's linux16 as captured: X = 0x90000, heap end 0x99000, command line at 0x99000, SP 0x9000.
inline constexpr std::uint64_t GRUB_X = 0x90000;
inline constexpr std::uint16_t GRUB_HEAP_END_PTR = 0x8e00;
inline constexpr std::uint32_t GRUB_CMDLINE = 0x99000;
inline constexpr std::uint16_t GRUB_SP = 0x9000;
Snapshot grub_linux16(const VerifyInputs& in, std::uint16_t heap_end_ptr = GRUB_HEAP_END_PTR);

// --- a running kernel in miniature (bzcheck layout of a running kernel) ---------
//
// 4-level tables as a KASLR'd 6.1 kernel leaves them: a kernel image of 2 MiB
// text (RO+x), 2 MiB rodata (RO NX) and 2 MiB data (RW NX) at physical
// MINI_IMAGE_PHYS, slid by MINI_SLIDE; the direct map of all RAM at
// MINI_PAGE_OFFSET (the trampoline's text RO+x, the image's alias RO); one page
// each of vmalloc, vmemmap (2 MiB, in mm.rst's "unused hole"), cpu_entry_area,
// a module and the fixmap; a user page. The kernel's variables (bases,
// phys_base, max_pfn, e820_table, real_mode_header, saved_command_line) sit in
// its data, and system_map and config describe it.
struct MiniKernel {
    Snapshot snap;
    std::string system_map;  // "ffffffff81000000 T _text" lines
    std::string config;      // CONFIG_ lines
    std::uint64_t next_table = 0;  // where map_page() takes its next table from
};
inline constexpr std::uint64_t MINI_TEXT_LINK = 0xffffffff81000000;  // System.map's _text
inline constexpr std::uint64_t MINI_SLIDE = 0x20000000;
inline constexpr std::uint64_t MINI_TEXT = MINI_TEXT_LINK + MINI_SLIDE;  // where the image is mapped
inline constexpr std::uint64_t MINI_RODATA = MINI_TEXT + 0x200000;
inline constexpr std::uint64_t MINI_DATA = MINI_TEXT + 0x400000;
inline constexpr std::uint64_t MINI_IMAGE_PHYS = 0x1000000;
inline constexpr std::uint64_t MINI_PAGE_OFFSET = 0xffff889000000000;  // page_offset_base: mm.rst's + 64 GiB
inline constexpr std::uint64_t MINI_VMALLOC = 0xffffa00000000000;      // in mm.rst's direct-map slot
inline constexpr std::uint64_t MINI_VMEMMAP = 0xffffe90000000000;      // in mm.rst's "unused hole"
inline constexpr std::uint64_t MINI_PML4 = 0x40000;  // 8 KiB aligned: the page after it is a PTI user copy's place
inline constexpr const char* MINI_BANNER =
    "Linux version 6.1.0-mini (builder@bzcheck) (gcc 12) #1 SMP PREEMPT_DYNAMIC bzcheck test\n";
inline constexpr const char* MINI_VERSION = "6.1.0-mini (builder@bzcheck) #1 SMP PREEMPT_DYNAMIC bzcheck test";
MiniKernel make_mini_kernel();
// Maps one page (4 KiB, or 2 MiB with PS in flags) at virt -> phys with leaf
// flags (P, RW, US, PS, G, NX...), making the tables it needs (with US on the
// way to a user page, as the kernel does for the vsyscall page).
void map_page(MiniKernel& k, std::uint64_t virt, std::uint64_t phys, std::uint64_t flags);
inline constexpr std::uint64_t PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_LARGE = 0x80, PTE_G = 0x100,
                               PTE_NX = 1ull << 63;

// Writes into the snapshot's RAM (must lie in RAM).
void poke(Snapshot& snap, std::uint64_t addr, const std::vector<std::uint8_t>& bytes);
void poke8(Snapshot& snap, std::uint64_t addr, std::uint8_t value);
void poke16(Snapshot& snap, std::uint64_t addr, std::uint16_t value);
void poke32(Snapshot& snap, std::uint64_t addr, std::uint32_t value);
void poke64(Snapshot& snap, std::uint64_t addr, std::uint64_t value);
void poke_string(Snapshot& snap, std::uint64_t addr, const std::string& text);  // with its NUL

// One rule on a snapshot: its whole result, or only its status.
RuleResult rule_result(const std::string& id, const Snapshot& snap, const VerifyInputs& in);
Status rule_status(const std::string& id, const Snapshot& snap, const VerifyInputs& in);

}  // namespace bzcheck::testing
