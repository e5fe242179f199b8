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

// --- a running kernel (issue 12): the miniature kernel of snapshot_builder --------

#include "kernel_layout.h"

namespace {
KernelLayoutInputs mini_inputs(const MiniKernel& k, bool with_map = true, bool with_config = true) {
    KernelLayoutInputs in;
    if (with_map) in.system_map = parse_system_map(k.system_map);
    if (with_config) in.config = parse_kernel_config(k.config);
    in.kernel_version = MINI_VERSION;
    return in;
}

const KernelCheck& check(const KernelLayoutReport& r, const std::string& name) {
    for (const KernelCheck& c : r.checks)
        if (c.name == name) return c;
    FAIL("no check " << name);
    throw std::logic_error("unreachable");
}

bool mentions(const KernelCheck& c, const std::string& text) {
    if (c.message.find(text) != std::string::npos) return true;
    return std::any_of(c.details.begin(), c.details.end(),
                       [&](const std::string& d) { return d.find(text) != std::string::npos; });
}

bool has_address(const KernelCheck& c, std::uint64_t a) {
    return std::find(c.addresses.begin(), c.addresses.end(), a) != c.addresses.end();
}
}  // namespace

TEST_CASE("running kernel: the miniature kernel passes, bases and slide read from memory", "[layout][running]") {
    const MiniKernel k = make_mini_kernel();
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k));
    for (const KernelCheck& c : r.checks) INFO(c.id << " " << c.name << ": " << c.message);
    CHECK_FALSE(r.failed());
    CHECK(r.levels == 4);
    CHECK(r.running_note);
    REQUIRE(r.slide);
    CHECK(*r.slide == static_cast<std::int64_t>(MINI_SLIDE));
    REQUIRE(r.bases.size() == 3);
    CHECK(r.bases[0].symbol == "page_offset_base");
    CHECK(r.bases[0].value == MINI_PAGE_OFFSET);
    CHECK(r.bases[0].from_memory);
    CHECK(r.bases[2].value == MINI_VMEMMAP);
    CHECK(r.banner.rfind("Linux version 6.1.0-mini ", 0) == 0);
    CHECK(r.cmdline == "console=ttyS0 bzboot.hold");
    CHECK(check(r, "direct-map-covers-ram").status == CheckStatus::pass);
    CHECK(check(r, "kernel-text-ro-x").status == CheckStatus::pass);
    // The trampoline's text is the named exception; vmemmap landed in a documented hole.
    CHECK(check(r, "direct-map-nx").status == CheckStatus::note);
    CHECK(mentions(check(r, "direct-map-nx"), "real-mode trampoline"));
    CHECK(check(r, "holes-empty").status == CheckStatus::note);
    CHECK(mentions(check(r, "holes-empty"), "\"unused hole\""));
    CHECK(check(r, "espfix").status == CheckStatus::pass);
    CHECK(mentions(check(r, "espfix"), "CONFIG_X86_16BIT not set"));
    CHECK(check(r, "kernel-image-map").status == CheckStatus::pass);
    // vmemmap's summary names the documented slot its base landed in.
    const auto vmemmap = std::find_if(r.summaries.begin(), r.summaries.end(),
                                      [&](const RegionSummary& s) { return r.regions[s.region].id == RegionId::vmemmap; });
    REQUIRE(vmemmap != r.summaries.end());
    CHECK(vmemmap->landed_in == "unused hole");
    CHECK(vmemmap->mapped_bytes == PAGE_2M);
}

TEST_CASE("running kernel: a writable and executable kernel page fails no-wx and kernel-data-nx", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    map_page(k, MINI_DATA, MINI_IMAGE_PHYS + 0x400000, PTE_P | PTE_RW | PTE_G | PTE_LARGE);  // data without NX
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k));
    CHECK(r.failed());
    CHECK(check(r, "no-wx").status == CheckStatus::fail);
    CHECK(has_address(check(r, "no-wx"), MINI_DATA));
    CHECK(mentions(check(r, "no-wx"), "W+X"));
    CHECK(check(r, "kernel-data-nx").status == CheckStatus::fail);
    CHECK(check(r, "kernel-text-ro-x").status == CheckStatus::pass);
}

TEST_CASE("running kernel: a mapping in a documented hole fails", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    const std::uint64_t hole = 0xffffff8000000000;  // mm.rst: "... unused hole" after the %esp fixup stacks
    map_page(k, hole, 0x1c03000, PTE_P | PTE_G | PTE_NX);
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k));
    CHECK(r.failed());
    const KernelCheck& c = check(r, "holes-empty");
    CHECK(c.status == CheckStatus::fail);
    CHECK(has_address(c, hole));
    CHECK(mentions(c, "in mm.rst's \"unused hole\""));
}

TEST_CASE("running kernel: a populated espfix region fails without espfix64, passes with it", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    map_page(k, ESPFIX_BASE_ADDR, 0x1c04000, PTE_P | PTE_G | PTE_NX);  // one read-only stack page
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k));
    const KernelCheck& c = check(r, "espfix");
    CHECK(c.status == CheckStatus::fail);
    CHECK(mentions(c, "without espfix64 nothing maps it"));
    CHECK(mentions(c, "CONFIG_X86_ESPFIX64 absent (not set)"));
    CHECK(has_address(c, ESPFIX_BASE_ADDR));

    k.config += "CONFIG_X86_16BIT=y\nCONFIG_X86_ESPFIX64=y\n";
    const KernelLayoutReport with = check_kernel_layout(k.snap, mini_inputs(k));
    CHECK(check(with, "espfix").status == CheckStatus::pass);
    CHECK(mentions(check(with, "espfix"), "onto 1 physical page"));
    // espfix64 configured but nothing there: the stacks are missing.
    MiniKernel empty = make_mini_kernel();
    empty.config += "CONFIG_X86_16BIT=y\nCONFIG_X86_ESPFIX64=y\n";
    CHECK(check(check_kernel_layout(empty.snap, mini_inputs(empty)), "espfix").status == CheckStatus::fail);
}

TEST_CASE("running kernel: a System.map of another kernel is bad input", "[layout][running]") {
    const MiniKernel k = make_mini_kernel();
    KernelLayoutInputs in = mini_inputs(k);
    // Another build: linux_banner elsewhere.
    in.system_map->symbols["linux_banner"] += 0x40;
    CHECK_THROWS_WITH(check_kernel_layout(k.snap, in), Catch::Contains("a System.map of another kernel"));
    // Another build whose _text is not 2 MiB away from the mapped image.
    in = mini_inputs(k);
    in.system_map->symbols["_text"] += 0x100000;
    CHECK_THROWS_WITH(check_kernel_layout(k.snap, in), Catch::Contains("not a multiple of 2 MiB"));
    // The same banner place, but another version than the bzImage's.
    in = mini_inputs(k);
    in.kernel_version = "6.1.0-other (builder@bzcheck) #1 SMP PREEMPT_DYNAMIC bzcheck test";
    CHECK_THROWS_WITH(check_kernel_layout(k.snap, in), Catch::Contains("but the bzImage's version is"));
    // A Debian-named file for another release.
    in = mini_inputs(k);
    in.kernel_version.reset();
    in.system_map = parse_system_map(k.system_map, "/boot/System.map-6.1.0-other");
    CHECK_THROWS_WITH(check_kernel_layout(k.snap, in), Catch::Contains("the file is named for 6.1.0-other"));
    // Debian's stub.
    CHECK_THROWS_WITH(
        parse_system_map("ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"),
        Catch::Contains("a stub"));
}

TEST_CASE("running kernel: without System.map the checks that need it say unknown", "[layout][running]") {
    const MiniKernel k = make_mini_kernel();
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k, false, false));
    CHECK_FALSE(r.failed());
    CHECK_FALSE(r.slide);
    CHECK_FALSE(r.unknown.empty());
    CHECK(check(r, "direct-map-offset").status == CheckStatus::unknown);
    CHECK(check(r, "direct-map-covers-ram").status == CheckStatus::unknown);
    CHECK(check(r, "espfix").status == CheckStatus::unknown);
    CHECK(check(r, "no-wx").status == CheckStatus::pass);
    // The vmemmap page in mm.rst's "unused hole" inside KASLR's range cannot be judged.
    CHECK(check(r, "holes-empty").status == CheckStatus::unknown);
}

TEST_CASE("running kernel: E820 RAM missing from the direct map fails", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    poke64(k.snap, 0x40000 + 8 * ((MINI_PAGE_OFFSET >> 39) & 511), 0);  // drop the whole direct map
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k));
    // Its variables are read through the image, E820 through the direct map: now unreadable.
    CHECK(check(r, "direct-map-covers-ram").status == CheckStatus::unknown);
    MiniKernel hole = make_mini_kernel();
    map_page(hole, MINI_PAGE_OFFSET + 0x600000, 0, PTE_LARGE);  // one 2 MiB page of RAM not present
    const KernelLayoutReport holed = check_kernel_layout(hole.snap, mini_inputs(hole));
    const KernelCheck& c = check(holed, "direct-map-covers-ram");
    CHECK(c.status == CheckStatus::fail);
    CHECK(has_address(c, MINI_PAGE_OFFSET + 0x600000));
    CHECK(mentions(c, "not mapped"));
}

TEST_CASE("running kernel: CR3 at a PTI user copy walks the kernel's copy below it", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    // The user copy: only the user half (the kernel half of a real one maps the entry code).
    poke64(k.snap, MINI_PML4 + 0x1000, k.snap.u64(MINI_PML4).value_or(0));
    k.snap.cpu.cr3 = MINI_PML4 + 0x1000 + 5;  // PCID 5 with CR4.PCIDE
    k.snap.cpu.cr4 |= 1u << 17;
    k.snap.cpu.cs.selector = 0x33;  // stopped in user mode
    const KernelLayoutReport r = check_kernel_layout(k.snap, mini_inputs(k));
    CHECK(r.root == MINI_PML4);
    CHECK(r.tables.find("PTI user copy") != std::string::npos);
    CHECK(r.paging_mode.find("PCID 5") != std::string::npos);
    CHECK_FALSE(r.failed());
}

TEST_CASE("running kernel: tables against the paging mode are bad input", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    poke32(k.snap, MINI_IMAGE_PHYS + 0x400000 + 0x40, 1);  // __pgtable_l5_enabled = 1 under 4-level paging
    CHECK_THROWS_WITH(check_kernel_layout(k.snap, mini_inputs(k)), Catch::Contains("contradict the paging mode"));
    MiniKernel no_image = make_mini_kernel();
    poke64(no_image.snap, MINI_PML4 + 8 * 511, 0);  // no kernel image mapping
    CHECK_THROWS_WITH(check_kernel_layout(no_image.snap, mini_inputs(no_image)), Catch::Contains("no kernel image"));
    MiniKernel paging_off = make_mini_kernel();
    paging_off.snap.cpu.cr0 &= ~CR0_PG;
    CHECK_THROWS_WITH(check_kernel_layout(paging_off.snap, mini_inputs(paging_off)),
                      Catch::Contains("not a running 64-bit kernel"));
}

TEST_CASE("running kernel: the snapshot's note keeps \"stop\": \"running\"", "[layout][running]") {
    const MiniKernel k = make_mini_kernel();
    const Snapshot copy = parse_snapshot(serialize_snapshot(k.snap));
    CHECK(copy.running_kernel);
    Snapshot handoff = make_handoff64(make_inputs());
    CHECK_FALSE(parse_snapshot(serialize_snapshot(handoff)).running_kernel);
}

TEST_CASE("running kernel: the vsyscall page is user-readable only with vsyscall=emulate", "[layout][running]") {
    MiniKernel k = make_mini_kernel();
    map_page(k, VSYSCALL_ADDR, 0x1c05000, PTE_P | PTE_US | PTE_G | PTE_NX);
    const KernelLayoutReport none = check_kernel_layout(k.snap, mini_inputs(k));  // CONFIG_LEGACY_VSYSCALL_NONE
    CHECK(check(none, "no-user-kernel-pages").status == CheckStatus::fail);
    CHECK(has_address(check(none, "no-user-kernel-pages"), VSYSCALL_ADDR));
    poke_string(k.snap, MINI_IMAGE_PHYS + 0x400000 + 0x2000, "console=ttyS0 vsyscall=emulate");
    const KernelLayoutReport emulate = check_kernel_layout(k.snap, mini_inputs(k));
    CHECK(check(emulate, "no-user-kernel-pages").status == CheckStatus::note);
    CHECK(mentions(check(emulate, "no-user-kernel-pages"), "vsyscall= on the command line"));
    // Any other user page in kernel space fails whatever the mode.
    map_page(k, MINI_VMALLOC + PAGE_4K, 0x1c06000, PTE_P | PTE_US | PTE_G | PTE_NX);
    CHECK(check(check_kernel_layout(k.snap, mini_inputs(k)), "no-user-kernel-pages").status == CheckStatus::fail);
}
