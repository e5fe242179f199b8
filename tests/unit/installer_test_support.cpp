#include "installer_test_support.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include <sys/wait.h>

#include "bootproto.h"

namespace bztest {
namespace bp = bootproto;

Bytes FakeKernel::bytes() const {
    const std::uint64_t effective_sects = setup_sects == 0 ? bp::SETUP_SECTS_DEFAULT : setup_sects;
    const std::uint64_t setup_bytes = (effective_sects + 1) * bp::SECTOR_SIZE;
    Bytes image = pattern_bytes(setup_bytes + protected_mode_bytes, 1);
    // The real-mode header area starts zeroed, as in a real kernel, then gets the fields.
    std::fill(image.begin() + bp::HDR_SETUP_SECTS, image.begin() + bp::HDR_KERNEL_INFO_OFFSET + 4, 0);
    using bzinstall::put_u8, bzinstall::put_u16, bzinstall::put_u32;
    put_u8(image, bp::HDR_SETUP_SECTS, setup_sects);
    put_u32(image, bp::HDR_SYSSIZE, bzinstall::round_up(protected_mode_bytes, 16) / 16);  // paragraphs
    put_u16(image, bp::HDR_BOOT_FLAG, bp::BOOT_FLAG_MAGIC);
    put_u32(image, bp::HDR_HEADER, bp::HDRS_MAGIC);
    put_u16(image, bp::HDR_VERSION, protocol);
    put_u8(image, bp::HDR_LOADFLAGS, loadflags);
    put_u32(image, bp::HDR_CODE32_START, bp::BZIMAGE_LOAD_ADDR);
    put_u32(image, bp::HDR_INITRD_ADDR_MAX, initrd_addr_max);
    put_u16(image, bp::HDR_XLOADFLAGS, xloadflags);
    put_u32(image, bp::HDR_CMDLINE_SIZE, cmdline_size);
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

TempDir::TempDir() {
    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
        fs::path candidate = fs::temp_directory_path() / ("bzinstall-test-" + std::to_string(entropy()));
        if (fs::create_directory(candidate)) {
            dir_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string difference(const Bytes& actual, const Bytes& expected) {
    const std::size_t common = std::min(actual.size(), expected.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (actual[i] != expected[i]) {
            return "first difference at byte " + std::to_string(i) + ": " + std::to_string(actual[i]) +
                   " instead of " + std::to_string(expected[i]);
        }
    }
    if (actual.size() != expected.size()) {
        return std::to_string(actual.size()) + " bytes instead of " + std::to_string(expected.size());
    }
    return "";
}

void write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

CommandResult run(const std::string& command_line) {
    CommandResult result;
    FILE* pipe = ::popen(("(" + command_line + ") 2>&1").c_str(), "r");
    if (pipe == nullptr) {
        throw std::runtime_error("cannot run " + command_line);
    }
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        result.output.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

CommandResult run_bzinstall(const std::string& arguments) {
    return run(quoted(BZINSTALL_PATH) + " " + arguments);
}

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

fs::path cached_kernel_path() { return fs::path(BZ_SOURCE_DIR) / "cache" / "vmlinuz"; }

}  // namespace bztest
