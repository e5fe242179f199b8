#include "common/testing/fake_kernel.h"

#include <algorithm>
#include <random>

namespace bzboot::testing {
namespace bp = bootproto;

namespace {
constexpr std::uint8_t kSentinelAsBuilt = 0xFF;  // what the kernel's build puts at BP_SENTINEL
constexpr std::uint8_t kShortJump = 0xEB;        // jmp rel8
constexpr std::uint64_t kSyssizeUnit = 16;       // syssize counts 16-byte paragraphs
}  // namespace

std::uint64_t FakeKernel::setup_bytes() const {
    const std::uint64_t sects = setup_sects == 0 ? bp::SETUP_SECTS_DEFAULT : setup_sects;
    return (sects + 1) * bp::SECTOR_SIZE;
}

Bytes FakeKernel::bytes() const {
    Bytes image = pattern_bytes(setup_bytes() + protected_mode_bytes, pattern_seed);
    // The real-mode header area starts zeroed, as in a real kernel, then gets the fields.
    std::fill(image.begin() + bp::HDR_SETUP_SECTS, image.begin() + bp::HDR_KERNEL_INFO_OFFSET.end(), 0);
    put(image, bp::BP_SENTINEL, kSentinelAsBuilt);
    put(image, bp::HDR_SETUP_SECTS, setup_sects);
    put(image, bp::HDR_SYSSIZE, round_up(protected_mode_bytes, kSyssizeUnit) / kSyssizeUnit);
    put(image, bp::HDR_BOOT_FLAG, bp::BOOT_FLAG_MAGIC);
    put_u8(image, bp::HDR_JUMP, kShortJump);
    put_u8(image, bp::HDR_JUMP + 1, header_jump);
    put(image, bp::HDR_HEADER, bp::HDRS_MAGIC);
    put(image, bp::HDR_VERSION, protocol);
    put(image, bp::HDR_LOADFLAGS, loadflags);
    put(image, bp::HDR_CODE32_START, code32_start);
    put(image, bp::HDR_INITRD_ADDR_MAX, initrd_addr_max);
    put(image, bp::HDR_XLOADFLAGS, xloadflags);
    put(image, bp::HDR_CMDLINE_SIZE, cmdline_size);
    put(image, bp::HDR_PREF_ADDRESS, pref_address);
    put(image, bp::HDR_INIT_SIZE, init_size);
    return image;
}

Bytes pattern_bytes(std::size_t size, unsigned seed) {
    std::mt19937 generator(seed);
    Bytes bytes(size);
    for (auto& b : bytes) {
        b = static_cast<std::uint8_t>(generator());
    }
    return bytes;
}

}  // namespace bzboot::testing
