// kernel_header.h - read and judge a bzImage's real-mode header (boot.rst,
// "The Real-Mode Kernel Header") before bzinstall writes anything.
//
// parse_kernel_header() takes raw bytes of unknown origin: it never reads out of
// bounds, and the only exception it throws is Refusal (errors.h), so it can be fuzzed
// directly. Each check here throws Refusal with a one-line reason; the caller prefixes
// the file the reason is about.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"

namespace bzinstall {

using bzboot::Bytes;
using bzboot::ByteView;

// What bzinstall needs to know about a kernel that passed every check.
struct KernelHeader {
    std::uint16_t protocol = 0;  // e.g. 0x020F for 2.15
    unsigned setup_sects = 0;    // after "0 means 4"
    std::uint8_t loadflags = 0;
    std::uint16_t xloadflags = 0;       // 0 before protocol 2.12
    std::uint32_t cmdline_max = 0;      // longest command line, without the NUL
    std::uint32_t initrd_addr_max = 0;  // highest byte address an initrd may occupy
    std::uint64_t setup_bytes = 0;      // boot sector + setup: (setup_sects + 1) * 512
    std::uint64_t protected_mode_bytes = 0;
};

// The header of `image`; throws Refusal when the bytes are not a kernel bzboot can load.
KernelHeader parse_kernel_header(ByteView image);

// What the user asks bzinstall to boot the kernel with.
struct BootRequest {
    std::string cmdline;
    bool handoff64 = false;
    bool la57 = false;
};

// Throws Refusal saying why `request` cannot work with `kernel`.
void check_boot_request(const KernelHeader& kernel, const BootRequest& request);

// Throws Refusal saying why an initrd of `size` bytes cannot be loaded for `kernel`.
void check_initrd(const KernelHeader& kernel, std::uint64_t size);

// "2.15" for 0x020F.
std::string protocol_string(std::uint16_t protocol);

}  // namespace bzinstall
