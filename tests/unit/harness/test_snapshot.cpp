// The snapshot reader and writer: round trip, QEMU dumps without bzcheck's
// note, and clean errors for truncated, garbage and foreign files.
#include "snapshot_builder.h"

#include "common/size.h"
#include "common/tempdir.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include <elf.h>
#include <cstdio>
#include <fstream>
#include <random>

#include <sys/stat.h>

using namespace bzcheck;
using namespace bzcheck::testing;

namespace {
Snapshot small_snapshot() {
    Snapshot snap;
    snap.ram.push_back(RamRange{0x1000, std::vector<std::uint8_t>(0x2000, 0xAB)});
    snap.ram.push_back(RamRange{0x100000, {1, 2, 3, 4, 5, 6, 7, 8}});
    snap.ram.push_back(RamRange{0x100008, {9, 10}});  // continues the previous range
    snap.cpu.rax = 0x1111222233334444;
    snap.cpu.rsi = 0x20000;
    snap.cpu.rip = 0x100200;
    snap.cpu.rflags = 0x46;
    snap.cpu.cs = Segment{0x10, 0xffffffff, SEG_CODE | SEG_LONG | SEG_PRESENT, 0};
    snap.cpu.gdt = Segment{0, 0x1f, 0, 0x7000};
    snap.cpu.cr0 = 0x80000011;
    snap.cpu.cr3 = 0x30000;
    snap.cpu.cr4 = CR4_PAE | CR4_LA57;
    snap.cpu.efer = EFER_LME | EFER_LMA | EFER_NXE;
    snap.handoff = HandoffKind::long64;
    snap.emulator = "qemu";
    snap.emulator_args = {"qemu-system-x86_64", "-accel", "tcg"};
    return snap;
}
}  // namespace

TEST_CASE("a snapshot survives writing and reading", "[snapshot]") {
    const Snapshot original = small_snapshot();
    const Snapshot copy = parse_snapshot(serialize_snapshot(original));
    REQUIRE(copy.ram.size() == 3);
    CHECK(copy.ram[0].phys == 0x1000);
    CHECK(copy.ram[0].bytes().copy() == original.ram[0].bytes().copy());
    CHECK(copy.cpu.rax == original.cpu.rax);
    CHECK(copy.cpu.rsi == 0x20000);
    CHECK(copy.cpu.rip == 0x100200);
    CHECK(copy.cpu.cs.selector == 0x10);
    CHECK(copy.cpu.cs.flags == original.cpu.cs.flags);
    CHECK(copy.cpu.gdt.base == 0x7000);
    CHECK(copy.cpu.cr3 == 0x30000);
    CHECK(copy.cpu.cr4 == original.cpu.cr4);
    CHECK(copy.cpu.efer == original.cpu.efer);
    CHECK(copy.has_bzcheck_note);
    CHECK(copy.handoff == HandoffKind::long64);
    CHECK(copy.emulator == "qemu");
    CHECK(copy.emulator_args == original.emulator_args);
}

TEST_CASE("physical reads stay inside RAM and cross adjacent ranges", "[snapshot]") {
    const Snapshot snap = parse_snapshot(serialize_snapshot(small_snapshot()));
    CHECK(snap.u8(0x1000) == 0xAB);
    CHECK(snap.u32(0x2ffc) == 0xABABABABu);
    CHECK_FALSE(snap.u32(0x2ffe).has_value());  // 2 bytes past the end
    CHECK_FALSE(snap.u8(0xfff).has_value());
    CHECK(snap.u16(0x100007) == 0x0908);  // spans two ranges
    CHECK(snap.in_ram(0x100000, 10));
    CHECK_FALSE(snap.in_ram(0x100000, 11));
    CHECK_FALSE(snap.in_ram(~0ull - 1, 4));
    CHECK(snap.c_string(0x100000, 16) == std::nullopt);  // no NUL before RAM ends
}

TEST_CASE("a QEMU dump without the BZCHECK note takes long mode from e_machine", "[snapshot]") {
    auto bytes = serialize_snapshot(small_snapshot());
    const std::string name = "BZCHECK";
    auto at = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
    REQUIRE(at != bytes.end());
    std::fill(at, at + static_cast<std::ptrdiff_t>(name.size()), 'X');  // an unknown note is ignored
    const Snapshot snap = parse_snapshot(bytes);
    CHECK_FALSE(snap.has_bzcheck_note);
    CHECK(snap.handoff == HandoffKind::unknown);
    CHECK((snap.cpu.efer & EFER_LMA) != 0);
    CHECK(snap.cpu.cr3 == 0x30000);
}

TEST_CASE("truncated files give a clean error", "[snapshot]") {
    const auto bytes = serialize_snapshot(small_snapshot());
    for (std::size_t length : {std::size_t(0), std::size_t(10), sizeof(Elf64_Ehdr), sizeof(Elf64_Ehdr) + 60,
                               std::size_t(600), bytes.size() - 1}) {
        INFO("length " << length);
        const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
        CHECK_THROWS_AS(parse_snapshot(cut), SnapshotError);
    }
}

TEST_CASE("garbage and foreign files give a clean error", "[snapshot]") {
    std::mt19937 random(42);
    std::vector<std::uint8_t> garbage(4096);
    for (auto& b : garbage) b = static_cast<std::uint8_t>(random());
    CHECK_THROWS_WITH(parse_snapshot(garbage), Catch::Contains("not an ELF"));

    auto foreign = serialize_snapshot(small_snapshot());
    foreign[offsetof(Elf64_Ehdr, e_machine)] = EM_AARCH64;
    CHECK_THROWS_WITH(parse_snapshot(foreign), Catch::Contains("foreign"));

    auto executable = serialize_snapshot(small_snapshot());
    executable[offsetof(Elf64_Ehdr, e_type)] = ET_EXEC;
    CHECK_THROWS_WITH(parse_snapshot(executable), Catch::Contains("not a core"));

    auto elf32 = serialize_snapshot(small_snapshot());
    elf32[EI_CLASS] = ELFCLASS32;
    CHECK_THROWS_AS(parse_snapshot(elf32), SnapshotError);

    CHECK_THROWS_WITH(read_snapshot("/nonexistent/snapshot.core"), Catch::Contains("cannot open"));
    CHECK_THROWS_AS(read_snapshot("/"), SnapshotError);
}

TEST_CASE("randomly damaged headers never crash the reader", "[snapshot]") {
    const auto bytes = serialize_snapshot(small_snapshot());
    const std::size_t header_bytes = 1024;  // ELF header, program headers and notes
    std::mt19937 random(7);
    for (int round = 0; round < 3000; ++round) {
        auto damaged = bytes;
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int i = 0; i < flips; ++i) damaged[random() % header_bytes] = static_cast<std::uint8_t>(random());
        try {
            const Snapshot snap = parse_snapshot(damaged);
            (void)snap.u64(snap.cpu.rip);
        } catch (const SnapshotError&) {
        }
    }
    SUCCEED("no crash, no other exception");
}

TEST_CASE("write_snapshot and read_snapshot use files", "[snapshot]") {
    const std::string path = "bzcheck_test_snapshot.core";
    write_snapshot(path, small_snapshot());
    const Snapshot snap = read_snapshot(path);
    CHECK(snap.cpu.rax == 0x1111222233334444);
    std::remove(path.c_str());
    Snapshot overlapping = small_snapshot();
    overlapping.ram.push_back(RamRange{0x1800, {1}});
    CHECK_THROWS_AS(serialize_snapshot(overlapping), SnapshotError);
}

TEST_CASE("a file snapshot is mapped, and its zero RAM pages are holes of a sparse file", "[snapshot]") {
    const bzboot::TempDir dir("bzcheck-snapshot");
    const std::string path = dir.file("sparse.core").string();
    // 64 MiB of RAM, nearly all zero: a guest at its hand-off.
    constexpr std::uint64_t RAM = 64 * bzboot::MiB;
    Snapshot snap = small_snapshot();
    snap.ram.clear();
    snap.ram.push_back(RamRange{0, std::vector<std::uint8_t>(RAM, 0)});
    std::vector<std::uint8_t>& bytes = snap.ram[0].owned_bytes();
    bytes[0x1234] = 0x5A;       // a page with data at the start ...
    bytes[RAM / 2 + 7] = 0xA5;  // ... one in the middle
    bytes[RAM - 1] = 0x77;      // ... and the very last byte
    write_snapshot(path, snap);

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(static_cast<std::uint64_t>(st.st_size) > RAM);                  // the full size, as QEMU's dump
    CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 < bzboot::MiB);  // but only three pages and the header held

    const Snapshot back = read_snapshot(path);
    REQUIRE(back.ram.size() == 1);
    CHECK(back.ram[0].size() == RAM);
    CHECK(back.u8(0x1234) == 0x5A);
    CHECK(back.u8(RAM / 2 + 7) == 0xA5);
    CHECK(back.u8(RAM - 1) == 0x77);
    CHECK(back.u8(RAM / 4) == 0);
    CHECK(back.ram[0].bytes().copy() == bytes);  // the whole of it, holes read as zeros
    CHECK(parse_snapshot(serialize_snapshot(back)).ram[0].bytes().copy() == bytes);  // and in memory
    Snapshot mapped = back;
    CHECK_THROWS_AS(mapped.ram[0].owned_bytes(), std::logic_error);  // a mapped range is read-only
}
