// MBR partition entries: CHS encoding and reading back what was written.
#include <catch2/catch.hpp>

#include "diskformat.h"
#include "partition_table.h"

using namespace bzinstall;
using namespace bzboot;
namespace df = diskformat;

using Chs = std::array<std::uint8_t, 3>;

TEST_CASE("CHS addresses use 255 heads and 63 sectors per track", "[mbr]") {
    CHECK(chs_address(0) == Chs{0, 1, 0});
    CHECK(chs_address(62) == Chs{0, 63, 0});
    CHECK(chs_address(63) == Chs{1, 1, 0});
    // What fdisk writes for a partition at 1 MiB: head 32, sector 33, cylinder 0.
    CHECK(chs_address(2048) == Chs{32, 33, 0});
    // Cylinder 256: its bits 8-9 go to the top of the sector byte.
    CHECK(chs_address(256 * 255 * 63) == Chs{0, 0x41, 0});
    // The last addressable sector, then one beyond.
    const std::uint64_t last = 1024ull * 255 * 63 - 1;
    CHECK(chs_address(last) == Chs{254, 0xFF, 0xFF});
    CHECK(chs_address(last + 1) == Chs{0xFE, 0xFF, 0xFF});
    CHECK(chs_address(0xFFFFFFFF) == Chs{0xFE, 0xFF, 0xFF});
}

TEST_CASE("a written entry reads back and has end CHS of its last sector", "[mbr]") {
    Bytes sector(512, 0);
    PartitionEntry entry;
    entry.status = df::PART_STATUS_ACTIVE;
    entry.type = df::BZ_PART_TYPE;
    entry.lba_start = 2048;
    entry.lba_count = 28672;
    write_partition_entry(sector, 2, entry);

    PartitionTable table = read_partition_table(sector);
    CHECK_FALSE(table[0].used());
    CHECK_FALSE(table[1].used());
    CHECK_FALSE(table[3].used());
    REQUIRE(table[2].used());
    CHECK(table[2].active());
    CHECK(table[2].type == df::BZ_PART_TYPE);
    CHECK(table[2].lba_start == 2048);
    CHECK(table[2].lba_count == 28672);
    CHECK(table[2].lba_end() == 2048 + 28672);

    const std::size_t at = df::MBR_PART_TABLE + 2 * df::MBR_PART_ENTRY_SIZE;
    // Last sector 30719: cylinder 1, head 232, sector 39 (as sfdisk computes it).
    CHECK(Chs{sector[at + 5], sector[at + 6], sector[at + 7]} == Chs{232, 39, 1});
    // Nothing outside the entry was touched.
    for (std::size_t i = 0; i < sector.size(); ++i) {
        if (i < at || i >= at + df::MBR_PART_ENTRY_SIZE) {
            REQUIRE(sector[i] == 0);
        }
    }
}

TEST_CASE("a short buffer reads as an empty table without a signature", "[mbr]") {
    Bytes tiny(100, 0xFF);
    for (const PartitionEntry& entry : read_partition_table(tiny)) {
        CHECK_FALSE(entry.used());
    }
    CHECK_FALSE(has_mbr_signature(tiny));
}
