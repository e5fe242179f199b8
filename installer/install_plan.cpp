#include "install_plan.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"
#include "partition_table.h"

namespace bzinstall {
namespace df = diskformat;
using bzboot::put;
using bzboot::round_up;

namespace {

constexpr std::uint64_t kSector = bootproto::SECTOR_SIZE;
constexpr std::uint64_t kAlignSectors = df::BZ_PART_ALIGN_SECTORS;
constexpr std::uint64_t kLbaFieldMax = std::numeric_limits<std::uint32_t>::max();  // u32 in the table

PayloadLayout layout_for(const InstallRequest& request) {
    return layout_payload(request.kernel.size(), request.initrd.size());
}

bool is_all_zero(const Bytes& bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

// Sector 0 of a disk that has nothing on it yet: a signature and an empty table.
Bytes blank_mbr_sector(std::uint32_t disk_signature) {
    if (disk_signature == 0) {
        throw std::logic_error("a fresh disk signature must be non-zero");
    }
    Bytes sector(kSector, 0);
    put(sector, df::MBR_DISK_SIGNATURE, disk_signature);
    put(sector, df::MBR_SIGNATURE_OFFSET, df::MBR_SIGNATURE);
    return sector;
}

// The core shared by new and existing images: given sector 0 (with its table) and the
// slot of an earlier bzboot payload (whose space is free), place the new payload.
// `blank_disk`: nothing else is on the disk, so the payload partition takes all of it.
InstallPlan plan_into(const InstallRequest& request, Bytes mbr_sector, std::uint64_t image_bytes,
                      std::optional<unsigned> previous_slot, bool blank_disk) {
    const PartitionTable table = read_partition_table(mbr_sector);
    // Sector 0 and the gap after it, where stage 2 goes, are written: no partition may
    // hold any of them (not even sector 0 alone: its bytes would be someone's data).
    const std::uint64_t gap_first = df::STAGE2_LBA;
    const std::uint64_t gap_end = gap_first + stage2_sectors(request.boot_code);

    std::optional<unsigned> free_slot;
    std::uint64_t lowest_free_lba = kAlignSectors;
    bool another_is_active = false;
    for (unsigned slot = 0; slot < table.size(); ++slot) {
        const PartitionEntry& entry = table[slot];
        if (slot == previous_slot) {
            continue;
        }
        if (!entry.used()) {
            free_slot = free_slot.value_or(slot);
            continue;
        }
        if (entry.lba_count > 0 && entry.lba_start < gap_end) {
            throw Refusal(fmt::format(
                "partition {} (sectors {}..{}) overlaps sector 0 or the gap where stage 2 goes (sectors {}..{})",
                slot + 1, entry.lba_start, entry.lba_end() - 1, gap_first, gap_end - 1));
        }
        lowest_free_lba = std::max(lowest_free_lba, entry.lba_end());
        another_is_active = another_is_active || entry.active();
    }
    const std::optional<unsigned> slot = previous_slot ? previous_slot : free_slot;
    if (!slot) {
        throw Refusal("all 4 primary partition slots are in use: no slot for the payload partition");
    }

    InstallPlan plan;
    plan.image_bytes = image_bytes;
    plan.slot = *slot;
    plan.replaces_previous = previous_slot.has_value();
    plan.layout = layout_for(request);
    plan.payload_lba = round_up(lowest_free_lba, kAlignSectors);

    const std::uint64_t payload_sectors = round_up(plan.layout.total_bytes, kSector) / kSector;
    const std::uint64_t needed_bytes = (plan.payload_lba + payload_sectors) * kSector;
    if (needed_bytes > image_bytes) {
        throw Refusal(fmt::format("image is {} bytes but needs {} ({} more) for the {}-byte payload at sector {}",
                                  image_bytes, needed_bytes, needed_bytes - image_bytes, plan.layout.total_bytes,
                                  plan.payload_lba));
    }
    const std::uint64_t disk_sectors = image_bytes / kSector;
    const std::uint64_t partition_end =
        blank_disk ? disk_sectors : std::min(plan.payload_lba + round_up(payload_sectors, kAlignSectors), disk_sectors);
    if (plan.payload_lba > kLbaFieldMax) {
        throw Refusal(fmt::format("payload would start at sector {}, beyond the MBR's 2 TiB reach", plan.payload_lba));
    }
    plan.payload_sectors = std::min(partition_end - plan.payload_lba, kLbaFieldMax);

    PartitionEntry entry;
    entry.status = another_is_active ? 0 : df::PART_STATUS_ACTIVE;
    entry.type = df::BZ_PART_TYPE;
    entry.lba_start = static_cast<std::uint32_t>(plan.payload_lba);
    entry.lba_count = static_cast<std::uint32_t>(plan.payload_sectors);

    const Bytes mbr_code = patched_mbr_code(request.boot_code, request.boot_code_flags);
    std::copy(mbr_code.begin(), mbr_code.end(), mbr_sector.begin());
    write_partition_entry(mbr_sector, plan.slot, entry);
    plan.mbr_sector = std::move(mbr_sector);
    plan.stage2 = patched_stage2(request.boot_code, plan.payload_lba, request.boot_code_flags);
    plan.payload_header =
        build_payload_header(plan.layout, request.kernel, request.initrd, request.cmdline, request.payload_flags);
    return plan;
}

// The slot of a partition bzboot wrote earlier: type BZ_PART_TYPE and our magic inside.
// A 0x7F partition without the magic belongs to someone else.
std::optional<unsigned> find_previous_payload(const PartitionTable& table, const ExistingImage& image) {
    for (unsigned slot = 0; slot < table.size(); ++slot) {
        const PartitionEntry& entry = table[slot];
        if (entry.type == df::BZ_PART_TYPE && entry.lba_start > 0 &&
            has_payload_magic(image.read_at(entry.lba_start * kSector, df::PAYLOAD_HDR_SIZE))) {
            return slot;
        }
    }
    return std::nullopt;
}

}  // namespace

std::uint64_t fitted_image_bytes(const InstallRequest& request) {
    const std::uint64_t align_bytes = kAlignSectors * kSector;
    return align_bytes + round_up(layout_for(request).total_bytes, align_bytes);
}

InstallPlan plan_new_image(const InstallRequest& request, std::uint64_t image_bytes, std::uint32_t disk_signature) {
    if (image_bytes == 0) {
        image_bytes = fitted_image_bytes(request);
    }
    if (image_bytes % kSector != 0) {
        throw Refusal(fmt::format("image size {} is not a multiple of {} bytes", image_bytes, kSector));
    }
    return plan_into(request, blank_mbr_sector(disk_signature), image_bytes, std::nullopt, true);
}

InstallPlan plan_existing_image(const InstallRequest& request, const ExistingImage& image,
                                std::uint32_t disk_signature) {
    Bytes sector0 = image.read_at(0, kSector);
    sector0.resize(kSector, 0);  // an image shorter than a sector reads as zeros (and will not fit)

    if (!has_mbr_signature(sector0)) {
        if (!is_all_zero(sector0)) {
            throw Refusal("no MBR partition table: sector 0 is not blank and lacks the 0x55AA signature");
        }
        return plan_into(request, blank_mbr_sector(disk_signature), image.size_bytes, std::nullopt, true);
    }

    const PartitionTable table = read_partition_table(sector0);
    for (unsigned slot = 0; slot < table.size(); ++slot) {
        if (table[slot].type == df::PART_TYPE_GPT_PROTECTIVE) {
            throw Refusal(
                fmt::format("GPT disk (protective MBR entry 0x{:02X} in slot {}): bzboot "
                            "installs only on MBR-partitioned disks",
                            df::PART_TYPE_GPT_PROTECTIVE, slot + 1));
        }
    }
    return plan_into(request, std::move(sector0), image.size_bytes, find_previous_payload(table, image), false);
}

}  // namespace bzinstall
