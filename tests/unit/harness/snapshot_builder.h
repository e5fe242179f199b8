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
