// install_plan.h - decide every byte bzinstall will write, before writing any.
//
// Planning reads the image (sector 0, and the first sector of any 0x7F partition to
// recognise a previous install) and either throws Refusal or returns a plan that
// write_plan() (image_file.h) carries out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "boot_code.h"
#include "common/bytes.h"
#include "payload.h"

namespace bzinstall {

using bzboot::Bytes;
using bzboot::ByteView;

// What to install: files already read and validated against the kernel header.
struct InstallRequest {
    Bytes kernel;
    Bytes initrd;  // empty: no initrd
    std::string cmdline;
    std::uint32_t payload_flags = 0;  // PF_* bits
    BootCode boot_code;
    BootCodeFlags boot_code_flags{};  // MBR_FLAG_* / S2_FLAG_* (tests only)
};

// The image as it is now. `read_at(offset, count)` returns up to `count` bytes
// (fewer at the end of the image).
struct ExistingImage {
    std::uint64_t size_bytes = 0;
    std::function<Bytes(std::uint64_t offset, std::size_t count)> read_at;
};

struct InstallPlan {
    std::uint64_t image_bytes = 0;   // size of the image (of the file to create, for a new one)
    unsigned slot = 0;               // partition table slot of the payload partition
    bool replaces_previous = false;  // slot held an earlier bzboot payload
    std::uint64_t payload_lba = 0;
    std::uint64_t payload_sectors = 0;
    PayloadLayout layout;
    Bytes payload_header;  // PAYLOAD_HDR_SIZE bytes at payload_lba
    Bytes stage2;          // patched, at STAGE2_LBA
    Bytes mbr_sector;      // the complete new sector 0
};

// Plan a fresh image of `image_bytes` (0: just big enough). `disk_signature` must be non-zero.
InstallPlan plan_new_image(const InstallRequest& request, std::uint64_t image_bytes, std::uint32_t disk_signature);

// Plan an install into `image`, keeping every existing partition and its bytes.
// `disk_signature` is used only when sector 0 is blank.
InstallPlan plan_existing_image(const InstallRequest& request, const ExistingImage& image,
                                std::uint32_t disk_signature);

// The smallest image that holds the payload: 1 MiB for MBR and gap, plus the payload
// rounded up to 1 MiB.
std::uint64_t fitted_image_bytes(const InstallRequest& request);

}  // namespace bzinstall
