// snapshot.h - one guest at one instant: its RAM and its boot CPU's state.
//
// On disk a snapshot is an ELF64 core laid out as QEMU's `dump-guest-memory`
// writes it (physical dump, no paging):
//   - ELF header, e_type ET_CORE, e_machine EM_X86_64 in long mode, else EM_386;
//   - one PT_NOTE segment holding, per CPU, a "CORE" NT_PRSTATUS note and a
//     "QEMU" note (QEMUCPUState version 1, 440 bytes), then bzcheck's own
//     "BZCHECK" note (a JSON object: EFER, hand-off kind, emulator, arguments);
//   - one PT_LOAD segment per guest RAM range, p_paddr = guest-physical address.
// read_snapshot() also accepts QEMU's own dumps, which have no BZCHECK note:
// then EFER is derived from e_machine (EM_X86_64 means LME|LMA) and the hand-off
// kind is unknown. docs/bzcheck.md documents the BZCHECK note.
#pragma once

#include "common/bytes.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bzcheck {

// Unreadable, truncated or foreign snapshot file; what() names the problem.
class SnapshotError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// How the loader entered the kernel (boot.rst): value = bits of the entry.
enum class HandoffKind : std::uint32_t {
    unknown = 0,
    real16 = 16,  // real-mode setup entry at (X>>4)+0x20:0
    prot32 = 32,  // 32-bit protected-mode entry, ESI = boot_params
    long64 = 64,  // 64-bit entry, RSI = boot_params
};

// A segment register or descriptor-table register, as QEMUCPUSegment has it.
// `flags` holds the attribute bits of the descriptor's high dword (bits 8..23:
// type, S, DPL, P, AVL, L, D/B, G); read_snapshot masks QEMU's raw value with
// SEGMENT_FLAGS_MASK. gdt/idt use only base and limit.
struct Segment {
    std::uint32_t selector = 0;
    std::uint32_t limit = 0;
    std::uint32_t flags = 0;
    std::uint64_t base = 0;
};

// The boot CPU's architectural state at the snapshot.
struct CpuState {
    std::uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rsp = 0, rbp = 0;
    std::uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
    std::uint64_t rip = 0, rflags = 0;
    Segment cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt;
    std::uint64_t cr0 = 0, cr1 = 0, cr2 = 0, cr3 = 0, cr4 = 0;
    std::uint64_t kernel_gs_base = 0;
    std::uint64_t efer = 0;
};

// One contiguous range of guest-physical RAM: bytes it holds itself (built in
// memory: tests, Bochs's dumps), or a window on a snapshot file mapped by
// read_snapshot, so that checking a large guest reads only the pages the
// rules and the page walk touch.
class RamRange {
public:
    RamRange() = default;
    RamRange(std::uint64_t phys, std::vector<std::uint8_t> bytes) : phys(phys), owned_(std::move(bytes)) {}
    // A window that stays valid while `mapping` lives.
    static RamRange mapped(std::uint64_t phys, bzboot::ByteView window, std::shared_ptr<const void> mapping);

    std::uint64_t phys = 0;
    bzboot::ByteView bytes() const { return mapping_ ? window_ : bzboot::ByteView(owned_); }
    std::uint64_t size() const { return bytes().size; }
    std::uint64_t end() const { return phys + size(); }  // exclusive
    // The bytes of a range built in memory, to change them (throws std::logic_error for a mapped one).
    std::vector<std::uint8_t>& owned_bytes();

private:
    std::vector<std::uint8_t> owned_;
    bzboot::ByteView window_;
    std::shared_ptr<const void> mapping_;
};

struct Snapshot {
    // Sorted by address, non-overlapping (read_snapshot enforces both).
    std::vector<RamRange> ram;
    CpuState cpu;  // the first (boot) CPU

    // From the BZCHECK note; a plain QEMU dump leaves them as below.
    bool has_bzcheck_note = false;
    bool efer_known = false;  // false: efer was derived from e_machine
    HandoffKind handoff = HandoffKind::unknown;
    // A kernel stopped while it runs (capture --running; note key "stop":
    // "running"), not a loader's hand-off to it ("stop": "handoff", or no key).
    bool running_kernel = false;
    std::string emulator;                    // "qemu", "bochs", ...
    std::vector<std::string> emulator_args;  // its command line, argv[0] first

    // Physical reads: nullopt unless all of [addr, addr+len) lies in ram.
    bool in_ram(std::uint64_t addr, std::uint64_t len) const;
    std::optional<std::vector<std::uint8_t>> read_phys(std::uint64_t addr, std::uint64_t len) const;
    std::optional<std::uint8_t> u8(std::uint64_t addr) const;
    std::optional<std::uint16_t> u16(std::uint64_t addr) const;  // little-endian
    std::optional<std::uint32_t> u32(std::uint64_t addr) const;
    std::optional<std::uint64_t> u64(std::uint64_t addr) const;
    // Bytes from addr up to (not including) the first NUL, at most max_len of
    // them; nullopt when no NUL is found within max_len+1 bytes of RAM.
    std::optional<std::string> c_string(std::uint64_t addr, std::uint64_t max_len) const;
    // Total bytes of RAM held.
    std::uint64_t ram_bytes() const;
};

// Reads a snapshot; throws SnapshotError for anything that is not a readable
// x86 ELF64 core with a QEMU CPU-state note. Never reads outside the file.
// The file is mapped, not read: its RAM ranges are windows on the mapping (the
// file must not change while the Snapshot lives).
Snapshot read_snapshot(const std::string& path);
// Parses a snapshot from bytes already in memory (what read_snapshot uses).
Snapshot parse_snapshot(const std::vector<std::uint8_t>& file);

// Writes snap in the format above (throws SnapshotError on I/O failure or
// overlapping RAM ranges). RAM pages that are all zero are left as holes of a
// sparse file: they read back as zeros, to any reader.
void write_snapshot(const std::string& path, const Snapshot& snap);
std::vector<std::uint8_t> serialize_snapshot(const Snapshot& snap);

// Architectural bits the harness needs to interpret CpuState.
inline constexpr std::uint64_t CR0_PE = 1u << 0;
inline constexpr std::uint64_t CR0_PG = 1u << 31;
inline constexpr std::uint64_t CR4_PAE = 1u << 5;
inline constexpr std::uint64_t CR4_LA57 = 1u << 12;
inline constexpr std::uint64_t EFER_LME = 1u << 8;
inline constexpr std::uint64_t EFER_LMA = 1u << 10;
inline constexpr std::uint64_t EFER_NXE = 1u << 11;
inline constexpr std::uint64_t RFLAGS_IF = 1u << 9;
inline constexpr std::uint32_t SEGMENT_FLAGS_MASK = 0x00ffff00;
inline constexpr std::uint32_t SEG_CODE = 1u << 11;       // type: code (else data)
inline constexpr std::uint32_t SEG_READ_WRITE = 1u << 9;  // code: readable; data: writable
inline constexpr std::uint32_t SEG_PRESENT = 1u << 15;
inline constexpr std::uint32_t SEG_LONG = 1u << 21;  // L: 64-bit code
inline constexpr std::uint32_t SEG_DB = 1u << 22;    // D/B: 32-bit

const char* handoff_name(HandoffKind kind);  // "16-bit", "32-bit", "64-bit", "unknown"

}  // namespace bzcheck
