// Whole images written by the real bzinstall: new images, installing beside an ext2
// partition, re-installing, and every refusal leaving the file byte-for-byte unchanged.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "boot_code.h"
#include "bootproto.h"
#include "diskformat.h"
#include "fletcher64.h"
#include "installer_test_support.h"
#include "kernel_header.h"
#include "partition_table.h"
#include "payload.h"

using namespace bzinstall;
using namespace bzboot;
using namespace bztest;
namespace df = diskformat;

namespace {

constexpr std::uint64_t kSector = 512;
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kMiBSectors = kMiB / kSector;

// A temporary directory holding a fake kernel and initrd, and helpers to run tools there.
struct Workspace {
    TempDir dir;
    fs::path kernel = dir.file("vmlinuz");
    fs::path initrd = dir.file("initrd.img");
    fs::path image = dir.file("disk.img");
    Bytes kernel_bytes = FakeKernel{}.bytes();
    Bytes initrd_bytes = pattern_bytes(70000, 2);

    Workspace() {
        write_file(kernel, kernel_bytes);
        write_file(initrd, initrd_bytes);
    }

    CommandResult install(const std::string& extra = "") const {
        return run_bzinstall(fmt::format("--kernel {} --initrd {} {} {}", quoted(kernel.string()),
                                         quoted(initrd.string()), extra, quoted(image.string())));
    }
};

Bytes slice(const Bytes& bytes, std::uint64_t offset, std::uint64_t count) {
    REQUIRE(offset + count <= bytes.size());
    return Bytes(bytes.begin() + offset, bytes.begin() + offset + count);
}

Bytes partition_bytes(const Bytes& disk, const PartitionEntry& entry) {
    return slice(disk, entry.lba_start * kSector, std::uint64_t{entry.lba_count} * kSector);
}

// A zero-filled image with `sfdisk_script` applied to it (sfdisk, not our own encoder).
void make_partitioned_image(const fs::path& image, std::uint64_t size_bytes, const std::string& sfdisk_script) {
    write_file(image, Bytes(size_bytes, 0));
    CommandResult r =
        run(fmt::format("printf '%s\\n' {} | sfdisk -q {}", quoted(sfdisk_script), quoted(image.string())));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
}

// An ext2 file system of `size_bytes` populated with `mkfs.ext2 -d` from a few files.
Bytes make_ext2(const TempDir& dir, std::uint64_t size_bytes) {
    const fs::path source = dir.file("ext2-source");
    fs::create_directories(source / "etc" / "deep");
    write_file(source / "hello.txt", Bytes{'h', 'i', '\n'});
    write_file(source / "etc" / "big.bin", pattern_bytes(300000, 3));
    write_file(source / "etc" / "deep" / "small.bin", pattern_bytes(1000, 4));
    const fs::path fs_file = dir.file("ext2.fs");
    CommandResult r = run(fmt::format("mkfs.ext2 -q -F -d {} {} {}k", quoted(source.string()), quoted(fs_file.string()),
                                      size_bytes / 1024));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    Bytes fs_bytes = read_file(fs_file);
    REQUIRE(fs_bytes.size() == size_bytes);
    return fs_bytes;
}

void e2fsck_is_clean(const TempDir& dir, const Bytes& partition) {
    const fs::path copy = dir.file("partition-copy.fs");
    write_file(copy, partition);
    CommandResult r = run("e2fsck -fn " + quoted(copy.string()));
    INFO(r.output);
    CHECK(r.exit_code == 0);
}

nlohmann::json sfdisk_partitions(const fs::path& image) {
    CommandResult r = run("sfdisk -J " + quoted(image.string()));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.output).at("partitiontable").at("partitions");
}

std::uint32_t disk_signature(const Bytes& disk) { return *ByteView(disk).u32(df::MBR_DISK_SIGNATURE); }

Bytes table_entry_bytes(const Bytes& disk, unsigned slot) {
    return slice(disk, df::MBR_PART_TABLE + slot * df::MBR_PART_ENTRY_SIZE, df::MBR_PART_ENTRY_SIZE);
}

// The payload bzinstall wrote into `entry`, checked against the files it came from.
void check_payload(const Bytes& disk, const PartitionEntry& entry, const Bytes& kernel, const Bytes& initrd,
                   const std::string& cmdline, std::uint32_t flags) {
    const std::uint64_t base = entry.lba_start * kSector;
    Bytes header = slice(disk, base, df::PAYLOAD_HDR_SIZE);
    ByteView h(header);
    REQUIRE(has_payload_magic(header));
    CHECK(h.u32(df::PH_VERSION) == df::PAYLOAD_VERSION);
    CHECK(h.u32(df::PH_FLAGS) == flags);
    CHECK(std::string(reinterpret_cast<const char*>(header.data() + df::PH_CMDLINE)) == cmdline);
    CHECK(h.u32(df::PH_CMDLINE_LEN) == cmdline.size());

    const std::uint64_t kernel_sector = *h.u32(df::PH_KERNEL_SECTOR);
    CHECK(kernel_sector * kSector % df::PAYLOAD_ALIGN == 0);
    CHECK(kernel_sector * kSector >= df::PAYLOAD_HDR_SIZE);
    CHECK(h.u32(df::PH_KERNEL_SIZE) == kernel.size());
    CHECK(slice(disk, base + kernel_sector * kSector, kernel.size()) == kernel);
    CHECK(h.field(df::PH_KERNEL_FLETCHER64) == fletcher64(kernel));

    CHECK(h.u32(df::PH_INITRD_SIZE) == initrd.size());
    if (!initrd.empty()) {
        const std::uint64_t initrd_sector = *h.u32(df::PH_INITRD_SECTOR);
        CHECK(initrd_sector * kSector % df::PAYLOAD_ALIGN == 0);
        CHECK(initrd_sector * kSector >= kernel_sector * kSector + kernel.size());
        CHECK(slice(disk, base + initrd_sector * kSector, initrd.size()) == initrd);
        CHECK(h.field(df::PH_INITRD_FLETCHER64) == fletcher64(initrd));
    }
    const std::uint64_t header_sum = *h.field(df::PH_HEADER_FLETCHER64);
    put(header, df::PH_HEADER_FLETCHER64, 0);
    CHECK(header_sum == fletcher64(header));

    // Everything the payload needs lies inside the partition.
    const std::uint64_t payload_end = layout_payload(kernel.size(), initrd.size()).total_bytes;
    CHECK(payload_end <= std::uint64_t{entry.lba_count} * kSector);
}

// The flags --debug-disk must leave in the MBR's and stage 2's parameter blocks.
struct DebugDiskFlags {
    std::uint64_t mbr = 0;
    std::uint64_t stage2 = 0;
};

// Boot code in place: the embedded blobs with only their parameter blocks changed,
// the flags those of `flags` (zero in a normal install).
void check_boot_code(const Bytes& disk, std::uint64_t payload_lba, DebugDiskFlags flags = {}) {
    const BootCode code = embedded_boot_code();
    const std::uint64_t s2_sectors = code.stage2.size() / kSector;
    Bytes mbr = slice(disk, 0, df::MBR_BOOTCODE_SIZE);
    ByteView m(mbr);
    CHECK(m.u32(df::MBR_PARAM_MAGIC_OFF) == df::MBR_PARAM_MAGIC);
    CHECK(m.u32(df::MBR_PARAM_STAGE2_LBA) == df::STAGE2_LBA);
    CHECK(m.u16(df::MBR_PARAM_STAGE2_SECTS) == s2_sectors);
    CHECK(m.u8(df::MBR_PARAM_FLAGS) == flags.mbr);
    Bytes expected_mbr = code.mbr;
    std::copy(mbr.begin() + df::MBR_PARAM_STAGE2_LBA, mbr.begin() + df::MBR_PARAM_STAGE2_SECTS + 2,
              expected_mbr.begin() + df::MBR_PARAM_STAGE2_LBA);
    expected_mbr[df::MBR_PARAM_FLAGS] = mbr[df::MBR_PARAM_FLAGS];  // checked above
    CHECK(difference(mbr, expected_mbr) == "");

    Bytes stage2 = slice(disk, df::STAGE2_LBA * kSector, code.stage2.size());
    ByteView s(stage2);
    CHECK(s.u32(df::S2_PARAM_MAGIC_OFF) == df::S2_PARAM_MAGIC);
    CHECK(s.u32(df::S2_PARAM_PAYLOAD_LBA) == payload_lba);
    CHECK(s.u16(df::S2_PARAM_SECTORS) == s2_sectors);
    CHECK(s.u16(df::S2_PARAM_FLAGS) == flags.stage2);
    Bytes expected_stage2 = code.stage2;
    std::copy(stage2.begin() + df::S2_PARAM_PAYLOAD_LBA, stage2.begin() + df::S2_PARAM_FLAGS + 2,
              expected_stage2.begin() + df::S2_PARAM_PAYLOAD_LBA);  // flags checked above
    CHECK(difference(stage2, expected_stage2) == "");
}

// Run a refused install and check that it says why and left the image untouched.
void check_refused_unchanged(const Workspace& ws, const std::string& expected_message) {
    const Bytes before = read_file(ws.image);
    CommandResult r = ws.install();
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::StartsWith("bzinstall: refused: ") && Catch::Contains(expected_message));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(difference(read_file(ws.image), before) == "");
}

}  // namespace

TEST_CASE("a new image has its table, boot code, header, checksums and files in place", "[image]") {
    Workspace ws;
    CommandResult r = ws.install("--cmdline 'console=ttyS0 quiet'");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);

    const Bytes disk = read_file(ws.image);
    // 1 MiB for MBR and gap, plus the ~100 KB payload rounded up to 1 MiB.
    CHECK(disk.size() == 2 * kMiB);
    CHECK(ByteView(disk).u16(df::MBR_SIGNATURE_OFFSET) == df::MBR_SIGNATURE);
    CHECK(disk_signature(disk) != 0);

    PartitionTable table = read_partition_table(disk);
    REQUIRE(table[0].used());
    CHECK(table[0].active());
    CHECK(table[0].type == df::BZ_PART_TYPE);
    CHECK(table[0].lba_start == df::BZ_PART_ALIGN_SECTORS);
    CHECK(table[0].lba_count == kMiBSectors);
    CHECK(table_entry_bytes(disk, 0)[1] == 32);  // CHS head of LBA 2048, as fdisk writes it
    for (unsigned slot = 1; slot < df::MBR_PART_COUNT; ++slot) {
        CHECK(difference(table_entry_bytes(disk, slot), Bytes(df::MBR_PART_ENTRY_SIZE, 0)) == "");
    }
    check_boot_code(disk, table[0].lba_start);
    check_payload(disk, table[0], ws.kernel_bytes, ws.initrd_bytes, "console=ttyS0 quiet", df::PF_HANDOFF64);

    // The rest of the gap is zero.
    const std::uint64_t gap_used_end = (df::STAGE2_LBA * kSector) + embedded_boot_code().stage2.size();
    Bytes gap_rest = slice(disk, gap_used_end, kMiB - gap_used_end);
    CHECK(std::all_of(gap_rest.begin(), gap_rest.end(), [](std::uint8_t b) { return b == 0; }));

    // An independent reader agrees.
    nlohmann::json parts = sfdisk_partitions(ws.image);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0]["start"] == 2048);
    CHECK(parts[0]["size"] == 2048);
    CHECK(parts[0]["type"] == "7f");
    CHECK(parts[0]["bootable"] == true);
}

namespace {

// Installs with `option` and checks that the image is byte for byte a normal
// install's apart from the disk signature and the flag bytes `flags` sets.
void check_debug_disk_install(const std::string& option, DebugDiskFlags flags) {
    Workspace ws;
    REQUIRE(ws.install().exit_code == 0);
    const Bytes normal = read_file(ws.image);
    check_boot_code(normal, df::BZ_PART_ALIGN_SECTORS);
    fs::remove(ws.image);

    CommandResult r = ws.install(option);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const Bytes debug = read_file(ws.image);
    check_boot_code(debug, df::BZ_PART_ALIGN_SECTORS, flags);
    check_payload(debug, read_partition_table(debug)[0], ws.kernel_bytes, ws.initrd_bytes, "", df::PF_HANDOFF64);
    REQUIRE(debug.size() == normal.size());
    std::vector<std::uint64_t> differing;
    for (std::uint64_t i = 0; i < debug.size(); ++i) {
        const bool signature = i >= df::MBR_DISK_SIGNATURE && i < df::MBR_DISK_SIGNATURE + 4;
        if (debug[i] != normal[i] && !signature) {
            differing.push_back(i);
        }
    }
    std::vector<std::uint64_t> flag_bytes;
    if (flags.mbr != 0) {
        flag_bytes.push_back(df::MBR_PARAM_FLAGS);
    }
    if (flags.stage2 != 0) {
        flag_bytes.push_back(df::STAGE2_LBA * kSector + df::S2_PARAM_FLAGS);  // the low byte holds them
    }
    CHECK(differing == flag_bytes);
}

}  // namespace

TEST_CASE("debug disk: --debug-disk chs sets the MBR's and stage 2's CHS flags and nothing else", "[image]") {
    // The flags sit in the parameter blocks, where the MBR and stage 2 read them
    // before their first disk call (include/diskformat.inc MBR_PARAM_FLAGS, S2_PARAM_FLAGS).
    const BootCode code = embedded_boot_code();
    CHECK(code.mbr.at(df::MBR_PARAM_FLAGS) == 0);  // an unpatched template reads the normal way
    CHECK(ByteView(code.stage2).u16(df::S2_PARAM_FLAGS) == 0u);
    // CHS implies no DMA: stage 2 checks S2_FLAG_DEBUG_CHS itself, so the int13 flag stays clear.
    check_debug_disk_install("--debug-disk chs", {df::MBR_FLAG_DEBUG_CHS, df::S2_FLAG_DEBUG_CHS});
}

TEST_CASE("debug disk: --debug-disk int13 sets stage 2's INT 13h flag and nothing else", "[image]") {
    // The MBR always reads through INT 13h: only stage 2's block changes.
    check_debug_disk_install("--debug-disk int13", {0, df::S2_FLAG_DEBUG_INT13});
}

TEST_CASE("two new images get different disk signatures", "[image]") {
    Workspace ws;
    REQUIRE(ws.install().exit_code == 0);
    const std::uint32_t first = disk_signature(read_file(ws.image));
    fs::remove(ws.image);
    REQUIRE(ws.install().exit_code == 0);
    CHECK(disk_signature(read_file(ws.image)) != first);
}

TEST_CASE("a --size option makes a bigger image whose payload partition fills it", "[image]") {
    Workspace ws;
    CommandResult r = ws.install("--size 8M");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const Bytes disk = read_file(ws.image);
    CHECK(disk.size() == 8 * kMiB);
    PartitionTable table = read_partition_table(disk);
    CHECK(table[0].lba_start == kMiBSectors);
    CHECK(table[0].lba_count == 7 * kMiBSectors);
    check_payload(disk, table[0], ws.kernel_bytes, ws.initrd_bytes, "", df::PF_HANDOFF64);
}

TEST_CASE("a --size too small is refused and creates nothing", "[image]") {
    Workspace ws;
    CommandResult r = ws.install("--size 1M");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("needs"));
    CHECK_FALSE(fs::exists(ws.image));
}

TEST_CASE("installing beside an ext2 partition leaves it and the table intact", "[image][ext2]") {
    Workspace ws;
    const std::uint64_t ext2_bytes = 8 * kMiB;
    make_partitioned_image(ws.image, 16 * kMiB, "start=2048, size=16384, type=83");
    Bytes ext2 = make_ext2(ws.dir, ext2_bytes);
    {
        Bytes disk = read_file(ws.image);
        std::copy(ext2.begin(), ext2.end(), disk.begin() + kMiB);
        write_file(ws.image, disk);
    }
    const Bytes before = read_file(ws.image);
    const PartitionEntry ext2_entry = read_partition_table(before)[0];
    REQUIRE(ext2_entry.lba_start == 2048);

    CommandResult r = ws.install("--cmdline first");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    Bytes after = read_file(ws.image);

    CHECK(after.size() == before.size());
    CHECK(difference(partition_bytes(after, ext2_entry), ext2) == "");
    CHECK(disk_signature(after) == disk_signature(before));
    CHECK(difference(table_entry_bytes(after, 0), table_entry_bytes(before, 0)) == "");
    e2fsck_is_clean(ws.dir, partition_bytes(after, ext2_entry));

    PartitionTable table = read_partition_table(after);
    REQUIRE(table[1].type == df::BZ_PART_TYPE);
    CHECK(table[1].lba_start == 9 * kMiBSectors);  // next 1 MiB boundary after the ext2 partition
    CHECK(table[1].active());                      // nothing else was active
    CHECK_FALSE(table[2].used());
    CHECK_FALSE(table[3].used());
    check_boot_code(after, table[1].lba_start);
    check_payload(after, table[1], ws.kernel_bytes, ws.initrd_bytes, "first", df::PF_HANDOFF64);

    SECTION("re-installing replaces bzboot's partition instead of adding one") {
        ws.kernel_bytes = FakeKernel{}.bytes();
        ws.kernel_bytes.back() ^= 0xFF;  // a different kernel build
        write_file(ws.kernel, ws.kernel_bytes);
        CommandResult again = ws.install("--cmdline second --handoff 16");
        INFO(again.output);
        REQUIRE(again.exit_code == 0);
        CHECK_THAT(again.output, Catch::Contains("replaced"));

        Bytes disk = read_file(ws.image);
        PartitionTable now = read_partition_table(disk);
        CHECK(difference(table_entry_bytes(disk, 0), table_entry_bytes(before, 0)) == "");
        CHECK(now[1].type == df::BZ_PART_TYPE);
        CHECK(now[1].lba_start == table[1].lba_start);
        CHECK_FALSE(now[2].used());
        CHECK_FALSE(now[3].used());
        check_payload(disk, now[1], ws.kernel_bytes, ws.initrd_bytes, "second", 0);
        CHECK(difference(partition_bytes(disk, ext2_entry), ext2) == "");
        CHECK(disk_signature(disk) == disk_signature(before));
        CHECK(sfdisk_partitions(ws.image).size() == 2);
    }
}

TEST_CASE("re-installing into a bzinstall-made image keeps one partition", "[image]") {
    Workspace ws;
    REQUIRE(ws.install("--size 4M --cmdline one").exit_code == 0);
    const Bytes first = read_file(ws.image);
    REQUIRE(ws.install("--cmdline two").exit_code == 0);
    const Bytes second = read_file(ws.image);
    PartitionTable table = read_partition_table(second);
    CHECK(table[0].type == df::BZ_PART_TYPE);
    CHECK(table[0].lba_start == kMiBSectors);
    CHECK_FALSE(table[1].used());
    CHECK(disk_signature(second) == disk_signature(first));
    check_payload(second, table[0], ws.kernel_bytes, ws.initrd_bytes, "two", df::PF_HANDOFF64);
}

TEST_CASE("a 0x7F partition without bzboot's magic is someone else's and stays", "[image]") {
    Workspace ws;
    make_partitioned_image(ws.image, 8 * kMiB, "start=2048, size=2048, type=7f");
    {
        Bytes disk = read_file(ws.image);
        Bytes foreign = pattern_bytes(kMiB, 5);
        std::copy(foreign.begin(), foreign.end(), disk.begin() + kMiB);
        write_file(ws.image, disk);
    }
    const Bytes before = read_file(ws.image);
    REQUIRE(ws.install().exit_code == 0);
    const Bytes after = read_file(ws.image);
    PartitionTable table = read_partition_table(after);
    CHECK(difference(table_entry_bytes(after, 0), table_entry_bytes(before, 0)) == "");
    CHECK(difference(partition_bytes(after, table[0]), partition_bytes(before, table[0])) == "");
    REQUIRE(table[1].type == df::BZ_PART_TYPE);
    CHECK(table[1].lba_start == 2 * kMiBSectors);
}

TEST_CASE("an all-zero existing file is treated as a blank disk", "[image]") {
    Workspace ws;
    write_file(ws.image, Bytes(4 * kMiB, 0));
    REQUIRE(ws.install().exit_code == 0);
    const Bytes disk = read_file(ws.image);
    CHECK(disk.size() == 4 * kMiB);
    CHECK(disk_signature(disk) != 0);
    PartitionTable table = read_partition_table(disk);
    CHECK(table[0].lba_start == kMiBSectors);
    CHECK(table[0].lba_count == 3 * kMiBSectors);
    check_payload(disk, table[0], ws.kernel_bytes, ws.initrd_bytes, "", df::PF_HANDOFF64);
}

TEST_CASE("a GPT disk is refused and left unchanged", "[image][refuse]") {
    Workspace ws;
    make_partitioned_image(ws.image, 16 * kMiB, "label: gpt\nstart=2048, size=4096, type=L");
    check_refused_unchanged(ws, "GPT");
}

TEST_CASE("an image without room after the last partition is refused and left unchanged", "[image][refuse]") {
    Workspace ws;
    // The partition ends 1 sector short of the end of the file.
    make_partitioned_image(ws.image, 9 * kMiB, "start=2048, size=16383, type=83");
    check_refused_unchanged(ws, "needs");
}

TEST_CASE("a partition inside stage 2's gap is refused and the file left unchanged", "[image][refuse]") {
    Workspace ws;
    make_partitioned_image(ws.image, 16 * kMiB, "start=2048, size=2048, type=83");
    {
        // sfdisk will not place a partition this low: write the entry by hand.
        Bytes disk = read_file(ws.image);
        PartitionEntry low;
        low.type = 0x83;
        low.lba_start = df::STAGE2_LBA + 1;
        low.lba_count = 10;
        write_partition_entry(disk, 1, low);
        write_file(ws.image, disk);
    }
    check_refused_unchanged(ws, "gap");
}

TEST_CASE("a partition right after stage 2 is fine", "[image]") {
    Workspace ws;
    const std::uint64_t stage2_end = df::STAGE2_LBA + embedded_boot_code().stage2.size() / kSector;
    make_partitioned_image(ws.image, 8 * kMiB, fmt::format("start={}, size=100, type=83", stage2_end));
    const Bytes before = read_file(ws.image);
    CommandResult r = ws.install();
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const Bytes after = read_file(ws.image);
    PartitionTable table = read_partition_table(after);
    CHECK(difference(table_entry_bytes(after, 0), table_entry_bytes(before, 0)) == "");
    CHECK(difference(partition_bytes(after, table[0]), partition_bytes(before, table[0])) == "");
    CHECK(table[1].lba_start == kMiBSectors);
}

TEST_CASE("an image whose four slots are used is refused and left unchanged", "[image][refuse]") {
    Workspace ws;
    make_partitioned_image(ws.image, 64 * kMiB,
                           "start=2048, size=2048, type=83\nstart=4096, size=2048, type=83\n"
                           "start=6144, size=2048, type=83\nstart=8192, size=2048, type=83");
    check_refused_unchanged(ws, "slots");
}

TEST_CASE("sector 0 without 0x55AA that is not blank is refused and left unchanged", "[image][refuse]") {
    Workspace ws;
    write_file(ws.image, pattern_bytes(4 * kMiB, 6));
    check_refused_unchanged(ws, "no MBR partition table");
}

TEST_CASE("the real Debian kernel installs", "[image][real-kernel]") {
    const fs::path real = cached_kernel_path();
    if (!fs::exists(real)) {
        // Not a pass: ctest reports the test as skipped (tests/unit/CMakeLists.txt).
        std::cout << kSkipped << " " << real << " does not exist (scripts/setup fetches the default kernel)"
                  << std::endl;
        return;
    }
    const Bytes kernel = read_file(real);
    KernelHeader header;
    REQUIRE_NOTHROW(header = parse_kernel_header(kernel));
    CHECK(header.protocol >= 0x020F);
    CHECK((header.xloadflags & bootproto::XLF_KERNEL_64) != 0);
    CHECK(header.cmdline_max == 2047);

    Workspace ws;
    CommandResult r = run_bzinstall(fmt::format("--kernel {} --handoff 64 --la57 --cmdline 'console=ttyS0' {}",
                                                quoted(real.string()), quoted(ws.image.string())));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const Bytes disk = read_file(ws.image);
    PartitionTable table = read_partition_table(disk);
    check_payload(disk, table[0], kernel, Bytes{}, "console=ttyS0", df::PF_HANDOFF64 | df::PF_LA57);
    CHECK(disk.size() == kMiB + round_up(df::PAYLOAD_HDR_SIZE + kernel.size(), kMiB));
}

TEST_CASE("when another partition is active, the payload partition is not made active too", "[image]") {
    Workspace ws;
    make_partitioned_image(ws.image, 8 * kMiB, "start=2048, size=2048, type=83, bootable");
    const Bytes before = read_file(ws.image);
    REQUIRE(read_partition_table(before)[0].active());
    REQUIRE(ws.install().exit_code == 0);
    const Bytes after = read_file(ws.image);
    PartitionTable table = read_partition_table(after);
    CHECK(difference(table_entry_bytes(after, 0), table_entry_bytes(before, 0)) == "");
    REQUIRE(table[1].type == df::BZ_PART_TYPE);
    CHECK_FALSE(table[1].active());
}
