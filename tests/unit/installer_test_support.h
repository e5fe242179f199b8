// installer_test_support.h - what the bzinstall tests share: synthetic bzImages,
// temporary directories, running the real bzinstall and other tools.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "bootproto.h"
#include "bytes.h"

namespace bztest {

using bzinstall::Bytes;
namespace fs = std::filesystem;

// A small bzImage whose header passes every check bzinstall makes. Tests change one
// field (or call bytes() and patch one) to break exactly one rule.
struct FakeKernel {
    std::uint16_t protocol = 0x020F;  // 2.15, like Debian's 6.1 kernels
    std::uint8_t setup_sects = 4;
    std::uint8_t loadflags = bootproto::LOADED_HIGH;
    std::uint16_t xloadflags = bootproto::XLF_KERNEL_64 | bootproto::XLF_CAN_BE_LOADED_ABOVE_4G;
    std::uint32_t cmdline_size = 2047;
    std::uint32_t initrd_addr_max = 0x7FFFFFFF;
    std::uint64_t protected_mode_bytes = 20000;  // deliberately not a multiple of 16 or 512

    // The whole file: boot sector + setup + protected-mode part filled with a pattern.
    Bytes bytes() const;
};

// `size` bytes of a reproducible non-trivial pattern (distinct per `seed`).
Bytes pattern_bytes(std::size_t size, unsigned seed);

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    fs::path path(const std::string& name) const { return dir_ / name; }

private:
    fs::path dir_;
};

// "" when `actual` equals `expected`, else where they first differ. Compare big buffers
// with CHECK(difference(a, b) == ""): Catch would print megabytes for a failed a == b.
std::string difference(const Bytes& actual, const Bytes& expected);

void write_file(const fs::path& path, const Bytes& bytes);
Bytes read_file(const fs::path& path);

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Run a shell command line; its output is captured, never shown.
CommandResult run(const std::string& command_line);

// Run the bzinstall built alongside the tests with `arguments` (already shell-quoted).
CommandResult run_bzinstall(const std::string& arguments);

// `text` quoted for /bin/sh.
std::string quoted(const std::string& text);

// Where the real Debian kernel lives when the lead has fetched it (may not exist).
fs::path cached_kernel_path();

}  // namespace bztest
