// regions.h - the documented x86-64 virtual memory layout (Documentation/arch/
// x86/x86_64/mm.rst) as data, and the `layout` check built on it.
#pragma once

#include "pagewalk.h"
#include "snapshot.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bzcheck {

enum class RegionKind {
    user,         // user space: a hand-off's identity map lives here
    hole,         // documented as unused / non-canonical / guard
    direct_map,   // page_offset_base: all physical memory, physical 0 at its start
    kernel_text,  // __START_KERNEL_map: mapped to physical 0
    other,        // another documented kernel area (vmalloc, vmemmap, modules, ...)
};

// Which of mm.rst's areas a region is (a running kernel's layout moves some).
enum class RegionId {
    none,  // a hole
    user,
    ldt_remap,
    direct_map,
    vmalloc,
    vmemmap,
    kasan,
    cpu_entry_area,
    espfix,
    efi,
    kernel_text,
    modules,
    fixmap,
    vsyscall,
};

struct Region {
    std::uint64_t start;
    std::uint64_t last;  // inclusive, as mm.rst writes it
    RegionKind kind;
    const char* name;
    RegionId id = RegionId::none;
};

// Tables for 4-level (48-bit) and 5-level (57-bit) paging, ascending, covering
// the whole 64-bit space.
const std::vector<Region>& layout_4level();
const std::vector<Region>& layout_5level();
const std::vector<Region>& layout_for(int levels);

// The documented bases (without KASLR) are bootproto.inc's PAGE_OFFSET_4LEVEL,
// PAGE_OFFSET_5LEVEL (page_offset_base) and KERNEL_TEXT_MAP (__START_KERNEL_map).

// The documented region `id` of a table, or nullptr.
const Region* find_region(const std::vector<Region>& table, RegionId id);
// The region holding addr (the tables cover the whole space).
const Region* region_at(const std::vector<Region>& table, std::uint64_t addr);

// Facts of the kernel's layout beside mm.rst's table (arch/x86/include/asm/
// pgtable_64_types.h, page_64_types.h; arch/x86/mm/kaslr.c), for a running kernel.
// KASLR (CONFIG_RANDOMIZE_MEMORY) moves the direct map, vmalloc and vmemmap, in
// this order, inside [the documented direct map's start, KASLR_VADDR_END) on 1 GiB
// (PUD) steps: "vaddr_end for KASLR" in the table is the cpu_entry_area's base.
inline constexpr std::uint64_t KASLR_VADDR_END = 0xfffffe0000000000;  // CPU_ENTRY_AREA_BASE
inline constexpr std::uint64_t KASLR_ALIGN = 0x40000000;              // PUD_SIZE: 1 GiB
inline constexpr std::uint64_t TB = 1ull << 40;
// vmalloc's size: VMALLOC_SIZE_TB_L4 32, VMALLOC_SIZE_TB_L5 12800 TB.
std::uint64_t vmalloc_size(int levels);
// The direct map's most: 1 << MAX_PHYSMEM_BITS (46 bits 4-level, 52 bits 5-level).
std::uint64_t max_physmem(int levels);
// KERNEL_IMAGE_SIZE: 1 GiB with CONFIG_RANDOMIZE_BASE, else 512 MiB (mm.rst's
// kernel text mapping); the module space starts where the image space ends.
inline constexpr std::uint64_t KERNEL_IMAGE_SIZE_KASLR = 0x40000000;
inline constexpr std::uint64_t KERNEL_IMAGE_SIZE_DEFAULT = 0x20000000;
inline constexpr std::uint64_t ESPFIX_BASE_ADDR = 0xffffff0000000000;  // the %esp fixup stacks
inline constexpr std::uint64_t VSYSCALL_ADDR = 0xffffffffff600000;     // legacy vsyscall ABI

enum class Severity { ok, warning, fail };

struct LayoutFinding {
    Severity severity;
    std::string message;
    std::vector<std::uint64_t> addresses;
};

struct LayoutEntry {
    Mapping mapping;
    const Region* region;  // the region holding the mapping's first byte
};

struct LayoutReport {
    bool paging = false;  // CR0.PG and long mode: there is something to walk
    int levels = 4;
    std::uint64_t cr3 = 0;
    std::vector<LayoutEntry> entries;
    std::vector<LayoutFinding> findings;
    bool failed() const;
};

// The maps bzboot's 64-bit hand-off gives the kernel (docs/memory-layout.md):
// identity of [0, 4 GiB) and of all RAM, the direct map of all RAM, and the
// kernel text map of [0, KERNEL_TEXT_MAP_SIZE) (bootproto.inc: 512 MiB).
inline constexpr std::uint64_t IDENTITY_MAP_MIN_BYTES = 0x100000000ull;  // 4 GiB

struct LayoutOptions {
    // Also fail unless the maps above are all present (`layout --require-maps`).
    bool require_handoff_maps = false;
};

// Walks the snapshot's page tables and checks them against the layout:
// mappings in holes fail, a direct map not at page_offset_base -> physical 0
// fails, a kernel text map not at KERNEL_TEXT_MAP -> physical 0 fails,
// writable+executable mappings are warnings.
LayoutReport check_layout(const Snapshot& snap, const LayoutOptions& options = {});
LayoutReport check_layout(const Snapshot& snap, const PageWalk& walk, const LayoutOptions& options = {});

}  // namespace bzcheck
