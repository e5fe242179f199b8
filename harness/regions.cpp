// regions.cpp - mm.rst's tables, declared once as data (as the document writes them; a
// unit test checks them against bootproto.inc's bases), and the layout check.
#include "regions.h"

#include "bootproto.h"

#include <fmt/format.h>

#include <algorithm>

namespace bzcheck {
namespace bp = bootproto;
namespace {
constexpr std::uint64_t TOP = ~0ull;
using K = RegionKind;
}  // namespace

// "Complete virtual memory map with 4-level page tables"
const std::vector<Region>& layout_4level() {
    static const std::vector<Region> table = {
        {0x0000000000000000, 0x00007fffffffffff, K::user, "user-space virtual memory", RegionId::user},
        {0x0000800000000000, 0xffff7fffffffffff, K::hole, "non-canonical hole"},
        {0xffff800000000000, 0xffff87ffffffffff, K::hole, "guard hole, reserved for hypervisor"},
        {0xffff880000000000, 0xffff887fffffffff, K::other, "LDT remap for PTI", RegionId::ldt_remap},
        {0xffff888000000000, 0xffffc87fffffffff, K::direct_map, "direct mapping of all physical memory",
         RegionId::direct_map},
        {0xffffc88000000000, 0xffffc8ffffffffff, K::hole, "unused hole"},
        {0xffffc90000000000, 0xffffe8ffffffffff, K::other, "vmalloc/ioremap space", RegionId::vmalloc},
        {0xffffe90000000000, 0xffffe9ffffffffff, K::hole, "unused hole"},
        {0xffffea0000000000, 0xffffeaffffffffff, K::other, "virtual memory map (vmemmap)", RegionId::vmemmap},
        {0xffffeb0000000000, 0xffffebffffffffff, K::hole, "unused hole"},
        {0xffffec0000000000, 0xfffffbffffffffff, K::other, "KASAN shadow memory", RegionId::kasan},
        // Identical to the 5-level table from here on.
        {0xfffffc0000000000, 0xfffffdffffffffff, K::hole, "unused hole"},
        {0xfffffe0000000000, 0xfffffe7fffffffff, K::other, "cpu_entry_area mapping", RegionId::cpu_entry_area},
        {0xfffffe8000000000, 0xfffffeffffffffff, K::hole, "unused hole"},
        {0xffffff0000000000, 0xffffff7fffffffff, K::other, "%esp fixup stacks", RegionId::espfix},
        {0xffffff8000000000, 0xffffffeeffffffff, K::hole, "unused hole"},
        {0xffffffef00000000, 0xfffffffeffffffff, K::other, "EFI region mapping space", RegionId::efi},
        {0xffffffff00000000, 0xffffffff7fffffff, K::hole, "unused hole"},
        {bp::KERNEL_TEXT_MAP, 0xffffffff9fffffff, K::kernel_text, "kernel text mapping", RegionId::kernel_text},
        {0xffffffffa0000000, 0xfffffffffeffffff, K::other, "module mapping space", RegionId::modules},
        {0xffffffffff000000, 0xffffffffff5fffff, K::other, "kernel-internal fixmap range", RegionId::fixmap},
        {0xffffffffff600000, 0xffffffffff600fff, K::other, "legacy vsyscall ABI", RegionId::vsyscall},
        {0xffffffffff601000, 0xffffffffffdfffff, K::hole, "undocumented (fixmap end to -2 MB)"},
        {0xffffffffffe00000, TOP, K::hole, "unused hole"},
    };
    return table;
}

// "Complete virtual memory map with 5-level page tables"
const std::vector<Region>& layout_5level() {
    static const std::vector<Region> table = [] {
        std::vector<Region> t = {
            {0x0000000000000000, 0x00fffffffffff000 - 1, K::user, "user-space virtual memory", RegionId::user},
            {0x00fffffffffff000, 0x00ffffffffffffff, K::hole, "guard hole"},
            {0x0100000000000000, 0xfeffffffffffffff, K::hole, "non-canonical hole"},
            {0xff00000000000000, 0xff0fffffffffffff, K::hole, "guard hole, reserved for hypervisor"},
            {0xff10000000000000, 0xff10ffffffffffff, K::other, "LDT remap for PTI", RegionId::ldt_remap},
            {0xff11000000000000, 0xff90ffffffffffff, K::direct_map, "direct mapping of all physical memory",
             RegionId::direct_map},
            {0xff91000000000000, 0xff9fffffffffffff, K::hole, "unused hole"},
            {0xffa0000000000000, 0xffd1ffffffffffff, K::other, "vmalloc/ioremap space", RegionId::vmalloc},
            {0xffd2000000000000, 0xffd3ffffffffffff, K::hole, "unused hole"},
            {0xffd4000000000000, 0xffd5ffffffffffff, K::other, "virtual memory map (vmemmap)", RegionId::vmemmap},
            {0xffd6000000000000, 0xffdeffffffffffff, K::hole, "unused hole"},
            {0xffdf000000000000, 0xfffffbffffffffff, K::other, "KASAN shadow memory", RegionId::kasan},
        };
        const auto& common = layout_4level();
        const auto shared =
            std::find_if(common.begin(), common.end(), [](const Region& r) { return r.start == 0xfffffc0000000000; });
        t.insert(t.end(), shared, common.end());
        return t;
    }();
    return table;
}

const std::vector<Region>& layout_for(int levels) { return levels == 5 ? layout_5level() : layout_4level(); }

const Region* find_region(const std::vector<Region>& table, RegionId id) {
    for (const Region& r : table)
        if (r.id == id) return &r;
    return nullptr;
}

const Region* region_at(const std::vector<Region>& table, std::uint64_t addr) {
    for (const Region& r : table)
        if (addr >= r.start && addr <= r.last) return &r;
    return nullptr;
}

std::uint64_t vmalloc_size(int levels) { return (levels == 5 ? 12800 : 32) * TB; }

std::uint64_t max_physmem(int levels) { return 1ull << (levels == 5 ? 52 : 46); }

bool LayoutReport::failed() const {
    return std::any_of(findings.begin(), findings.end(),
                       [](const LayoutFinding& f) { return f.severity == Severity::fail; });
}

namespace {

const Region* region_of(const std::vector<Region>& table, std::uint64_t addr) {
    for (const Region& r : table)
        if (addr >= r.start && addr <= r.last) return &r;
    return nullptr;  // unreachable: the tables cover the whole space
}

// The mapping's last byte (inclusive), safe at the top of the space.
std::uint64_t last_byte(const Mapping& m) { return m.virt + (m.size - 1); }

void check_mapping(const Mapping& m, const std::vector<Region>& table, std::uint64_t page_offset_base,
                   LayoutReport& report) {
    for (const Region& r : table) {
        if (last_byte(m) < r.start || m.virt > r.last) continue;
        const std::uint64_t from = std::max(m.virt, r.start);
        const std::uint64_t phys_from = m.phys + (from - m.virt);
        switch (r.kind) {
            case K::hole:
                report.findings.push_back({Severity::fail,
                                           fmt::format("mapping {:#018x}-{:#018x} lies in a hole of the layout ({})",
                                                       m.virt, last_byte(m), r.name),
                                           {m.virt, m.phys}});
                break;
            case K::direct_map:
                if (from - page_offset_base != phys_from || from < page_offset_base)
                    report.findings.push_back({Severity::fail,
                                               fmt::format("direct map at {:#018x} maps physical {:#x}: expected "
                                                           "page_offset_base {:#x} + physical",
                                                           from, phys_from, page_offset_base),
                                               {from, phys_from}});
                break;
            case K::kernel_text:
                if (from - bp::KERNEL_TEXT_MAP != phys_from)
                    report.findings.push_back({Severity::fail,
                                               fmt::format("kernel text map at {:#018x} maps physical {:#x}: expected "
                                                           "{:#x} + physical",
                                                           from, phys_from, bp::KERNEL_TEXT_MAP),
                                               {from, phys_from}});
                break;
            case K::user:
            case K::other: break;
        }
    }
    if (m.attrs.writable && !m.attrs.no_execute)
        report.findings.push_back(
            {Severity::warning,
             fmt::format("mapping {:#018x}-{:#018x} is writable and executable", m.virt, last_byte(m)),
             {m.virt, m.phys}});
}

// One required map: [virt, virt+len) must translate to [phys, phys+len).
void require_map(const std::vector<Mapping>& mappings, const char* what, std::uint64_t virt, std::uint64_t phys,
                 std::uint64_t len, LayoutReport& report) {
    if (const auto missing = first_unmapped(mappings, virt, phys, len))
        report.findings.push_back({Severity::fail,
                                   fmt::format("{}: {:#018x} does not map physical {:#x} (required: {:#018x}-{:#018x} "
                                               "-> {:#x})",
                                               what, *missing, phys + (*missing - virt), virt, virt + (len - 1), phys),
                                   {*missing, phys + (*missing - virt)}});
    else
        report.findings.push_back({Severity::ok,
                                   fmt::format("{}: {:#018x}-{:#018x} -> {:#x}", what, virt, virt + (len - 1), phys),
                                   {virt, phys}});
}

// The hand-off maps of LayoutOptions::require_handoff_maps, over the RAM the
// snapshot holds.
void require_handoff_maps(const Snapshot& snap, const PageWalk& walk, std::uint64_t page_offset_base,
                          LayoutReport& report) {
    const auto& maps = walk.mappings;
    require_map(maps, "identity map of the low 4 GiB", 0, 0, IDENTITY_MAP_MIN_BYTES, report);
    for (const RamRange& range : snap.ram) {
        const std::uint64_t size = range.size();
        if (range.end() > IDENTITY_MAP_MIN_BYTES) {
            const std::uint64_t from = std::max(range.phys, IDENTITY_MAP_MIN_BYTES);
            require_map(maps, "identity map of RAM", from, from, range.end() - from, report);
        }
        require_map(maps, "direct map of RAM", page_offset_base + range.phys, range.phys, size, report);
    }
    require_map(maps, "kernel text map", bp::KERNEL_TEXT_MAP, 0, bp::KERNEL_TEXT_MAP_SIZE, report);
}

}  // namespace

LayoutReport check_layout(const Snapshot& snap, const PageWalk& walk, const LayoutOptions& options) {
    LayoutReport report;
    report.paging = true;
    report.levels = walk.levels;
    report.cr3 = snap.cpu.cr3;
    const auto& table = layout_for(walk.levels);
    const std::uint64_t page_offset_base = walk.levels == 5 ? bp::PAGE_OFFSET_5LEVEL : bp::PAGE_OFFSET_4LEVEL;
    for (const std::string& problem : walk.problems) report.findings.push_back({Severity::fail, problem, {}});
    for (const std::string& loop : walk.loops) report.findings.push_back({Severity::warning, loop, {}});
    if (walk.truncated)
        report.findings.push_back({Severity::fail, fmt::format("more than {} runs: walk truncated", MAX_MAPPINGS), {}});
    for (const Mapping& m : walk.mappings) {
        report.entries.push_back({m, region_of(table, m.virt)});
        check_mapping(m, table, page_offset_base, report);
    }
    if (options.require_handoff_maps) require_handoff_maps(snap, walk, page_offset_base, report);
    return report;
}

LayoutReport check_layout(const Snapshot& snap, const LayoutOptions& options) {
    const bool paging = (snap.cpu.cr0 & CR0_PG) && (snap.cpu.efer & EFER_LMA);
    if (!paging) {
        LayoutReport report;
        report.cr3 = snap.cpu.cr3;
        const char* why = (snap.cpu.cr0 & CR0_PG) ? "32-bit paging is not walked (long mode is off)"
                                                  : "paging is off (CR0.PG = 0): there are no page tables to walk";
        report.findings.push_back({options.require_handoff_maps ? Severity::fail : Severity::ok, why, {}});
        return report;
    }
    return check_layout(snap, walk_page_tables(snap), options);
}

}  // namespace bzcheck
