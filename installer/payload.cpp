#include "payload.h"

#include <algorithm>
#include <stdexcept>

#include "bootproto.h"
#include "diskformat.h"
#include "fletcher64.h"

namespace bzinstall {
namespace df = diskformat;
using bzboot::put;
using bzboot::put_u32;
using bzboot::round_up;

PayloadLayout layout_payload(std::uint64_t kernel_size, std::uint64_t initrd_size) {
    PayloadLayout layout;
    layout.kernel_offset = round_up(df::PAYLOAD_HDR_SIZE, df::PAYLOAD_ALIGN);
    layout.kernel_size = kernel_size;
    layout.total_bytes = layout.kernel_offset + kernel_size;
    if (initrd_size > 0) {
        layout.initrd_offset = round_up(layout.total_bytes, df::PAYLOAD_ALIGN);
        layout.initrd_size = initrd_size;
        layout.total_bytes = layout.initrd_offset + initrd_size;
    }
    return layout;
}

Bytes build_payload_header(const PayloadLayout& layout, ByteView kernel, ByteView initrd, const std::string& cmdline,
                           std::uint32_t flags) {
    if (cmdline.size() > df::PH_CMDLINE_MAX) {
        throw std::logic_error("command line longer than PH_CMDLINE_MAX reached the payload header");
    }
    const std::uint64_t sector = bootproto::SECTOR_SIZE;
    Bytes header(df::PAYLOAD_HDR_SIZE, 0);
    put_u32(header, df::PH_MAGIC, df::PAYLOAD_MAGIC0);
    put_u32(header, df::PH_MAGIC + 4, df::PAYLOAD_MAGIC1);
    put(header, df::PH_VERSION, df::PAYLOAD_VERSION);
    put(header, df::PH_FLAGS, flags);
    put(header, df::PH_CMDLINE_LEN, cmdline.size());
    put(header, df::PH_KERNEL_SECTOR, layout.kernel_offset / sector);
    put(header, df::PH_KERNEL_SIZE, layout.kernel_size);
    put(header, df::PH_INITRD_SECTOR, layout.initrd_offset / sector);
    put(header, df::PH_INITRD_SIZE, layout.initrd_size);
    put(header, df::PH_KERNEL_FLETCHER64, fletcher64(kernel));
    put(header, df::PH_INITRD_FLETCHER64, fletcher64(initrd));
    // The byte after the command line stays 0: its NUL.
    std::copy(cmdline.begin(), cmdline.end(), header.begin() + df::PH_CMDLINE);
    // Last: the header's own checksum, computed while its field is still 0.
    put(header, df::PH_HEADER_FLETCHER64, fletcher64(header));
    return header;
}

bool has_payload_magic(ByteView bytes) {
    return bytes.u32(df::PH_MAGIC) == df::PAYLOAD_MAGIC0 && bytes.u32(df::PH_MAGIC + 4) == df::PAYLOAD_MAGIC1;
}

}  // namespace bzinstall
