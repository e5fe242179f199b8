// The layout check: a correct hand-off map passes, holes and a misplaced
// direct map or kernel text map fail, W+X is a warning.
#include "bootproto.h"
#include "snapshot_builder.h"

#include "regions.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>

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
void map_1g(Snapshot& snap, std::uint64_t pml4, std::uint64_t pdpt, std::uint64_t phys,
            std::uint64_t flags = P_RW | PS | NX) {
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
    CHECK(std::any_of(layout_5level().begin(), layout_5level().end(), [](const Region& r) {
        return r.kind == RegionKind::direct_map && r.start == bootproto::PAGE_OFFSET_5LEVEL;
    }));
}

// The tables transcribe mm.rst; the loader's bases come from bootproto.inc: they agree.
TEST_CASE("mm.rst's direct map and kernel text start where bootproto.inc says", "[layout]") {
    for (auto [levels, page_offset] :
         {std::pair{4, bootproto::PAGE_OFFSET_4LEVEL}, std::pair{5, bootproto::PAGE_OFFSET_5LEVEL}}) {
        const auto& table = layout_for(levels);
        const auto direct =
            std::find_if(table.begin(), table.end(), [](const Region& r) { return r.kind == RegionKind::direct_map; });
        const auto text =
            std::find_if(table.begin(), table.end(), [](const Region& r) { return r.kind == RegionKind::kernel_text; });
        REQUIRE(direct != table.end());
        REQUIRE(text != table.end());
        CHECK(direct->start == page_offset);
        CHECK(text->start == bootproto::KERNEL_TEXT_MAP);
        CHECK(text->last + 1 - text->start == bootproto::KERNEL_TEXT_MAP_SIZE);
    }
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

namespace {
constexpr std::uint64_t TEXT_PDPT = 0x42000, HIGH_PML4 = 0x43000, SHORT_PDPT = 0x44000;  // free pages
constexpr unsigned DIRECT_MAP_SLOT = 273, TEXT_MAP_SLOT = 511, TEXT_PDPT_SLOT = 510;

// bzboot's full hand-off map in 1 GiB pages: identity of 4 GiB, the direct map
// sharing its PDPT, the text map in PDPT slot 510 of the last top-level slot.
Snapshot make_full_maps(bool la57) {
    Snapshot snap = make_handoff64(make_inputs(), la57);
    for (std::uint64_t gib = 0; gib < 4; ++gib) poke64(snap, EXTRA_PDPT + gib * 8, (gib * PAGE_1G) | P_RW | PS);
    poke64(snap, PML4_ADDR, EXTRA_PDPT | P_RW);
    poke64(snap, TEXT_PDPT + TEXT_PDPT_SLOT * 8, 0 | P_RW | PS);
    if (la57) {  // PML5[0] -> PML4 (identity), PML5[273] -> the same PML4, PML5[511] -> high PML4
        poke64(snap, PML5_ADDR + DIRECT_MAP_SLOT * 8, PML4_ADDR | P_RW);
        poke64(snap, PML5_ADDR + TEXT_MAP_SLOT * 8, HIGH_PML4 | P_RW);
        poke64(snap, HIGH_PML4 + TEXT_MAP_SLOT * 8, TEXT_PDPT | P_RW);
    } else {
        poke64(snap, PML4_ADDR + DIRECT_MAP_SLOT * 8, EXTRA_PDPT | P_RW);
        poke64(snap, PML4_ADDR + TEXT_MAP_SLOT * 8, TEXT_PDPT | P_RW);
    }
    return snap;
}

bool has_failure(const LayoutReport& r, const std::string& text) {
    return std::any_of(r.findings.begin(), r.findings.end(), [&](const LayoutFinding& f) {
        return f.severity == Severity::fail && f.message.find(text) != std::string::npos;
    });
}

const LayoutOptions REQUIRE_MAPS{true};
}  // namespace

TEST_CASE("required maps: identity, direct map and text map must all be there", "[layout]") {
    const bool la57 = GENERATE(false, true);
    INFO("la57 " << la57);
    {
        Snapshot snap = make_full_maps(la57);
        const LayoutReport good = check_layout(snap, REQUIRE_MAPS);
        CHECK_FALSE(good.failed());
        CHECK(count(good, Severity::ok) == 1 + 2 + 1);        // low 4 GiB, direct map of 2 RAM ranges, text
        CHECK(count(check_layout(snap), Severity::ok) == 0);  // only asked for

        SECTION("the identity map ends at 1 GiB") {
            poke64(snap, EXTRA_PDPT + 1 * 8, 0);
            const LayoutReport r = check_layout(snap, REQUIRE_MAPS);
            CHECK(has_failure(r, "identity map of the low 4 GiB: 0x0000000040000000"));
        }
        SECTION("no direct map") {
            const std::uint64_t top = la57 ? PML5_ADDR : PML4_ADDR;
            poke64(snap, top + DIRECT_MAP_SLOT * 8, 0);
            const LayoutReport r = check_layout(snap, REQUIRE_MAPS);
            CHECK(has_failure(r, "direct map of RAM"));
            CHECK_FALSE(has_failure(r, "identity"));
        }
        SECTION("the direct map stops inside RAM") {
            // A separate PDPT whose first GiB is 2 MiB pages for only the first 16 MiB.
            const std::uint64_t top = la57 ? HIGH_PML4 : PML4_ADDR;
            if (la57) poke64(snap, PML5_ADDR + DIRECT_MAP_SLOT * 8, HIGH_PML4 | P_RW);
            poke64(snap, top + (la57 ? 0 : DIRECT_MAP_SLOT) * 8, SHORT_PDPT | P_RW);
            poke64(snap, SHORT_PDPT, EXTRA_PD | P_RW);
            for (std::uint64_t i = 0; i < 8; ++i) poke64(snap, EXTRA_PD + i * 8, (i * PAGE_2M) | P_RW | PS);
            const LayoutReport r = check_layout(snap, REQUIRE_MAPS);
            const std::uint64_t base = la57 ? bootproto::PAGE_OFFSET_5LEVEL : bootproto::PAGE_OFFSET_4LEVEL;
            CHECK(has_failure(r, fmt::format("direct map of RAM: {:#018x}", base + 8 * PAGE_2M)));
        }
        SECTION("no kernel text map") {
            poke64(snap, TEXT_PDPT + TEXT_PDPT_SLOT * 8, 0);
            CHECK(has_failure(check_layout(snap, REQUIRE_MAPS), "kernel text map"));
        }
    }
}

TEST_CASE("required maps fail when paging is off", "[layout]") {
    CHECK(check_layout(make_handoff16(make_inputs()), REQUIRE_MAPS).failed());
}

TEST_CASE("paging off: nothing to walk, no failure", "[layout]") {
    const LayoutReport report = check_layout(make_handoff16(make_inputs()));
    CHECK_FALSE(report.paging);
    CHECK_FALSE(report.failed());
}
