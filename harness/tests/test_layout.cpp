// The layout check: a correct hand-off map passes, holes and a misplaced
// direct map or kernel text map fail, W+X is a warning.
#include "snapshot_builder.h"

#include "regions.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace bzcheck;
using namespace bzcheck::testing;

namespace {
constexpr std::uint64_t P_RW = 3, PS = 0x80, NX = 1ull << 63;
constexpr std::uint64_t EXTRA_PDPT = 0x40000, EXTRA_PD = 0x41000;

std::size_t count(const LayoutReport& r, Severity s) {
    return static_cast<std::size_t>(
        std::count_if(r.findings.begin(), r.findings.end(), [&](const LayoutFinding& f) { return f.severity == s; }));
}

// Adds a 1 GiB page at PML4 index pml4, PDPT index pdpt -> phys.
void map_1g(Snapshot& snap, std::uint64_t pml4, std::uint64_t pdpt, std::uint64_t phys, std::uint64_t flags = P_RW | PS | NX) {
    poke64(snap, PML4_ADDR + pml4 * 8, EXTRA_PDPT | P_RW);
    poke64(snap, EXTRA_PDPT + pdpt * 8, phys | flags);
}
}  // namespace

TEST_CASE("the regions tables cover the address space in order", "[layout]") {
    for (int levels : {4, 5}) {
        const auto& table = layout_for(levels);
        CHECK(table.front().start == 0);
        CHECK(table.back().last == ~0ull);
        for (std::size_t i = 1; i < table.size(); ++i) CHECK(table[i].start == table[i - 1].last + 1);
    }
    CHECK(std::any_of(layout_5level().begin(), layout_5level().end(),
                      [](const Region& r) { return r.kind == RegionKind::direct_map && r.start == PAGE_OFFSET_BASE_5LEVEL; }));
}

TEST_CASE("a correct 4-level hand-off map passes with a W+X warning", "[layout]") {
    const LayoutReport report = check_layout(make_handoff64(make_inputs()));
    CHECK(report.paging);
    CHECK_FALSE(report.failed());
    REQUIRE(report.entries.size() == 1);
    CHECK(report.entries[0].region->kind == RegionKind::user);
    CHECK(count(report, Severity::warning) == 1);
}

TEST_CASE("a mapping in a hole fails", "[layout]") {
    Snapshot snap = make_handoff64(make_inputs());
    map_1g(snap, 257, 0, 0);  // 0xffff808000000000: the guard hole
    const LayoutReport report = check_layout(snap);
    CHECK(report.failed());
}

TEST_CASE("the direct map must map page_offset_base to physical 0", "[layout]") {
    Snapshot snap = make_handoff64(make_inputs());
    // 0xffff888000000000 = PML4 index 273, PDPT index 0.
    SECTION("right") {
        map_1g(snap, 273, 0, 0);
        CHECK_FALSE(check_layout(snap).failed());
    }
    SECTION("wrong physical start") {
        map_1g(snap, 273, 0, 0x40000000);
        CHECK(check_layout(snap).failed());
    }
    SECTION("wrong virtual start") {
        map_1g(snap, 273, 1, 0);
        CHECK(check_layout(snap).failed());
    }
}

TEST_CASE("the kernel text map must map 0xffffffff80000000 to physical 0", "[layout]") {
    Snapshot snap = make_handoff64(make_inputs());
    poke64(snap, PML4_ADDR + 511 * 8, EXTRA_PDPT | P_RW);
    poke64(snap, EXTRA_PDPT + 510 * 8, EXTRA_PD | P_RW);
    SECTION("right") {
        poke64(snap, EXTRA_PD, 0 | P_RW | PS | NX);
        CHECK_FALSE(check_layout(snap).failed());
    }
    SECTION("shifted") {
        poke64(snap, EXTRA_PD, PAGE_2M | P_RW | PS | NX);
        CHECK(check_layout(snap).failed());
    }
}

TEST_CASE("paging off: nothing to walk, no failure", "[layout]") {
    const LayoutReport report = check_layout(make_handoff16(make_inputs()));
    CHECK_FALSE(report.paging);
    CHECK_FALSE(report.failed());
}
