// handoff.h - what `bzcheck verify` learns from a snapshot before it checks a
// rule: the kind of hand-off, where the setup header or boot_params is, where
// the kernel was loaded, the usable RAM and (64-bit) the page tables. Derived
// once (analyse), then read by every rule.
#pragma once

#include "field.h"
#include "kernel_image.h"
#include "pagewalk.h"
#include "ranges.h"
#include "snapshot.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bzcheck {

// boot.rst's memory map: low memory ends at most here, where the I/O hole starts.
inline constexpr std::uint64_t LOW_MEMORY_LIMIT = 0xA0000;

// What the loader was given, as `verify` is told.
struct VerifyInputs {
    KernelImage kernel;
    std::optional<std::vector<std::uint8_t>> initrd;  // --initrd
    bool no_initrd = false;                           // --no-initrd
    std::optional<std::string> cmdline;               // --cmdline
};

// One entry of boot_params.e820_table.
struct E820Entry {
    std::uint64_t addr, size;
    std::uint32_t type;
};

struct Handoff {
    Handoff(const Snapshot& snapshot, const VerifyInputs& inputs) : snap(snapshot), in(inputs) {}
    const Snapshot& snap;
    const VerifyInputs& in;
    HandoffKind kind = HandoffKind::unknown;
    std::uint64_t base = 0;             // X (16-bit) or boot_params (32/64-bit)
    std::vector<std::uint8_t> header;   // RAM at base: setup (16-bit) or the zero page
    bool header_found = false;          // "HdrS" at base+0x202
    std::uint64_t load_address = 0;     // where the protected-mode kernel is
    std::uint64_t bda_base_memory = 0;  // the BIOS data area's base memory size, in bytes (0: none)
    std::uint64_t bda_ebda = 0;         // ... and its EBDA's address (0: none)
    std::uint64_t low_memory_top = 0;   // the lowest of those and 0xA0000
    RangeSet usable_ram;
    std::optional<PageWalk> walk;  // 64-bit hand-off

    // A field of the setup header or boot_params (its offset from base, its
    // width as bootproto.inc declares it), or of a structure `at` bytes into
    // them (an E820 entry); 0 when it lies outside what was read.
    std::uint64_t field(bzboot::Field field, std::uint64_t at = 0) const;
    std::uint64_t with_high_half(bzboot::Field low, bzboot::Field high) const;
    std::uint64_t cmdline_address() const;
    std::uint64_t cmdline_limit() const;         // its longest length, without the NUL (cmdline_size)
    std::optional<std::string> cmdline() const;  // the NUL-terminated string there, if RAM holds one
    std::uint64_t initrd_address() const;
    std::uint64_t initrd_size() const;
    bool has_e820() const;
    std::vector<E820Entry> e820_entries() const;  // at most E820_MAX_ENTRIES_ZP
};
Handoff analyse(const Snapshot& snap, const VerifyInputs& in);

// Where the decompressor will put its 32-bit trampoline
// (find_trampoline_placement(), arch/x86/boot/compressed/pgtable_64.c), from
// the BDA and boot_params' E820 table; TRAMPOLINE_RESERVE bytes from there.
std::uint64_t trampoline_address(const Handoff& h);

}  // namespace bzcheck
