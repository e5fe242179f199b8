// kernel_image.cpp - the bzImage header, read as boot.rst describes it.
#include "kernel_image.h"

#include "bootproto.h"
#include "common/bytes.h"

#include <fmt/format.h>

namespace bzcheck {
namespace bp = bootproto;

KernelImage parse_kernel(std::vector<std::uint8_t> bytes) {
    KernelImage k;
    if (bytes.size() < bp::HDR_KERNEL_INFO_OFFSET.end()) throw InputError("kernel file is too short to be a bzImage");
    // Every field below lies before kernel_info_offset's end: inside bytes.
    const bzboot::ByteView file(bytes);
    const auto field = [&](bzboot::Field f) { return file.field(f).value_or(0); };
    if (field(bp::HDR_HEADER) != bp::HDRS_MAGIC) throw InputError("kernel file has no \"HdrS\" header");
    k.version = static_cast<std::uint16_t>(field(bp::HDR_VERSION));
    if (k.version < bp::PROTOCOL_MIN)
        throw InputError(fmt::format("kernel protocol {:#x} is older than 2.02", k.version));
    std::uint64_t sects = field(bp::HDR_SETUP_SECTS);
    if (sects == 0) sects = bp::SETUP_SECTS_DEFAULT;
    k.setup_size = (sects + 1) * bp::SECTOR_SIZE;
    if (k.setup_size >= bytes.size()) throw InputError("kernel file is shorter than its setup_sects claim");
    // The jump's second byte is its displacement: the header ends where it lands.
    k.header_end = bp::HDR_HEADER + (field(bp::HDR_JUMP) >> 8);
    if (k.header_end > k.setup_size) throw InputError("kernel setup header runs past the setup");
    k.cmdline_size = k.version >= bp::PROTOCOL_2_06 ? static_cast<std::uint32_t>(field(bp::HDR_CMDLINE_SIZE))
                                                    : bp::CMDLINE_SIZE_PRE_2_06;
    if (k.version >= bp::PROTOCOL_2_10) {
        k.pref_address = field(bp::HDR_PREF_ADDRESS);
        k.init_size = static_cast<std::uint32_t>(field(bp::HDR_INIT_SIZE));
    } else {
        k.pref_address = bp::BZIMAGE_LOAD_ADDR;
    }
    k.bytes = std::move(bytes);
    return k;
}

}  // namespace bzcheck
