// installer_test_support.h - what the bzinstall tests share besides common/ (synthetic
// bzImages, temporary directories): files, running the real bzinstall and other tools.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/bytes.h"
#include "common/tempdir.h"
#include "common/testing/fake_kernel.h"

namespace bztest {

using bzboot::Bytes;
using bzboot::TempDir;
using bzboot::testing::FakeKernel;
using bzboot::testing::pattern_bytes;
namespace fs = std::filesystem;

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

// Where the real Debian kernel is: $BZ_REAL_KERNEL when set (a test can point it
// elsewhere, or at nothing), else cache/vmlinuz of the source tree (scripts/setup
// fetches it). It may not exist: a test that needs it then prints kSkipped.
fs::path cached_kernel_path();

// A test that cannot run prints this at the start of a line, then returns; ctest
// reports it as skipped (SKIP_REGULAR_EXPRESSION in tests/unit/CMakeLists.txt), never
// as passed. (Catch2 2 has no skip of its own.)
inline constexpr const char* kSkipped = "skipped:";

}  // namespace bztest
