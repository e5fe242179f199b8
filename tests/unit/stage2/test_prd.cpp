// Stage 2's PRD table builder (stage2/prd.inc), the same source assembled for
// x86-64 (prd_x64.asm): every table it writes must describe exactly the transfer,
// in regions of at most 64 KiB that never cross a 64 KiB boundary, the end-of-table
// bit on the last region only, and stay within the room stage 2 gives it.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "ide.h"
#include "layout.h"

extern "C" std::size_t bz_prd_build(std::uint32_t destination, std::uint32_t bytes, void* table);

namespace {

constexpr std::uint64_t kEot = ide::PRD_EOT;
constexpr std::uint64_t k64K = ide::PRD_MAX_BYTES;

struct Region {
    std::uint64_t address;
    std::uint64_t bytes;  // decoded: 0 in the count field is 64 KiB
    bool last;
    std::uint32_t raw_count;
};

// A table of `room` entries that ends right at an inaccessible page: a builder
// that writes one entry too many crashes the test instead of passing it.
class GuardedTable {
public:
    explicit GuardedTable(std::size_t room) : room_(room) {
        page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t bytes = room * ide::PRD_ENTRY_size;
        data_pages_ = (bytes + page_ - 1) / page_;
        void* p = mmap(nullptr, (data_pages_ + 1) * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        base_ = static_cast<unsigned char*>(p);
        REQUIRE(mprotect(base_ + data_pages_ * page_, page_, PROT_NONE) == 0);
        table_ = base_ + data_pages_ * page_ - bytes;
        std::memset(base_, 0xA5, data_pages_ * page_);
    }
    ~GuardedTable() { munmap(base_, (data_pages_ + 1) * page_); }
    GuardedTable(const GuardedTable&) = delete;
    GuardedTable& operator=(const GuardedTable&) = delete;

    std::vector<Region> build(std::uint32_t destination, std::uint32_t bytes) {
        const std::size_t entries = bz_prd_build(destination, bytes, table_);
        REQUIRE(entries <= room_);
        std::vector<Region> regions;
        for (std::size_t i = 0; i < entries; ++i) {
            std::uint32_t address = 0;
            std::uint32_t count = 0;
            std::memcpy(&address, table_ + i * ide::PRD_ENTRY_size + ide::PRD_ENTRY::address, 4);
            std::memcpy(&count, table_ + i * ide::PRD_ENTRY_size + ide::PRD_ENTRY::count, 4);
            const std::uint64_t length = count & ide::PRD_COUNT_MASK;
            regions.push_back({address, length == 0 ? k64K : length, (count & kEot) != 0, count});
        }
        return regions;
    }

private:
    std::size_t room_;
    std::size_t page_ = 0;
    std::size_t data_pages_ = 0;
    unsigned char* base_ = nullptr;
    unsigned char* table_ = nullptr;
};

// What the bus master requires of a table for `bytes` at `destination`, and that
// it describes exactly that transfer.
void check_table(const std::vector<Region>& regions, std::uint64_t destination, std::uint64_t bytes) {
    INFO("destination 0x" << std::hex << destination << ", 0x" << bytes << " bytes");
    REQUIRE(!regions.empty());
    std::uint64_t next = destination;
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const Region& r = regions[i];
        INFO("region " << i << " at 0x" << std::hex << r.address << ", 0x" << r.bytes << " bytes");
        CHECK(r.address == next);
        CHECK(r.bytes > 0);
        CHECK(r.bytes <= k64K);
        CHECK(r.address / k64K == (r.address + r.bytes - 1) / k64K);  // inside one 64 KiB page
        CHECK((r.raw_count & ~(kEot | ide::PRD_COUNT_MASK)) == 0);    // reserved bits 30..16 clear
        CHECK(r.last == (i + 1 == regions.size()));
        // Only a region that ends at a boundary or the transfer's end: none shorter in between.
        if (i + 1 < regions.size()) {
            CHECK((r.address + r.bytes) % k64K == 0);
        }
        next = r.address + r.bytes;
    }
    CHECK(next == destination + bytes);
}

}  // namespace

TEST_CASE("prd: 1 MiB at 1 MiB is 16 whole 64 KiB regions, the last one marked", "[prd]") {
    GuardedTable table(ide::PRD_MAX_BYTES / 8);
    const auto regions = table.build(0x100000, 0x100000);
    REQUIRE(regions.size() == 16);
    check_table(regions, 0x100000, 0x100000);
    for (const Region& r : regions) {
        CHECK((r.raw_count & ide::PRD_COUNT_MASK) == 0);  // 64 KiB is written as 0
    }
    CHECK(regions.back().raw_count == kEot);
}

TEST_CASE("prd: a transfer across one 64 KiB boundary is split there", "[prd]") {
    GuardedTable table(4);
    const auto regions = table.build(0x1FFF0, 0x20);
    REQUIRE(regions.size() == 2);
    check_table(regions, 0x1FFF0, 0x20);
    CHECK(regions[0].raw_count == 0x10);
    CHECK(regions[1].address == 0x20000);
    CHECK(regions[1].raw_count == (kEot | 0x10));
}

TEST_CASE("prd: lengths: one sector, 2 bytes, a region ending at a boundary, 64 KiB from mid-page", "[prd]") {
    GuardedTable table(4);
    auto regions = table.build(0x7EE4000, 512);  // an initrd's page-aligned start
    REQUIRE(regions.size() == 1);
    CHECK(regions[0].raw_count == (kEot | 512));
    regions = table.build(0x200000, 2);
    REQUIRE(regions.size() == 1);
    CHECK(regions[0].raw_count == (kEot | 2));
    regions = table.build(0x1F000, 0x1000);  // ends exactly at 0x20000: no empty region after it
    REQUIRE(regions.size() == 1);
    CHECK(regions[0].raw_count == (kEot | 0x1000));
    regions = table.build(0x1F000, 0x10000);  // 64 KiB not aligned: 2 regions, 4 KiB + 60 KiB
    REQUIRE(regions.size() == 2);
    check_table(regions, 0x1F000, 0x10000);
    CHECK(regions[0].bytes == 0x1000);
    CHECK(regions[1].bytes == 0xF000);
    regions = table.build(0x10000, 0x10000);  // exactly one page
    REQUIRE(regions.size() == 1);
    CHECK(regions[0].raw_count == kEot);
}

TEST_CASE("prd: DMA_SECTORS anywhere fits the PRD_ENTRIES stage 2 has room for", "[prd]") {
    // The worst case for whole 64 KiB: a start 2 bytes short of a boundary (one
    // region more than when aligned). PRD_ENTRIES allows one more still.
    GuardedTable table(layout::PRD_ENTRIES);
    const std::uint32_t bytes = layout::DMA_SECTORS * 512;
    const auto worst = table.build(0x10FFFE, bytes);
    check_table(worst, 0x10FFFE, bytes);
    CHECK(worst.size() == bytes / k64K + 1);
    CHECK(worst.size() <= layout::PRD_ENTRIES);
    std::mt19937 random(11);
    for (int i = 0; i < 2000; ++i) {
        const std::uint32_t destination = (0x100000 + random() % 0x7FF00000u) & ~1u;
        const std::uint32_t length = 2 + 2 * (random() % (bytes / 2));  // even, 2 .. DMA_SECTORS sectors
        check_table(table.build(destination, length), destination, length);
    }
}
