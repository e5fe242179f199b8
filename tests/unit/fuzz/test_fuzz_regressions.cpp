// Bugs the fuzzers (fuzz/) found, each rebuilt from a readable input. The sanitized
// build of these tests ("fuzz regressions asan:") is the one that catches the
// undefined behaviour; the plain build checks the answers.
#include <catch2/catch.hpp>

#include <elf.h>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "boot_code.h"
#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"
#include "install_plan.h"
#include "partition_table.h"
#include "snapshot.h"

namespace df = diskformat;
using bzboot::Bytes;

namespace {

constexpr std::uint64_t kSector = bootproto::SECTOR_SIZE;
constexpr std::uint64_t kImageBytes = 16 << 20;
constexpr std::uint32_t kDiskSignature = 0x2B2B2B2B;

// --- installer ----------------------------------------------------------------------

bzinstall::ExistingImage in_memory(const Bytes& disk) {
    return bzinstall::ExistingImage{
        disk.size(), [&disk](std::uint64_t offset, std::size_t count) {
            const std::uint64_t n = offset >= disk.size() ? 0 : std::min<std::uint64_t>(count, disk.size() - offset);
            return Bytes(disk.begin() + offset, disk.begin() + offset + n);
        }};
}

bzinstall::InstallRequest small_request() {
    bzinstall::InstallRequest request;
    request.kernel = Bytes(20000, 0xC3);  // the planner never looks inside the kernel
    request.boot_code = bzinstall::embedded_boot_code();
    return request;
}

// --- snapshot -----------------------------------------------------------------------

constexpr std::uint32_t kQemuNoteType = 0;
constexpr std::uint32_t kBzcheckNoteType = 1;
constexpr std::size_t kQemuCpuStateSize = 440;  // QEMUCPUState version 1

Bytes elf_note(const std::string& name, std::uint32_t type, const Bytes& desc) {
    constexpr std::size_t kHeader = 12;  // namesz, descsz, type; then name and desc, each padded to 4
    const std::size_t desc_at = kHeader + bzboot::round_up(name.size() + 1, 4);
    Bytes note(desc_at + bzboot::round_up(desc.size(), 4), 0);
    bzboot::put_u32(note, 0, name.size() + 1);
    bzboot::put_u32(note, 4, desc.size());
    bzboot::put_u32(note, 8, type);
    std::copy(name.begin(), name.end(), note.begin() + kHeader);
    std::copy(desc.begin(), desc.end(), note.begin() + desc_at);
    return note;
}

// QEMU's CPU-state note with every register 0.
Bytes qemu_cpu_note() {
    Bytes state(kQemuCpuStateSize, 0);
    bzboot::put_u32(state, 0, 1);                  // version
    bzboot::put_u32(state, 4, kQemuCpuStateSize);  // size
    return elf_note("QEMU", kQemuNoteType, state);
}

Bytes bzcheck_note(const std::string& json) {
    return elf_note("BZCHECK", kBzcheckNoteType, Bytes(json.begin(), json.end()));
}

Bytes concat(Bytes first, const Bytes& second) {
    first.insert(first.end(), second.begin(), second.end());
    return first;
}

// An x86-64 ELF core without RAM: one PT_NOTE segment per element of `segments`.
Bytes core_file(const std::vector<Bytes>& segments) {
    Elf64_Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_CORE;
    ehdr.e_machine = EM_X86_64;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_phoff = sizeof ehdr;
    ehdr.e_ehsize = sizeof ehdr;
    ehdr.e_phentsize = sizeof(Elf64_Phdr);
    ehdr.e_phnum = static_cast<Elf64_Half>(segments.size());

    std::vector<Elf64_Phdr> phdrs;
    std::uint64_t offset = sizeof ehdr + segments.size() * sizeof(Elf64_Phdr);
    for (const Bytes& segment : segments) {
        Elf64_Phdr phdr{};
        phdr.p_type = PT_NOTE;
        phdr.p_offset = offset;
        phdr.p_filesz = phdr.p_memsz = segment.size();
        phdrs.push_back(phdr);
        offset += segment.size();
    }
    Bytes file(sizeof ehdr + phdrs.size() * sizeof(Elf64_Phdr));
    std::memcpy(file.data(), &ehdr, sizeof ehdr);
    if (!phdrs.empty()) std::memcpy(file.data() + sizeof ehdr, phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr));
    for (const Bytes& segment : segments) file.insert(file.end(), segment.begin(), segment.end());
    return file;
}

}  // namespace

TEST_CASE("plan: a partition holding only sector 0 is refused", "[plan][fuzz]") {
    // Found by fuzz_install_plan: the stage 2 gap check started at sector 1, so a
    // one-sector partition at LBA 0 passed and the new boot code overwrote its byte.
    Bytes disk(kImageBytes, 0);
    bzboot::put_u16(disk, df::MBR_SIGNATURE_OFFSET, df::MBR_SIGNATURE);
    bzinstall::PartitionEntry linux_part;
    linux_part.type = 0x83;
    linux_part.lba_start = df::BZ_PART_ALIGN_SECTORS;
    linux_part.lba_count = df::BZ_PART_ALIGN_SECTORS;
    bzinstall::write_partition_entry(disk, 0, linux_part);
    bzinstall::PartitionEntry mbr_part;
    mbr_part.type = 0xFF;
    mbr_part.lba_start = 0;
    mbr_part.lba_count = 1;
    bzinstall::write_partition_entry(disk, 3, mbr_part);

    CHECK_THROWS_WITH(bzinstall::plan_existing_image(small_request(), in_memory(disk), kDiskSignature),
                      Catch::Contains("partition 4") && Catch::Contains("sector 0"));

    // Without it the same disk is fine.
    bzinstall::write_partition_entry(disk, 3, bzinstall::PartitionEntry{});
    CHECK_NOTHROW(bzinstall::plan_existing_image(small_request(), in_memory(disk), kDiskSignature));
}

TEST_CASE("snapshot: an empty note segment holds no notes", "[snapshot][fuzz]") {
    // Found by fuzz_snapshot: reading the 0 bytes of a PT_NOTE with p_filesz 0 passed
    // a null pointer to memcpy (undefined behaviour, reported by UBSan).
    const bzcheck::Snapshot snap = bzcheck::parse_snapshot(core_file({Bytes{}, qemu_cpu_note()}));
    CHECK(snap.ram.empty());
    CHECK_FALSE(snap.has_bzcheck_note);
}

TEST_CASE("snapshot: a BZCHECK note whose format is no number 1 is a SnapshotError", "[snapshot][fuzz]") {
    // Found by fuzz_snapshot: note.value("format", 0) threw nlohmann's type_error for a
    // string (bzcheck died in std::terminate) and converted 1e300 to int (undefined).
    const std::string rest = R"(, "handoff": 64, "efer": "0x500"})";
    for (const std::string format : {R"("1")", "1e300", "null", "[1]", "2"}) {
        INFO("format " << format);
        const Bytes file = core_file({concat(qemu_cpu_note(), bzcheck_note(R"({"format": )" + format + rest))});
        CHECK_THROWS_AS(bzcheck::parse_snapshot(file), bzcheck::SnapshotError);
    }
    const bzcheck::Snapshot snap =
        bzcheck::parse_snapshot(core_file({concat(qemu_cpu_note(), bzcheck_note(R"({"format": 1)" + rest))}));
    CHECK(snap.has_bzcheck_note);
    CHECK(snap.cpu.efer == 0x500);
}
