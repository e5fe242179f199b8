// The page walker: 4- and 5-level, 1 GiB / 2 MiB / 4 KiB pages, non-present
// entries, effective attributes, merging, and tables that point at themselves.
#include "snapshot_builder.h"

#include "pagewalk.h"

#include <catch2/catch.hpp>

using namespace bzcheck;
using namespace bzcheck::testing;

namespace {
constexpr std::uint64_t P = 1, RW = 2, US = 4, PS = 0x80, NX = 1ull << 63;
constexpr std::uint64_t ROOT = 0x10000, L3 = 0x11000, L2 = 0x12000, L1 = 0x13000, ROOT5 = 0x14000;

void entry(Snapshot& snap, std::uint64_t table, std::uint64_t index, std::uint64_t value) {
    poke64(snap, table + index * 8, value);
}

const Mapping* find(const PageWalk& walk, std::uint64_t virt) {
    for (const Mapping& m : walk.mappings)
        if (m.virt <= virt && virt - m.virt < m.size) return &m;
    return nullptr;
}
}  // namespace

TEST_CASE("4 KiB, 2 MiB and 1 GiB pages with effective attributes", "[pagewalk]") {
    Snapshot snap = empty_machine();
    entry(snap, ROOT, 0, L3 | P | RW | US);
    entry(snap, L3, 1, 0x40000000 | P | RW | PS);     // 1 GiB at 1 GiB, supervisor
    entry(snap, L3, 0, L2 | P | US);                  // read-only above the PD
    entry(snap, L2, 1, 0x200000 | P | RW | US | PS);  // 2 MiB at 2 MiB
    entry(snap, L2, 0, L1 | P | RW | US | NX);
    entry(snap, L1, 5, 0x5000 | P | RW | US);
    entry(snap, L1, 6, 0);            // not present
    entry(snap, L1, 7, 0x9000 | RW);  // not present either (P clear)
    const PageWalk walk = walk_page_tables(snap, ROOT, false);
    CHECK(walk.levels == 4);
    CHECK(walk.problems.empty());
    REQUIRE(walk.mappings.size() == 3);

    const Mapping* small = find(walk, 0x5000);
    REQUIRE(small);
    CHECK(small->page_size == PAGE_4K);
    CHECK(small->phys == 0x5000);
    CHECK_FALSE(small->attrs.writable);  // the PDPT entry is read-only
    CHECK(small->attrs.user);
    CHECK(small->attrs.no_execute);  // NX in the PD entry
    CHECK(find(walk, 0x6000) == nullptr);
    CHECK(find(walk, 0x7000) == nullptr);

    const Mapping* large = find(walk, 0x200000);
    REQUIRE(large);
    CHECK(large->page_size == PAGE_2M);
    CHECK_FALSE(large->attrs.no_execute);

    const Mapping* huge = find(walk, 0x40000000);
    REQUIRE(huge);
    CHECK(huge->page_size == PAGE_1G);
    CHECK(huge->phys == 0x40000000);
    CHECK(huge->attrs.writable);
    CHECK_FALSE(huge->attrs.user);
    CHECK(walk.table_pages.size() == 4);
}

TEST_CASE("runs merge when contiguous with equal attributes", "[pagewalk]") {
    Snapshot snap = empty_machine();
    entry(snap, ROOT, 0, L3 | P | RW);
    entry(snap, L3, 0, L2 | P | RW);
    for (std::uint64_t i = 0; i < 4; ++i) entry(snap, L2, i, (i * PAGE_2M) | P | RW | PS);
    entry(snap, L2, 4, (9 * PAGE_2M) | P | RW | PS);  // physical discontinuity
    entry(snap, L2, 5, (10 * PAGE_2M) | P | PS);      // attribute change
    const PageWalk walk = walk_page_tables(snap, ROOT, false);
    REQUIRE(walk.mappings.size() == 3);
    CHECK(walk.mappings[0].size == 4 * PAGE_2M);
    CHECK(walk.mappings[1].phys == 9 * PAGE_2M);
    CHECK_FALSE(walk.mappings[2].attrs.writable);
    CHECK(identity_mapped(walk.mappings, 0, 4 * PAGE_2M));
    CHECK_FALSE(identity_mapped(walk.mappings, 0, 5 * PAGE_2M));
}

TEST_CASE("upper-half addresses are sign-extended (4 and 5 levels)", "[pagewalk]") {
    Snapshot snap = empty_machine();
    entry(snap, ROOT, 511, L3 | P | RW);
    entry(snap, L3, 510, L2 | P | RW);
    entry(snap, L2, 0, 0 | P | RW | PS);
    const PageWalk four = walk_page_tables(snap, ROOT, false);
    REQUIRE(four.mappings.size() == 1);
    CHECK(four.mappings[0].virt == 0xffffffff80000000ull);

    entry(snap, ROOT5, 511, ROOT | P | RW);
    const PageWalk five = walk_page_tables(snap, ROOT5, true);
    CHECK(five.levels == 5);
    REQUIRE(five.mappings.size() == 1);
    CHECK(five.mappings[0].virt == 0xffffffff80000000ull);

    CHECK(canonical(0x0000800000000000ull, 4) == 0xffff800000000000ull);
    CHECK(canonical(0x0000800000000000ull, 5) == 0x0000800000000000ull);
    CHECK(canonical(0x0100000000000000ull, 5) == 0xff00000000000000ull);
}

TEST_CASE("the 64-bit synthetic hand-off identity-maps 1 GiB in 4 and 5 levels", "[pagewalk]") {
    const VerifyInputs in = make_inputs();
    for (bool la57 : {false, true}) {
        const PageWalk walk = walk_page_tables(make_handoff64(in, la57));
        CHECK(walk.levels == (la57 ? 5 : 4));
        REQUIRE(walk.mappings.size() == 1);
        CHECK(walk.mappings[0].virt == 0);
        CHECK(walk.mappings[0].size == PAGE_1G);
    }
}

TEST_CASE("tables that point at themselves terminate", "[pagewalk]") {
    Snapshot snap = empty_machine();
    SECTION("one self-reference") {
        entry(snap, ROOT, 0, ROOT | P | RW);
        const PageWalk walk = walk_page_tables(snap, ROOT, false);
        CHECK_FALSE(walk.loops.empty());
        // PML4 used as PDPT, PD and PT: the PT maps its own page at virtual 0.
        REQUIRE_FALSE(walk.mappings.empty());
        CHECK(walk.mappings[0].phys == ROOT);
    }
    SECTION("every entry points back: bounded output") {
        for (std::uint64_t i = 0; i < 512; ++i) entry(snap, ROOT, i, ROOT | P | RW);
        const PageWalk walk = walk_page_tables(snap, ROOT, true);
        CHECK(walk.truncated);
        CHECK(walk.mappings.size() <= MAX_MAPPINGS + 1);
    }
}

TEST_CASE("tables outside RAM and reserved PS bits are reported", "[pagewalk]") {
    Snapshot snap = empty_machine();
    entry(snap, ROOT, 0, 0x40000000 | P | RW);  // beyond the 32 MiB of RAM
    entry(snap, ROOT, 1, L3 | P | RW | PS);     // PS is reserved in a PML4 entry
    const PageWalk walk = walk_page_tables(snap, ROOT, false);
    CHECK(walk.problems.size() == 2);
    CHECK(walk.mappings.empty());
}
