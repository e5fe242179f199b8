#include "kernel_header.h"

#include <limits>

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"

namespace bzinstall {
namespace bp = bootproto;
using bzboot::round_up;

namespace {

// An initrd is never placed below 1 MiB (the real-mode area and the BIOS live there),
// so the room for it ends at initrd_addr_max and starts at 1 MiB at best.
constexpr std::uint64_t kInitrdLowestAddress = 1 << 20;
// The payload header stores sizes as u32.
constexpr std::uint64_t kPayloadSizeMax = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kSyssizeUnit = 16;  // syssize counts 16-byte paragraphs

}  // namespace

std::string protocol_string(std::uint16_t protocol) { return fmt::format("{}.{:02}", protocol >> 8, protocol & 0xFF); }

KernelHeader parse_kernel_header(ByteView image) {
    auto boot_flag = image.field(bp::HDR_BOOT_FLAG);
    if (!boot_flag) {
        throw Refusal(fmt::format("file is {} bytes, too short for a kernel boot sector", image.size));
    }
    if (*boot_flag != bp::BOOT_FLAG_MAGIC) {
        throw Refusal(fmt::format("no boot flag 0x{:04X} at 0x{:X} (found 0x{:04X}): not a bzImage",
                                  bp::BOOT_FLAG_MAGIC, bp::HDR_BOOT_FLAG, *boot_flag));
    }
    auto hdrs = image.field(bp::HDR_HEADER);
    if (!hdrs || *hdrs != bp::HDRS_MAGIC) {
        throw Refusal(
            fmt::format("no \"HdrS\" signature at 0x{:X}: kernel predates boot protocol 2.00", bp::HDR_HEADER));
    }

    KernelHeader k;
    k.protocol = image.field(bp::HDR_VERSION).value_or(0);
    if (k.protocol < bp::PROTOCOL_MIN) {
        throw Refusal(fmt::format("boot protocol {} is older than {}", protocol_string(k.protocol),
                                  protocol_string(bp::PROTOCOL_MIN)));
    }
    // Every field below lies inside the first sector after the boot sector, which the
    // length check further down guarantees; value_or(0) only guards truncated files
    // until that check has run.
    k.loadflags = image.field(bp::HDR_LOADFLAGS).value_or(0);
    if (!(k.loadflags & bp::LOADED_HIGH)) {
        throw Refusal("LOADED_HIGH is clear in loadflags: a zImage, bzboot loads only bzImages");
    }

    unsigned raw_setup_sects = image.field(bp::HDR_SETUP_SECTS).value_or(0);
    k.setup_sects = raw_setup_sects == 0 ? bp::SETUP_SECTS_DEFAULT : raw_setup_sects;
    if (k.setup_sects > bp::SETUP_SECTS_MAX) {
        throw Refusal(fmt::format("setup_sects {} exceeds {}: setup would not fit below X+0x{:X}", k.setup_sects,
                                  bp::SETUP_SECTS_MAX, bp::SETUP_HEAP_OFFSET));
    }
    k.setup_bytes = (k.setup_sects + 1) * bp::SECTOR_SIZE;
    if (image.size <= k.setup_bytes) {
        throw Refusal(fmt::format("truncated: file is {} bytes but setup alone takes {}", image.size, k.setup_bytes));
    }
    if (image.size > kPayloadSizeMax) {
        throw Refusal(fmt::format("file is {} bytes, larger than the payload format's 4 GiB limit", image.size));
    }
    k.protected_mode_bytes = image.size - k.setup_bytes;

    if (k.protocol >= bp::PROTOCOL_2_04) {
        // syssize is rounded up to whole paragraphs; a file ending inside the last one is whole.
        std::uint64_t syssize_bytes = std::uint64_t{image.field(bp::HDR_SYSSIZE).value_or(0)} * kSyssizeUnit;
        if (round_up(k.protected_mode_bytes, kSyssizeUnit) < syssize_bytes) {
            throw Refusal(fmt::format("truncated: protected-mode part is {} bytes but syssize says {}",
                                      k.protected_mode_bytes, syssize_bytes));
        }
    }

    k.xloadflags = k.protocol >= bp::PROTOCOL_2_12 ? image.field(bp::HDR_XLOADFLAGS).value_or(0) : 0;
    k.cmdline_max =
        k.protocol >= bp::PROTOCOL_2_06 ? image.field(bp::HDR_CMDLINE_SIZE).value_or(0) : bp::CMDLINE_SIZE_PRE_2_06;
    k.initrd_addr_max = k.protocol >= bp::PROTOCOL_2_03 ? image.field(bp::HDR_INITRD_ADDR_MAX).value_or(0)
                                                        : bp::INITRD_ADDR_MAX_PRE_2_03;
    return k;
}

void check_boot_request(const KernelHeader& kernel, const BootRequest& request) {
    const std::uint64_t cmdline_len = request.cmdline.size();
    if (cmdline_len > kernel.cmdline_max) {
        throw Refusal(fmt::format("command line is {} bytes, the kernel accepts at most {} (cmdline_size)", cmdline_len,
                                  kernel.cmdline_max));
    }
    if (cmdline_len > diskformat::PH_CMDLINE_MAX) {
        throw Refusal(fmt::format("command line is {} bytes, the payload header holds at most {}", cmdline_len,
                                  diskformat::PH_CMDLINE_MAX));
    }
    if (request.cmdline.find('\0') != std::string::npos) {
        throw Refusal("command line contains a NUL byte");
    }

    if (request.handoff64 || request.la57) {
        const char* what = request.la57 ? "--la57" : "--handoff 64";
        if (kernel.protocol < bp::PROTOCOL_2_12) {
            throw Refusal(fmt::format("{} needs boot protocol {} (64-bit entry), kernel has {}", what,
                                      protocol_string(bp::PROTOCOL_2_12), protocol_string(kernel.protocol)));
        }
        if (!(kernel.xloadflags & bp::XLF_KERNEL_64)) {
            throw Refusal(
                fmt::format("{} needs XLF_KERNEL_64 in xloadflags (kernel has 0x{:04X})", what, kernel.xloadflags));
        }
    }
}

void check_initrd(const KernelHeader& kernel, std::uint64_t size) {
    const std::uint64_t room_end = std::uint64_t{kernel.initrd_addr_max} + 1;
    const std::uint64_t room = room_end > kInitrdLowestAddress ? room_end - kInitrdLowestAddress : 0;
    if (size == 0) {
        throw Refusal("initrd is empty");
    }
    if (size > room) {
        throw Refusal(
            fmt::format("initrd is {} bytes, more than the {} bytes between 1 MiB and "
                        "initrd_addr_max 0x{:X}",
                        size, room, kernel.initrd_addr_max));
    }
    if (size > kPayloadSizeMax) {
        throw Refusal(fmt::format("initrd is {} bytes, larger than the payload format's 4 GiB limit", size));
    }
}

}  // namespace bzinstall
