// `verify --map`'s picture: every object of a synthetic hand-off on its line with
// its exact addresses, highest first, the gaps between them, and each complaining
// rule's mark on the object its addresses name.
#include "bootproto.h"
#include "placement_map.h"
#include "snapshot_builder.h"

#include <catch2/catch.hpp>

#include <sstream>

using namespace bzcheck;
using namespace bzcheck::testing;
namespace bp = bootproto;

namespace {

// The map of snap, with the marks of `results` (none: the placement alone).
std::string map_of(const Snapshot& snap, const std::vector<RuleResult>& results = {}) {
    return placement_map(analyse(snap, inputs()), results);
}
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}
// The first line from `from` on that contains `text`.
std::size_t line_with(const std::vector<std::string>& lines, const std::string& text, std::size_t from = 0) {
    for (std::size_t i = from; i < lines.size(); ++i)
        if (lines[i].find(text) != std::string::npos) return i;
    FAIL("no line contains \"" << text << "\"");
    return lines.size();
}
// A box's line as the map draws it: the label left in 30 columns, the size right in 10.
std::string box(const std::string& label, const std::string& size) {
    return "| " + label + std::string(30 - label.size(), ' ') + " " + std::string(10 - size.size(), ' ') + size + " |";
}
// Each text on a line of its own, in this order, top to bottom.
void check_in_order(const std::string& map, const std::vector<std::string>& texts) {
    INFO(map);
    const auto lines = lines_of(map);
    std::size_t at = 0;
    for (const std::string& text : texts) at = line_with(lines, text, at) + 1;
}
// The ladder under `title` ("low megabyte:" or "above 1 MiB:"), up to the next blank line.
std::string ladder(const std::string& map, const std::string& title) {
    const auto start = map.find(title + "\n");
    REQUIRE(start != std::string::npos);
    const auto body = start + title.size() + 1;
    return map.substr(body, map.find("\n\n", body) - body + 1);
}
RuleResult result(const std::string& id, Status status, std::vector<std::uint64_t> addresses) {
    RuleResult r;
    r.id = id;
    r.status = status;
    r.addresses = std::move(addresses);
    return r;
}
// "R05 FAIL": how the map marks the result of rule id.
std::string mark_of(const std::vector<RuleResult>& results, const std::string& id) {
    for (const RuleResult& r : results)
        if (r.id == id) return r.id + " " + status_name(r.status);
    FAIL("no result for " << id);
    return "";
}
}  // namespace

TEST_CASE("map: GRUB linux16's low megabyte, boundary by boundary as boot.rst draws it", "[map]") {
    CHECK(ladder(map_of(grub_linux16(inputs())), "low megabyte:") ==
          "0x00100000 +-------------------------------------------+\n"
          "           | ROMs and system BIOS              256 KiB |\n"
          "0x000c0000 +-------------------------------------------+\n"
          "           | VGA memory                        128 KiB |\n"
          "0x000a0000 +-------------------------------------------+\n"
          "           | EBDA                                1 KiB |\n"
          "0x0009fc00 +-------------------------------------------+\n"
          "           | (free, 26.9 KiB)                          |\n"
          "0x0009901d +-------------------------------------------+\n"
          "           | command line                         29 B |\n"
          "0x00099000 +-------------------------------------------+ <- SS:SP 9000:9000\n"
          "           | stack/heap                       33.5 KiB |\n"
          "0x00090a00 +-------------------------------------------+\n"
          "           | real-mode setup                   2.5 KiB |\n"
          "0x00090000 +-------------------------------------------+ <- X\n"
          "           | (free, 572 KiB)                           |\n"
          "0x00001000 +-------------------------------------------+\n"
          "           | reserved (MBR/BIOS)               2.7 KiB |\n"
          "0x00000500 +-------------------------------------------+\n"
          "           | IVT + BIOS data area              1.2 KiB |\n"
          "0x00000000 +-------------------------------------------+\n");
}

TEST_CASE("map: bzboot's 16-bit layout, SS:SP inside the stack/heap on a line of its own", "[map]") {
    const std::string map = map_of(make_handoff16(inputs()));
    check_in_order(map,
                   {"low megabyte:", "0x0009fc00 +", "| (free, 510.9 KiB)", "0x0002001d +", box("command line", "29 B"),
                    "0x00020000 +", "0x0001fe00 | . . .", box("stack/heap", "61.5 KiB"), "0x00010a00 +",
                    box("real-mode setup", "2.5 KiB"), "0x00010000 +", "| (free, 60 KiB)", "0x00001000 +"});
    const auto lines = lines_of(map);
    CHECK(lines[line_with(lines, "0x0001fe00 |")].find(". | <- SS:SP 1000:fe00") != std::string::npos);
    CHECK(lines[line_with(lines, "0x00010000 +")].find("-+ <- X") != std::string::npos);
}

TEST_CASE("map: a 64-bit hand-off: boot_params, command line, page tables, then the kernel above 1 MiB", "[map]") {
    const std::string map = map_of(make_handoff64(inputs()));
    CHECK(map.rfind("placement at the 64-bit hand-off\n", 0) == 0);
    check_in_order(map, {"low megabyte:",
                         "0x0009fc00 +",
                         "| (free, 3 KiB)",
                         "0x0009f000 +",
                         box("decompressor's trampoline", "8 KiB"),  // R22's area, below the EBDA
                         "0x0009d000 +",
                         "| (free, 424 KiB)",
                         "0x00033000 +",
                         box("page tables", "12 KiB"),
                         "0x00030000 +",
                         "| (free, 59.9 KiB)",
                         "0x0002101d +",
                         box("command line", "29 B"),
                         "0x00021000 +",
                         box("boot_params", "4 KiB"),
                         "0x00020000 +",
                         "| (free, 124 KiB)",
                         "0x00001000 +",
                         "above 1 MiB:",
                         "~",
                         "0x01c05123 +",
                         box("initrd", "20.2 KiB"),
                         "0x01c00000 +",
                         "| (free, 8 MiB)",
                         "0x01400000 +",
                         box("init_size (pref_address)", "4 MiB"),
                         "0x01000000 +",
                         "| (free, 11 MiB)",
                         "0x00500000 +",
                         box("init_size (load)", "3.9 MiB"),
                         "0x00103000 +",
                         box("protected-mode kernel", "12 KiB"),
                         "0x00100000 +"});
    CHECK(map.find("<--") == std::string::npos);  // a correct hand-off: nothing marked
}

TEST_CASE("map: the command line moved into the heap is marked with R05 and R14", "[map]") {
    Snapshot snap = make_handoff16(inputs());
    poke32(snap, SETUP_X + bp::HDR_CMD_LINE_PTR, SETUP_X + 0x9000);
    poke_string(snap, SETUP_X + 0x9000, CMDLINE);
    const Handoff h = analyse(snap, inputs());
    const auto results = verify(h);
    const std::string map = placement_map(h, results);
    INFO(map);
    const auto lines = lines_of(map);
    const std::string r05 = mark_of(results, "R05"), r14 = mark_of(results, "R14");
    REQUIRE(r05 != "R05 PASS");
    REQUIRE(r14 != "R14 PASS");
    // The heap split around the command line: the overlap marked by both rules,
    // the setup (the other object of R14's overlap) by R14 alone.
    const std::size_t overlap = line_with(lines, "| stack/heap + command line");
    CHECK(lines[overlap - 1].rfind("0x0001901d +", 0) == 0);
    CHECK(lines[overlap + 1].rfind("0x00019000 +", 0) == 0);
    CHECK(lines[overlap].find("29 B | <-- " + r05 + ", " + r14) != std::string::npos);
    CHECK(lines[line_with(lines, "| real-mode setup")].find("<-- " + r14) != std::string::npos);
    // The command line's end closes it: the heap above it carries no mark.
    CHECK(lines[overlap - 2].find("| stack/heap ") != std::string::npos);
    CHECK(lines[overlap - 2].find("<--") == std::string::npos);
}

TEST_CASE("map: an end a rule names alone marks the object ending there", "[map]") {
    // heap_end_ptr 0x9f00: the heap ends at 0x9a100, above 0x9a000 (R03).
    const Snapshot snap = grub_linux16(inputs(), 0x9f00);
    const std::vector<RuleResult> results = {check_rule("R03", analyse(snap, inputs()))};
    REQUIRE(results[0].addresses == std::vector<std::uint64_t>{GRUB_X, 0x9a100});
    const auto lines = lines_of(map_of(snap, results));
    const std::size_t heap_top = line_with(lines, "0x0009a100 +") + 1;
    CHECK(lines[heap_top].find("| stack/heap ") != std::string::npos);
    CHECK(lines[heap_top].find("<-- " + mark_of(results, "R03")) != std::string::npos);
    CHECK(lines[heap_top - 2].find("| (free,") != std::string::npos);
    CHECK(lines[heap_top - 2].find("<--") == std::string::npos);
}

TEST_CASE("map: an address in free memory gets a line of its own; PASS and N/A mark nothing", "[map]") {
    const std::vector<RuleResult> results = {result("R11", Status::fail, {0x5000}),
                                             result("R07", Status::pass, {SETUP_X + bp::HDR_TYPE_OF_LOADER}),
                                             result("R06", Status::not_applicable, {0x20000})};
    const std::string map = map_of(make_handoff16(inputs()), results);
    check_in_order(map, {"0x00010000 +", "| (free, 60 KiB)", "0x00001000 +"});
    const auto lines = lines_of(map);
    const std::size_t own = line_with(lines, "0x00005000 |");
    CHECK(lines[own].find("| <-- R11 FAIL") != std::string::npos);
    CHECK(lines[own - 1].rfind("0x00010000 +", 0) == 0);  // inside the gap below X
    CHECK(lines[own + 1].find("| (free, 60 KiB)") != std::string::npos);
    CHECK(map.find("R07") == std::string::npos);
    CHECK(map.find("R06") == std::string::npos);
}

TEST_CASE("map: the initrd over the page tables, each piece of the overlap marked", "[map]") {
    // The initrd overwrites the PML4 (test_rules.cpp's R14 case): the walk reaches it alone.
    Snapshot snap = make_handoff64(inputs());
    poke32(snap, BOOT_PARAMS + bp::HDR_RAMDISK_IMAGE, PML4_ADDR - PAGE_4K);
    poke(snap, PML4_ADDR - PAGE_4K, *inputs().initrd);
    const Handoff h = analyse(snap, inputs());
    const std::vector<RuleResult> results = {check_rule("R14", h)};
    REQUIRE(results[0].addresses == std::vector<std::uint64_t>{PML4_ADDR - PAGE_4K, PML4_ADDR});
    const std::string map = placement_map(h, results);
    INFO(map);
    const std::string r14 = " <-- " + mark_of(results, "R14");
    const auto lines = lines_of(map);
    const std::string margin(11, ' ');  // below "0x00034123 "
    const std::size_t top = line_with(lines, "0x00034123 +");
    CHECK(lines[top + 1] == margin + box("initrd", "12.2 KiB"));  // the initrd's end: no mark
    CHECK(lines[top + 2].rfind("0x00031000 +", 0) == 0);
    CHECK(lines[top + 3] == margin + box("initrd + page table", "4 KiB") + r14);
    CHECK(lines[top + 4].rfind("0x00030000 +", 0) == 0);
    CHECK(lines[top + 5] == margin + box("initrd", "4 KiB") + r14);
    CHECK(lines[top + 6].rfind("0x0002f000 +", 0) == 0);
}

TEST_CASE("map: a WARN marks its object as a FAIL does", "[map]") {
    const std::vector<RuleResult> results = {result("R10", Status::warn, {INITRD_ADDR})};
    const std::string map = map_of(make_handoff64(inputs()), results);
    INFO(map);
    const auto lines = lines_of(map);
    CHECK(lines[line_with(lines, box("initrd", "20.2 KiB"))].find(" <-- R10 WARN") != std::string::npos);
}
