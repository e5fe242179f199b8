// pagewalk.h - walks x86-64 page tables in a snapshot the way the CPU does.
//
// 4-level (CR4.LA57 clear) or 5-level paging; 1 GiB, 2 MiB and 4 KiB pages.
// Present leaves become Mappings with the effective attributes (RW and US are
// ANDed across levels, NX is ORed, PWT/PCD/G come from the leaf); consecutive
// mappings with equal attributes, equal page size and contiguous physical
// addresses are merged into one run, as the kernel's ptdump prints them.
#pragma once

#include "snapshot.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bzcheck {

struct PageAttrs {
    bool writable = false;
    bool user = false;
    bool no_execute = false;
    bool write_through = false;  // PWT
    bool cache_disable = false;  // PCD
    bool global = false;
    bool operator==(const PageAttrs& other) const;
    bool operator!=(const PageAttrs& other) const { return !(*this == other); }
    std::string describe() const;  // ptdump style, e.g. "RW x   GLB"
};

struct Mapping {
    std::uint64_t virt = 0;  // canonical (sign-extended) virtual address
    std::uint64_t phys = 0;
    std::uint64_t size = 0;       // bytes covered by the run
    std::uint64_t page_size = 0;  // 4 KiB, 2 MiB or 1 GiB
    PageAttrs attrs;
    std::uint64_t virt_end() const { return virt + size; }  // exclusive (0 at the top)
};

struct PageWalk {
    int levels = 4;
    std::vector<Mapping> mappings;           // merged runs, ascending virtual address
    std::vector<std::uint64_t> table_pages;  // physical addresses of every table reached
    std::vector<std::string> problems;       // tables outside RAM, reserved PS bits
    std::vector<std::string> loops;          // entries pointing back at a table on their own path
    bool truncated = false;                  // stopped at MAX_MAPPINGS runs
};

inline constexpr std::uint64_t PAGE_4K = 0x1000;
inline constexpr std::uint64_t PAGE_2M = 0x200000;
inline constexpr std::uint64_t PAGE_1G = 0x40000000;
// A hostile table (every entry pointing back at its own table) describes
// 512^levels pages; the walk stops after this many runs.
inline constexpr std::size_t MAX_MAPPINGS = 1u << 20;

// Walks the hierarchy rooted at cr3 (4 or 5 levels).
PageWalk walk_page_tables(const Snapshot& snap, std::uint64_t cr3, bool la57);
// Walks from the snapshot's own CR3 / CR4.LA57.
PageWalk walk_page_tables(const Snapshot& snap);

// Sign-extends a virtual address from bit 47 (4-level) or bit 56 (5-level).
std::uint64_t canonical(std::uint64_t virt, int levels);

// The first virtual address of [virt, virt+len) that is not mapped to
// phys + (address - virt), or nullopt when the whole range is.
std::optional<std::uint64_t> first_unmapped(const std::vector<Mapping>& mappings, std::uint64_t virt,
                                            std::uint64_t phys, std::uint64_t len);
// True when every byte of [start, start+len) is mapped with virtual == physical.
bool identity_mapped(const std::vector<Mapping>& mappings, std::uint64_t start, std::uint64_t len);

}  // namespace bzcheck
