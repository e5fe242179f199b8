// kernel_image.h - the bzImage file `bzcheck verify` compares the snapshot with.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace bzcheck {

// A --kernel / --initrd file that cannot be what it claims (exit code 2).
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The bzImage as a file: real-mode part (boot sector + setup) and payload.
struct KernelImage {
    std::vector<std::uint8_t> bytes;
    std::uint64_t setup_size = 0;  // (setup_sects + 1) * 512
    std::uint16_t version = 0;
    std::uint64_t header_end = 0;  // 0x202 + the jump's displacement byte
    std::uint32_t init_size = 0;
    std::uint64_t pref_address = 0;
    std::uint32_t cmdline_size = 0;
};
// Throws InputError unless bytes hold a bzImage with protocol >= 2.02.
KernelImage parse_kernel(std::vector<std::uint8_t> bytes);

}  // namespace bzcheck
