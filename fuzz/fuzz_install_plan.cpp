// fuzz_install_plan - libFuzzer target: the input describes an existing disk image,
// and bzinstall's planner (plan_existing_image) plans an install of a small fixed
// fake kernel and initrd into it.
//
// Input layout (little-endian); a field the input is too short for takes its default:
//   [0, 512)    sector 0 (zero-padded)
//   [512, 520)  the image size in bytes, any u64 (default 64 MiB)
//   [520]       stage 2 length: 1 + value % STAGE2_MAX_SECTORS sectors (default the maximum)
//   [521, ...)  extents, up to the end of the input: u32 first sector, u16 byte count n,
//               then n bytes stored from that sector on (a later extent wins)
// Bytes no extent covers read as zeros, so an image can be terabytes without memory.
// fuzz/make-seeds packs real sfdisk and bzinstall images into this layout.
//
// The planner must refuse (Refusal) or return a plan; any other exception counts as a
// crash. An accepted plan must keep every existing partition: none of the sectors
// write_plan() would write lies in one, the new partition overlaps none, and their
// table entries and the disk signature stay as they were. The only partition a plan
// may take over is an earlier bzboot payload (type 0x7F with bzboot's magic).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "boot_code.h"
#include "bootproto.h"
#include "common/bytes.h"
#include "diskformat.h"
#include "errors.h"
#include "install_plan.h"
#include "partition_table.h"
#include "payload.h"
#include "require.h"

namespace {
namespace df = diskformat;
using namespace bzinstall;
using bzboot::put_u32;
using bzboot::round_up;

void require(bool condition, const char* property) { fuzz::require(condition, "fuzz_install_plan", property); }

constexpr std::uint64_t kSector = bootproto::SECTOR_SIZE;
constexpr std::uint64_t kSizeField = kSector;  // offsets in the input, as above
constexpr std::uint64_t kStage2Field = kSizeField + 8;
constexpr std::uint64_t kExtentsStart = kStage2Field + 1;
constexpr std::uint64_t kExtentHeader = 6;  // u32 sector + u16 count
constexpr std::uint64_t kDefaultImageBytes = 64 << 20;
constexpr std::uint32_t kDiskSignature = 0x1234ABCD;  // used only for a blank sector 0
constexpr std::size_t kKernelBytes = 20000;           // the planner never looks inside them
constexpr std::size_t kInitrdBytes = 7000;

// The disk image the input describes (layout above).
class FakeImage {
public:
    FakeImage(const std::uint8_t* data, std::size_t size) {
        const ByteView input(data, size);
        extents_.push_back({0, Bytes(data, data + std::min<std::size_t>(size, kSector))});
        size_bytes = input.read_le(kSizeField, 8).value_or(kDefaultImageBytes);
        stage2_sectors =
            input.u8(kStage2Field) ? 1 + *input.u8(kStage2Field) % df::STAGE2_MAX_SECTORS : df::STAGE2_MAX_SECTORS;
        std::uint64_t at = kExtentsStart;
        while (at + kExtentHeader <= size) {
            const std::uint64_t sector = *input.u32(at);
            const std::uint64_t count = std::min<std::uint64_t>(*input.u16(at + 4), size - at - kExtentHeader);
            at += kExtentHeader;
            extents_.push_back({sector * kSector, Bytes(data + at, data + at + count)});
            at += count;
        }
    }

    std::uint64_t size_bytes = 0;
    unsigned stage2_sectors = 0;

    // Up to `count` bytes at `offset`, fewer at the end of the image (as ImageFile::read_at).
    Bytes read(std::uint64_t offset, std::size_t count) const {
        const std::uint64_t n = offset >= size_bytes ? 0 : std::min<std::uint64_t>(count, size_bytes - offset);
        Bytes out(n, 0);
        for (const Extent& extent : extents_) {
            const std::uint64_t first = std::max(offset, extent.offset);
            const std::uint64_t end = std::min(offset + n, extent.offset + extent.bytes.size());
            for (std::uint64_t i = first; i < end; ++i) {
                out[i - offset] = extent.bytes[i - extent.offset];
            }
        }
        return out;
    }

private:
    struct Extent {
        std::uint64_t offset;
        Bytes bytes;
    };
    std::vector<Extent> extents_;  // sector 0 first, then the input's extents in order
};

// Boot code with the right magic numbers and the chosen stage 2 length.
BootCode fake_boot_code(unsigned stage2_sectors) {
    BootCode code{Bytes(df::MBR_BOOTCODE_SIZE, 0x90), Bytes(stage2_sectors * kSector, 0x90)};
    put_u32(code.mbr, df::MBR_PARAM_MAGIC_OFF, df::MBR_PARAM_MAGIC);
    put_u32(code.stage2, df::S2_PARAM_MAGIC_OFF, df::S2_PARAM_MAGIC);
    try {
        check_boot_code(code);
    } catch (const BrokenBuild&) {
        require(false, "the fake boot code is valid");
    }
    return code;
}

InstallRequest fake_request(unsigned stage2_sectors) {
    static const Bytes kernel(kKernelBytes, 0xC3);
    static const Bytes initrd(kInitrdBytes, 0x1D);
    InstallRequest request;
    request.kernel = kernel;
    request.initrd = initrd;
    request.cmdline = "console=ttyS0";
    request.payload_flags = df::PF_HANDOFF64;
    request.boot_code = fake_boot_code(stage2_sectors);
    return request;
}

struct SectorRange {
    std::uint64_t first, end;  // [first, end)
};
// True when the two share a sector (an empty range shares none).
bool overlap(SectorRange a, SectorRange b) {
    return a.first < a.end && b.first < b.end && a.first < b.end && b.first < a.end;
}

// What write_plan() (image_file.cpp) writes: the payload padded to a whole sector,
// stage 2 in the gap, then sector 0.
std::vector<SectorRange> written_sectors(const InstallPlan& plan) {
    const std::uint64_t payload_sectors = round_up(plan.layout.total_bytes, kSector) / kSector;
    return {{plan.payload_lba, plan.payload_lba + payload_sectors},
            {df::STAGE2_LBA, df::STAGE2_LBA + plan.stage2.size() / kSector},
            {0, 1}};
}

Bytes entry_bytes(const Bytes& sector0, unsigned slot) {
    const auto first = sector0.begin() + df::MBR_PART_TABLE + slot * df::MBR_PART_ENTRY_SIZE;
    return Bytes(first, first + df::MBR_PART_ENTRY_SIZE);
}

void check_plan(const InstallPlan& plan, const FakeImage& image, const InstallRequest& request) {
    Bytes before = image.read(0, kSector);
    before.resize(kSector, 0);
    const bool had_table = has_mbr_signature(before);
    const PartitionTable old_table = had_table ? read_partition_table(before) : PartitionTable{};

    // The plan itself.
    require(plan.mbr_sector.size() == kSector && has_mbr_signature(plan.mbr_sector), "sector 0 with 0x55AA");
    require(plan.stage2.size() == request.boot_code.stage2.size(), "stage 2 keeps its length");
    require(ByteView(plan.stage2).u32(df::S2_PARAM_PAYLOAD_LBA) == plan.payload_lba, "stage 2 finds the payload");
    require(plan.payload_header.size() == df::PAYLOAD_HDR_SIZE && has_payload_magic(plan.payload_header),
            "a payload header");
    require(plan.slot < df::MBR_PART_COUNT, "a slot of the table");
    const PartitionEntry payload = read_partition_table(plan.mbr_sector)[plan.slot];
    require(payload.type == df::BZ_PART_TYPE && payload.lba_start == plan.payload_lba &&
                payload.lba_count == plan.payload_sectors,
            "the table entry is the payload partition");
    require(plan.payload_lba % df::BZ_PART_ALIGN_SECTORS == 0, "the payload starts on a 1 MiB boundary");
    require(plan.payload_sectors * kSector >= plan.layout.total_bytes, "the payload fits its partition");
    require(payload.lba_end() * kSector <= image.size_bytes, "the partition ends inside the image");
    for (const SectorRange& written : written_sectors(plan)) {
        require(written.end * kSector <= image.size_bytes, "every write inside the image");
    }

    // The slot it takes: free, or an earlier bzboot payload.
    const PartitionEntry& taken = old_table[plan.slot];
    if (plan.replaces_previous) {
        require(taken.type == df::BZ_PART_TYPE &&
                    has_payload_magic(image.read(taken.lba_start * kSector, df::PAYLOAD_HDR_SIZE)),
                "only a bzboot payload is replaced");
    } else {
        require(!taken.used(), "a free slot is taken");
    }

    // Everything else in sector 0 and on the disk stays.
    require(ByteView(plan.mbr_sector).u32(df::MBR_DISK_SIGNATURE) ==
                (had_table ? *ByteView(before).u32(df::MBR_DISK_SIGNATURE) : kDiskSignature),
            "the disk signature stays");
    bool another_is_active = false;
    for (unsigned slot = 0; slot < df::MBR_PART_COUNT; ++slot) {
        if (slot == plan.slot) continue;
        require(entry_bytes(plan.mbr_sector, slot) == entry_bytes(before, slot), "other table entries stay");
        const PartitionEntry& kept = old_table[slot];
        if (!kept.used()) continue;
        another_is_active = another_is_active || kept.active();
        const SectorRange kept_sectors{kept.lba_start, kept.lba_end()};
        for (const SectorRange& written : written_sectors(plan)) {
            require(!overlap(written, kept_sectors), "no write into an existing partition");
        }
        require(!overlap({payload.lba_start, payload.lba_end()}, kept_sectors),
                "the payload partition overlaps no existing one");
    }
    require(payload.active() != another_is_active, "active exactly when no other partition is");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const FakeImage image(data, size);
    const InstallRequest request = fake_request(image.stage2_sectors);
    const ExistingImage existing{
        image.size_bytes, [&image](std::uint64_t offset, std::size_t count) { return image.read(offset, count); }};
    InstallPlan plan;
    try {
        plan = plan_existing_image(request, existing, kDiskSignature);
    } catch (const Refusal&) {
        return 0;  // a refusal leaves the image alone: fine
    }
    check_plan(plan, image, request);
    return 0;
}
