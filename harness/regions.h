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

struct Region {
    std::uint64_t start;
    std::uint64_t last;  // inclusive, as mm.rst writes it
    RegionKind kind;
    const char* name;
};

// Tables for 4-level (48-bit) and 5-level (57-bit) paging, ascending, covering
// the whole 64-bit space.
const std::vector<Region>& layout_4level();
const std::vector<Region>& layout_5level();
const std::vector<Region>& layout_for(int levels);

// The documented bases (without KASLR) are bootproto.inc's PAGE_OFFSET_4LEVEL,
// PAGE_OFFSET_5LEVEL (page_offset_base) and KERNEL_TEXT_MAP (__START_KERNEL_map).

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
