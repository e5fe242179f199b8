// handoff.cpp - see handoff.h.
#include "handoff.h"

#include "bios.h"
#include "bootproto.h"
#include "common/bytes.h"
#include "common/size.h"

#include <algorithm>

namespace bzcheck {
namespace bp = bootproto;

namespace {
constexpr std::uint64_t BIOS_RESERVED_END = 0x1000;  // IVT, BDA, MBR area (boot.rst memory map)
constexpr std::uint64_t LOW_32_BITS = 0xffffffff;
// efi_info.efi_loader_signature of an EFI loader (EFI32/EFI64_LOADER_SIGNATURE,
// arch/x86/include/asm/efi.h): then the decompressor ignores the BDA.
constexpr std::uint32_t EFI32_LOADER_SIGNATURE = 0x32334C45;  // "EL32"
constexpr std::uint32_t EFI64_LOADER_SIGNATURE = 0x34364C45;  // "EL64"

HandoffKind kind_from_cpu(const CpuState& cpu) {
    if (!(cpu.cr0 & CR0_PE)) return HandoffKind::real16;
    if (cpu.efer & EFER_LMA) return HandoffKind::long64;
    return HandoffKind::prot32;
}

}  // namespace

std::uint64_t Handoff::field(bzboot::Field f, std::uint64_t at) const {
    return bzboot::ByteView(header).field(f, at).value_or(0);
}

// A setup-header field and, in a 32/64-bit hand-off's boot_params, the ext_ field that
// holds its upper 32 bits (zero-page.rst); the 16-bit entry builds boot_params itself.
std::uint64_t Handoff::with_high_half(bzboot::Field low, bzboot::Field high) const {
    const std::uint64_t upper = kind == HandoffKind::real16 ? 0 : field(high);
    return field(low) | (upper << 32);
}
std::uint64_t Handoff::cmdline_address() const { return with_high_half(bp::HDR_CMD_LINE_PTR, bp::BP_EXT_CMD_LINE_PTR); }
std::uint64_t Handoff::cmdline_limit() const {
    return in.kernel.version >= bp::PROTOCOL_2_06 ? in.kernel.cmdline_size : bp::CMDLINE_SIZE_PRE_2_06;
}
std::optional<std::string> Handoff::cmdline() const {
    if (cmdline_address() == 0) return std::nullopt;
    return snap.c_string(cmdline_address(), cmdline_limit());
}
std::uint64_t Handoff::initrd_address() const {
    return with_high_half(bp::HDR_RAMDISK_IMAGE, bp::BP_EXT_RAMDISK_IMAGE);
}
std::uint64_t Handoff::initrd_size() const { return with_high_half(bp::HDR_RAMDISK_SIZE, bp::BP_EXT_RAMDISK_SIZE); }
bool Handoff::has_e820() const { return kind != HandoffKind::real16 && header_found && field(bp::BP_E820_ENTRIES) > 0; }

std::vector<E820Entry> Handoff::e820_entries() const {
    std::vector<E820Entry> entries;
    const std::uint64_t count = std::min<std::uint64_t>(field(bp::BP_E820_ENTRIES), bp::E820_MAX_ENTRIES_ZP);
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t at = bp::BP_E820_TABLE + i * bios::E820_ENTRY_size;
        entries.push_back({field(bios::E820_ENTRY::base, at), field(bios::E820_ENTRY::length, at),
                           static_cast<std::uint32_t>(field(bios::E820_ENTRY::type, at))});
    }
    return entries;
}

Handoff analyse(const Snapshot& snap, const VerifyInputs& in) {
    Handoff h(snap, in);
    h.kind = snap.handoff != HandoffKind::unknown ? snap.handoff : kind_from_cpu(snap.cpu);
    const CpuState& cpu = snap.cpu;
    switch (h.kind) {
        case HandoffKind::real16:
            h.base = cpu.cs.base >= bp::SETUP_ENTRY_OFFSET ? cpu.cs.base - bp::SETUP_ENTRY_OFFSET : 0;
            break;
        case HandoffKind::prot32: h.base = cpu.rsi & LOW_32_BITS; break;
        default: h.base = cpu.rsi; break;
    }
    const std::uint64_t span = h.kind == HandoffKind::real16 ? in.kernel.setup_size : bp::BP_SIZE;
    if (auto bytes = snap.read_phys(h.base, span)) {
        h.header = std::move(*bytes);
        h.header_found = h.field(bp::HDR_HEADER) == bp::HDRS_MAGIC;
    }
    switch (h.kind) {
        case HandoffKind::real16: h.load_address = h.field(bp::HDR_CODE32_START); break;
        case HandoffKind::prot32: h.load_address = cpu.rip & LOW_32_BITS; break;
        default: h.load_address = cpu.rip - bp::ENTRY_64_OFFSET; break;
    }
    h.bda_base_memory = std::uint64_t(snap.u16(bios::BDA_BASE_MEM_KIB).value_or(0)) * 1024;
    h.bda_ebda = std::uint64_t(snap.u16(bios::BDA_EBDA_SEG).value_or(0)) << 4;
    h.low_memory_top = LOW_MEMORY_LIMIT;
    if (h.bda_base_memory != 0) h.low_memory_top = std::min(h.low_memory_top, h.bda_base_memory);
    if (h.bda_ebda != 0) h.low_memory_top = std::min(h.low_memory_top, h.bda_ebda);

    // Usable RAM: the dump's RAM, cut to the E820 RAM entries when there are
    // some, without the BIOS areas below 4 KiB and from low memory top to 1 MiB.
    for (const auto& range : snap.ram) h.usable_ram.add(range.phys, range.end());
    if (h.has_e820()) {
        RangeSet e820_ram;
        for (const auto& e : h.e820_entries())
            if (e.type == bp::E820_TYPE_RAM) e820_ram.add(e.addr, e.addr + e.size);
        RangeSet both;
        for (const auto& a : h.usable_ram.ranges())
            for (const auto& b : e820_ram.ranges()) both.add(std::max(a.start, b.start), std::min(a.end, b.end));
        h.usable_ram = both;
    }
    h.usable_ram.remove(0, BIOS_RESERVED_END);
    h.usable_ram.remove(h.low_memory_top, bzboot::MiB);

    if (h.kind == HandoffKind::long64) h.walk = walk_page_tables(snap);
    return h;
}

std::uint64_t trampoline_address(const Handoff& h) {
    std::uint64_t bios_start = 0, ebda_start = 0;
    const auto signature = h.field(bp::BP_EFI_LOADER_SIGNATURE);
    if (signature != EFI32_LOADER_SIGNATURE && signature != EFI64_LOADER_SIGNATURE) {
        ebda_start = h.bda_ebda;
        bios_start = h.bda_base_memory;
    }
    if (bios_start < bp::TRAMPOLINE_BIOS_START_MIN || bios_start > bp::TRAMPOLINE_BIOS_START_MAX)
        bios_start = bp::TRAMPOLINE_BIOS_START_MAX;
    if (ebda_start > bp::TRAMPOLINE_BIOS_START_MIN && ebda_start < bios_start) bios_start = ebda_start;
    bios_start &= ~(PAGE_4K - 1);
    const auto entries = h.e820_entries();
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
        std::uint64_t candidate = bios_start;
        if (bios_start <= e->addr || e->type != bp::E820_TYPE_RAM) continue;
        if (bios_start > e->addr + e->size) candidate = e->addr + e->size;
        candidate &= ~(PAGE_4K - 1);
        if (candidate - bp::TRAMPOLINE_RESERVE < e->addr) continue;
        if (candidate - bp::TRAMPOLINE_RESERVE > bios_start) break;
        bios_start = candidate;
        break;
    }
    return bios_start - bp::TRAMPOLINE_RESERVE;
}

}  // namespace bzcheck
