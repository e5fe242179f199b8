// payload.h - the payload partition's contents: a 4 KiB header (diskformat.inc PH_*),
// then the kernel file, then the initrd file, each on a PAYLOAD_ALIGN boundary.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"

namespace bzinstall {

using bzboot::Bytes;
using bzboot::ByteView;

// Where each piece goes, in bytes from the start of the partition.
struct PayloadLayout {
    std::uint64_t kernel_offset = 0;
    std::uint64_t kernel_size = 0;
    std::uint64_t initrd_offset = 0;  // 0 when there is no initrd
    std::uint64_t initrd_size = 0;
    std::uint64_t total_bytes = 0;  // end of the last piece
};

PayloadLayout layout_payload(std::uint64_t kernel_size, std::uint64_t initrd_size);

// The PAYLOAD_HDR_SIZE-byte header describing `kernel`, `initrd` (may be empty) and
// `cmdline`, laid out as `layout` says, with their checksums (fletcher64.h) and its
// own. `flags` holds PF_* bits.
Bytes build_payload_header(const PayloadLayout& layout, ByteView kernel, ByteView initrd, const std::string& cmdline,
                           std::uint32_t flags);

// True when `bytes` starts with the "BZBOOTPL" magic (bzboot wrote this partition).
bool has_payload_magic(ByteView bytes);

}  // namespace bzinstall
