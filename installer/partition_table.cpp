#include "partition_table.h"

namespace bzinstall {
namespace df = diskformat;
using bzboot::put;

namespace {

// The geometry every modern partitioning tool assumes for LBA disks.
constexpr std::uint64_t kChsHeads = 255;
constexpr std::uint64_t kChsSectorsPerTrack = 63;
constexpr std::uint64_t kChsMaxCylinder = 1023;  // 10 bits
// What tools store when an address is beyond CHS reach: head 254, sector 63, cylinder 1023.
constexpr std::array<std::uint8_t, 3> kChsBeyondReach = {0xFE, 0xFF, 0xFF};

std::uint64_t entry_offset(unsigned slot) { return df::MBR_PART_TABLE + slot * df::MBR_PART_ENTRY_SIZE; }

void put_chs(Bytes& sector, std::uint64_t offset, std::uint64_t lba) {
    auto chs = chs_address(lba);
    for (unsigned i = 0; i < chs.size(); ++i) {
        bzboot::put_u8(sector, offset + i, chs[i]);
    }
}

}  // namespace

std::array<std::uint8_t, 3> chs_address(std::uint64_t lba) {
    const std::uint64_t cylinder = lba / (kChsHeads * kChsSectorsPerTrack);
    if (cylinder > kChsMaxCylinder) {
        return kChsBeyondReach;
    }
    const std::uint64_t head = lba / kChsSectorsPerTrack % kChsHeads;
    const std::uint64_t sector = lba % kChsSectorsPerTrack + 1;  // sectors count from 1
    return {static_cast<std::uint8_t>(head), static_cast<std::uint8_t>(sector | ((cylinder >> 8) << 6)),
            static_cast<std::uint8_t>(cylinder & 0xFF)};
}

PartitionTable read_partition_table(ByteView mbr_sector) {
    PartitionTable table;
    for (unsigned slot = 0; slot < table.size(); ++slot) {
        const std::uint64_t at = entry_offset(slot);
        PartitionEntry& entry = table[slot];
        entry.status = static_cast<std::uint8_t>(mbr_sector.field(df::PART_STATUS, at).value_or(0));
        entry.type = static_cast<std::uint8_t>(mbr_sector.field(df::PART_TYPE, at).value_or(df::PART_TYPE_UNUSED));
        entry.lba_start = static_cast<std::uint32_t>(mbr_sector.field(df::PART_LBA_START, at).value_or(0));
        entry.lba_count = static_cast<std::uint32_t>(mbr_sector.field(df::PART_LBA_COUNT, at).value_or(0));
    }
    return table;
}

void write_partition_entry(Bytes& mbr_sector, unsigned slot, const PartitionEntry& entry) {
    const std::uint64_t at = entry_offset(slot);
    const std::uint64_t last_lba = entry.lba_count > 0 ? entry.lba_end() - 1 : entry.lba_start;
    put(mbr_sector, df::PART_STATUS, entry.status, at);
    put_chs(mbr_sector, at + df::PART_CHS_START, entry.lba_start);
    put(mbr_sector, df::PART_TYPE, entry.type, at);
    put_chs(mbr_sector, at + df::PART_CHS_END, last_lba);
    put(mbr_sector, df::PART_LBA_START, entry.lba_start, at);
    put(mbr_sector, df::PART_LBA_COUNT, entry.lba_count, at);
}

bool has_mbr_signature(ByteView mbr_sector) { return mbr_sector.field(df::MBR_SIGNATURE_OFFSET) == df::MBR_SIGNATURE; }

}  // namespace bzinstall
