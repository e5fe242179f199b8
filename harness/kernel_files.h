// kernel_files.h - the files that describe one kernel build, read for
// `bzcheck layout` of a running kernel: its System.map (link-time symbol
// addresses), its configuration (config-*), and the version string in its
// bzImage. Each reader throws InputError (exit 2) for a file that is not what
// it claims to be.
#pragma once

#include "kernel_image.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bzcheck {

// System.map: "ffffffff81000000 T _text" lines, as the kernel's build writes them.
struct SystemMap {
    std::string path;
    std::map<std::string, std::uint64_t> symbols;  // name -> link-time address (the first line of a name)
    // The kernel release a Debian-style file name carries ("System.map-6.1.0-57-cloud-amd64"), or empty.
    std::string release;

    std::optional<std::uint64_t> address(const std::string& name) const;
    // The address, or InputError naming the symbol and the file.
    std::uint64_t require(const std::string& name) const;
};

// Throws InputError for text without symbol lines, without _text, or for the
// stub Debian's kernel package ships in place of the real file.
SystemMap parse_system_map(const std::string& text, const std::string& path = "System.map");
SystemMap read_system_map(const std::string& path);

// A kernel configuration: "CONFIG_X=value" and "# CONFIG_X is not set" lines.
struct KernelConfig {
    std::string path;
    std::map<std::string, std::string> values;  // "CONFIG_X" -> "y", "m", "0xa", "\"text\""; not set -> "n"

    // Whether the file says anything about the option (set, or "is not set").
    bool known(const std::string& option) const;
    bool enabled(const std::string& option) const;  // y or m
    std::optional<std::string> value(const std::string& option) const;
    // A numeric value ("0xa", "10"), or nullopt.
    std::optional<std::uint64_t> number(const std::string& option) const;
};

// Throws InputError for text with no CONFIG_ line.
KernelConfig parse_kernel_config(const std::string& text, const std::string& path = "config");
KernelConfig read_kernel_config(const std::string& path);

// The bzImage's kernel_version string (boot.rst: the setup header's
// kernel_version field + 0x200 points at it), e.g. "6.1.0-57-cloud-amd64
// (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (...)".
// Throws InputError when the field is 0 or the string is not NUL-terminated in the setup.
std::string kernel_version_string(const KernelImage& kernel);

// Reads a whole text file (InputError when it cannot be read).
std::string read_text_file(const std::string& path);

}  // namespace bzcheck
