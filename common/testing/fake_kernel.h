// fake_kernel.h - small synthetic bzImages for the unit tests of both tools.
//
// FakeKernel{}.bytes() is a file whose real-mode header passes every check bzinstall
// and bzcheck make, as a Debian 6.x kernel's does; the rest is a reproducible pattern.
// A test changes one member (or patches one field of bytes()) to break exactly one rule.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bootproto.h"
#include "common/bytes.h"

namespace bzboot::testing {

struct FakeKernel {
    std::uint16_t protocol = 0x020F;  // 2.15, like Debian's 6.1 kernels
    std::uint8_t setup_sects = 4;     // as stored: 0 means SETUP_SECTS_DEFAULT
    std::uint8_t loadflags = bootproto::LOADED_HIGH;
    std::uint16_t xloadflags = bootproto::XLF_KERNEL_64 | bootproto::XLF_CAN_BE_LOADED_ABOVE_4G;
    std::uint32_t cmdline_size = 2047;
    std::uint32_t initrd_addr_max = 0x7FFFFFFF;
    std::uint32_t code32_start = bootproto::BZIMAGE_LOAD_ADDR;
    std::uint64_t pref_address = 0x1000000;
    std::uint32_t init_size = 0x400000;
    // The jump at HDR_JUMP (EB disp8) skips the header: it ends at HDR_HEADER + this
    // (0x26C, as in 6.x kernels).
    std::uint8_t header_jump = 0x6A;
    std::uint64_t protected_mode_bytes = 20000;  // deliberately not a multiple of 16 or 512
    unsigned pattern_seed = 1;                   // of the bytes outside the header

    // Boot sector + setup (setup_sects + 1 sectors) + protected-mode part. The header
    // area [HDR_SETUP_SECTS, HDR_KERNEL_INFO_OFFSET + 4) is zero but for the fields
    // above, the boot flag, "HdrS" and syssize; the sentinel byte before it is 0xFF.
    Bytes bytes() const;

    // Bytes of the boot sector and setup: (effective setup_sects + 1) * 512.
    std::uint64_t setup_bytes() const;
};

// `size` bytes of a reproducible non-trivial pattern (distinct per `seed`).
Bytes pattern_bytes(std::size_t size, unsigned seed);

}  // namespace bzboot::testing
