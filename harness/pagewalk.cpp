// pagewalk.cpp - the page-table walker (see pagewalk.h).
#include "pagewalk.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace bzcheck {
namespace {

// Page-table entry bits (Intel SDM vol. 3, "4-Level Paging and 5-Level Paging").
constexpr std::uint64_t PTE_PRESENT = 1ull << 0;
constexpr std::uint64_t PTE_RW = 1ull << 1;
constexpr std::uint64_t PTE_USER = 1ull << 2;
constexpr std::uint64_t PTE_PWT = 1ull << 3;
constexpr std::uint64_t PTE_PCD = 1ull << 4;
constexpr std::uint64_t PTE_PS = 1ull << 7;
constexpr std::uint64_t PTE_GLOBAL = 1ull << 8;
constexpr std::uint64_t PTE_NX = 1ull << 63;
constexpr std::uint64_t PHYS_ADDR_MASK = 0x000ffffffffff000ull;  // bits 12..51
constexpr std::uint64_t CR3_ADDR_MASK = PHYS_ADDR_MASK;
constexpr std::uint64_t ENTRIES_PER_TABLE = 512;
constexpr std::uint64_t ENTRY_SIZE = 8;
constexpr int INDEX_BITS = 9;
constexpr int PAGE_SHIFT = 12;

// Level 1 = page table (4 KiB leaves), 2 = page directory (2 MiB leaves with
// PS), 3 = PDPT (1 GiB leaves with PS), 4 = PML4, 5 = PML5.
int shift_of_level(int level) { return PAGE_SHIFT + INDEX_BITS * (level - 1); }
bool level_allows_large_page(int level) { return level == 2 || level == 3; }
const char* level_name(int level) {
    static const char* names[] = {"", "PT", "PD", "PDPT", "PML4", "PML5"};
    return names[level];
}

// A run relative to the start of the subtree that produced it.
using Runs = std::vector<Mapping>;

// Appends m to runs, merging it into the last run when ptdump would.
void append_run(Runs& runs, const Mapping& m) {
    if (!runs.empty()) {
        Mapping& last = runs.back();
        if (last.virt + last.size == m.virt && last.phys + last.size == m.phys && last.attrs == m.attrs &&
            last.page_size == m.page_size) {
            last.size += m.size;
            return;
        }
    }
    runs.push_back(m);
}

class Walker {
public:
    Walker(const Snapshot& snap, PageWalk& out) : snap_(snap), out_(out) {}

    // Runs of the table at `table` (a level-`level` table) reached with the
    // inherited attributes `inherited`; virtual addresses relative to the
    // subtree start. Memoised: identical subtrees (and loops) are walked once.
    const Runs& walk(std::uint64_t table, int level, const PageAttrs& inherited) {
        const Key key{table, level, inherited.writable, inherited.user, inherited.no_execute};
        if (auto found = memo_.find(key); found != memo_.end()) return found->second;
        Runs runs;
        note_table(table, level);
        const auto entries = snap_.read_phys(table, ENTRIES_PER_TABLE * ENTRY_SIZE);
        if (!entries) {
            out_.problems.push_back(fmt::format("{} table at {:#x} lies outside RAM", level_name(level), table));
            return memo_.emplace(key, std::move(runs)).first->second;
        }
        on_path_.push_back(table);
        const std::uint64_t span = 1ull << shift_of_level(level);
        for (std::uint64_t index = 0; index < ENTRIES_PER_TABLE && runs.size() < MAX_MAPPINGS; ++index) {
            std::uint64_t entry = 0;
            for (std::uint64_t b = 0; b < ENTRY_SIZE; ++b)
                entry |= std::uint64_t((*entries)[index * ENTRY_SIZE + b]) << (8 * b);
            if (!(entry & PTE_PRESENT)) continue;
            const PageAttrs attrs = combine(inherited, entry);
            const std::uint64_t offset = index * span;
            const bool leaf = level == 1 || (level_allows_large_page(level) && (entry & PTE_PS));
            if (leaf) {
                const std::uint64_t frame_mask = PHYS_ADDR_MASK & ~(span - 1);
                append_run(runs, Mapping{offset, entry & frame_mask, span, span, attrs});
                continue;
            }
            if (entry & PTE_PS) {
                out_.problems.push_back(fmt::format("{} entry {} of table {:#x} sets the reserved PS bit",
                                                    level_name(level), index, table));
                continue;
            }
            const std::uint64_t child = entry & PHYS_ADDR_MASK;
            if (std::find(on_path_.begin(), on_path_.end(), child) != on_path_.end())
                out_.loops.push_back(fmt::format("{} entry {} of table {:#x} points back at table {:#x} (loop)",
                                                 level_name(level), index, table, child));
            for (Mapping sub : walk(child, level - 1, attrs)) {
                if (runs.size() >= MAX_MAPPINGS) break;
                sub.virt += offset;
                append_run(runs, sub);
            }
        }
        if (runs.size() >= MAX_MAPPINGS) out_.truncated = true;
        on_path_.pop_back();
        return memo_.emplace(key, std::move(runs)).first->second;
    }

private:
    using Key = std::tuple<std::uint64_t, int, bool, bool, bool>;

    // RW and US must be allowed at every level; NX at any level forbids execution.
    static PageAttrs combine(const PageAttrs& inherited, std::uint64_t entry) {
        PageAttrs attrs;
        attrs.writable = inherited.writable && (entry & PTE_RW);
        attrs.user = inherited.user && (entry & PTE_USER);
        attrs.no_execute = inherited.no_execute || (entry & PTE_NX);
        attrs.write_through = entry & PTE_PWT;
        attrs.cache_disable = entry & PTE_PCD;
        attrs.global = entry & PTE_GLOBAL;
        return attrs;
    }

    void note_table(std::uint64_t table, int level) {
        (void)level;
        if (std::find(out_.table_pages.begin(), out_.table_pages.end(), table) == out_.table_pages.end())
            out_.table_pages.push_back(table);
    }

    const Snapshot& snap_;
    PageWalk& out_;
    std::map<Key, Runs> memo_;
    std::vector<std::uint64_t> on_path_;
};

}  // namespace

bool PageAttrs::operator==(const PageAttrs& o) const {
    return writable == o.writable && user == o.user && no_execute == o.no_execute && write_through == o.write_through &&
           cache_disable == o.cache_disable && global == o.global;
}

std::string PageAttrs::describe() const {
    return fmt::format("{} {} {} {} {} {}", user ? "USR" : "   ", writable ? "RW" : "ro", write_through ? "PWT" : "   ",
                       cache_disable ? "PCD" : "   ", global ? "GLB" : "   ", no_execute ? "NX" : "x ");
}

std::uint64_t canonical(std::uint64_t virt, int levels) {
    const int top_bit = shift_of_level(levels) + INDEX_BITS - 1;  // 47 or 56
    const std::uint64_t sign = 1ull << top_bit;
    const std::uint64_t low = virt & ((sign << 1) - 1);
    return (low & sign) ? (low | ~((sign << 1) - 1)) : low;
}

PageWalk walk_page_tables(const Snapshot& snap, std::uint64_t cr3, bool la57) {
    PageWalk result;
    result.levels = la57 ? 5 : 4;
    Walker walker(snap, result);
    const PageAttrs everything{true, true, false, false, false, false};
    const Runs& runs = walker.walk(cr3 & CR3_ADDR_MASK, result.levels, everything);
    // Sign extension can split a run that crosses into the upper half.
    for (Mapping m : runs) {
        const std::uint64_t upper_half = 1ull << (shift_of_level(result.levels) + INDEX_BITS - 1);
        if (m.virt < upper_half && m.virt + m.size > upper_half) {
            Mapping high = m;
            high.virt = upper_half;
            high.phys = m.phys + (upper_half - m.virt);
            high.size = m.virt + m.size - upper_half;
            m.size = upper_half - m.virt;
            result.mappings.push_back(m);
            m = high;
        }
        m.virt = canonical(m.virt, result.levels);
        result.mappings.push_back(m);
    }
    return result;
}

PageWalk walk_page_tables(const Snapshot& snap) {
    return walk_page_tables(snap, snap.cpu.cr3, (snap.cpu.cr4 & CR4_LA57) != 0);
}

std::optional<std::uint64_t> first_unmapped(const std::vector<Mapping>& mappings, std::uint64_t virt,
                                            std::uint64_t phys, std::uint64_t len) {
    std::uint64_t cursor = virt;
    const std::uint64_t end = virt + len;  // 0: up to the top of the address space
    if (len == 0) return std::nullopt;
    if (end != 0 && end < virt) return virt;
    do {
        const auto holder = std::find_if(mappings.begin(), mappings.end(), [&](const Mapping& m) {
            return m.virt <= cursor && cursor - m.virt < m.size;
        });
        if (holder == mappings.end() || holder->phys + (cursor - holder->virt) != phys + (cursor - virt)) return cursor;
        cursor = holder->virt + holder->size;
        if (cursor == 0) return std::nullopt;  // run reaches the top of the address space
    } while (cursor < end || end == 0);
    return std::nullopt;
}

bool identity_mapped(const std::vector<Mapping>& mappings, std::uint64_t start, std::uint64_t len) {
    return !first_unmapped(mappings, start, start, len);
}

}  // namespace bzcheck
