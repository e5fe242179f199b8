// fuzz_kernel_header - libFuzzer target: the input is a bzImage file.
//
// bzinstall::parse_kernel_header() must accept or refuse (throw Refusal) any bytes
// without reading out of bounds; any other exception counts as a crash. A header it
// accepts is then fed to check_boot_request() and check_initrd() at and around their
// limits. bzcheck's own reader of the same file,
// bzcheck::parse_kernel(), gets the same bytes. Properties the callers rely on are
// checked with require(): a violation aborts like a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"
#include "kernel_header.h"
#include "require.h"
#include "rules.h"

namespace {
namespace bp = bootproto;
using bzinstall::BootRequest;
using bzinstall::KernelHeader;

void require(bool condition, const char* property) { fuzz::require(condition, "fuzz_kernel_header", property); }

// Whether `check` returns (true) or refuses with a one-line reason (false).
template <typename Check>
bool accepts(Check check) {
    try {
        check();
        return true;
    } catch (const bzinstall::Refusal& e) {
        require(e.what()[0] != '\0', "a refusal has a reason");
        return false;
    }
}

constexpr std::uint64_t kInitrdLowestAddress = 1 << 20;  // as kernel_header.cpp
constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();
// cmdline_max comes from the file and may be 4 GiB: command lines longer than the
// payload header's limit are all refused alike, so none longer is built.
constexpr std::uint64_t kLongestCmdline = diskformat::PH_CMDLINE_MAX + 1;

void check_header(const KernelHeader& k, std::size_t file_size) {
    require(k.protocol >= bp::PROTOCOL_MIN, "protocol >= 2.02");
    require(k.loadflags & bp::LOADED_HIGH, "LOADED_HIGH set");
    require(k.setup_sects >= 1 && k.setup_sects <= bp::SETUP_SECTS_MAX, "setup_sects in 1..SETUP_SECTS_MAX");
    require(k.setup_bytes == (k.setup_sects + 1) * bp::SECTOR_SIZE, "setup_bytes from setup_sects");
    require(k.setup_bytes + k.protected_mode_bytes == file_size, "setup + protected mode = whole file");
    require(k.protected_mode_bytes > 0, "a protected-mode part");
    require(k.protocol >= bp::PROTOCOL_2_12 || k.xloadflags == 0, "no xloadflags before 2.12");
}

void check_requests(const KernelHeader& k) {
    const std::uint64_t limit = std::min<std::uint64_t>(k.cmdline_max, kLongestCmdline);
    for (std::uint64_t length : {std::uint64_t{0}, limit, limit + 1}) {
        for (int entry = 0; entry < 4; ++entry) {  // every combination of the two flags
            BootRequest request;
            request.cmdline.assign(length, 'x');
            request.handoff64 = entry & 1;
            request.la57 = entry & 2;
            const bool accepted = accepts([&] { bzinstall::check_boot_request(k, request); });
            const bool fits = length <= k.cmdline_max && length <= diskformat::PH_CMDLINE_MAX;
            const bool wants_64 = request.handoff64 || request.la57;
            const bool has_64 = k.protocol >= bp::PROTOCOL_2_12 && (k.xloadflags & bp::XLF_KERNEL_64);
            require(accepted == (fits && (!wants_64 || has_64)), "check_boot_request follows its rules");
        }
    }
    BootRequest with_nul;
    with_nul.cmdline = std::string("a\0b", 3);
    require(!accepts([&] { bzinstall::check_boot_request(k, with_nul); }), "a NUL in the command line is refused");
}

void check_initrds(const KernelHeader& k) {
    const std::uint64_t room_end = std::uint64_t{k.initrd_addr_max} + 1;
    const std::uint64_t room = room_end > kInitrdLowestAddress ? room_end - kInitrdLowestAddress : 0;
    for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, room, room + 1, kU32Max, kU32Max + 1,
                               std::numeric_limits<std::uint64_t>::max()}) {
        const bool accepted = accepts([&] { bzinstall::check_initrd(k, size); });
        require(accepted == (size >= 1 && size <= room && size <= kU32Max), "check_initrd follows its rules");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    KernelHeader header;
    if (accepts([&] { header = bzinstall::parse_kernel_header(bzboot::ByteView(data, size)); })) {
        check_header(header, size);
        check_requests(header);
        check_initrds(header);
    }

    try {
        const bzcheck::KernelImage image = bzcheck::parse_kernel(std::vector<std::uint8_t>(data, data + size));
        require(image.setup_size < size && image.header_end <= image.setup_size, "bzcheck: header inside setup");
    } catch (const bzcheck::InputError&) {
        // a refusal: fine
    }
    return 0;
}
