// partition_table.h - the four primary entries of an MBR partition table.
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.h"
#include "diskformat.h"

namespace bzinstall {

using bzboot::Bytes;
using bzboot::ByteView;

struct PartitionEntry {
    std::uint8_t status = 0;
    std::uint8_t type = diskformat::PART_TYPE_UNUSED;
    std::uint32_t lba_start = 0;
    std::uint32_t lba_count = 0;

    bool used() const { return type != diskformat::PART_TYPE_UNUSED; }
    bool active() const { return status == diskformat::PART_STATUS_ACTIVE; }
    std::uint64_t lba_end() const { return std::uint64_t{lba_start} + lba_count; }  // one past the last
};

using PartitionTable = std::array<PartitionEntry, diskformat::MBR_PART_COUNT>;

// The entries of a 512-byte MBR (a shorter buffer reads as unused entries).
PartitionTable read_partition_table(ByteView mbr_sector);

// Store `entry` in `slot` of `mbr_sector`, with CHS fields for 255 heads x 63 sectors.
void write_partition_entry(Bytes& mbr_sector, unsigned slot, const PartitionEntry& entry);

// The 3-byte CHS address of `lba` (0xFE 0xFF 0xFF beyond cylinder 1023).
std::array<std::uint8_t, 3> chs_address(std::uint64_t lba);

// True when sector 0 ends in the 0x55AA signature.
bool has_mbr_signature(ByteView mbr_sector);

}  // namespace bzinstall
