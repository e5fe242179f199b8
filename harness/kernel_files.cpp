// kernel_files.cpp - System.map, the kernel configuration and the bzImage's
// version string (see kernel_files.h).
#include "kernel_files.h"

#include "bootproto.h"
#include "common/bytes.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

namespace bzcheck {
namespace bp = bootproto;

namespace {
constexpr const char* SYSTEM_MAP_PREFIX = "System.map-";
constexpr std::size_t KERNEL_VERSION_MAX = 512;  // bytes looked at for the version string's NUL

std::string file_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}
}  // namespace

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw InputError(fmt::format("{}: read error", path));
    return text;
}

std::optional<std::uint64_t> SystemMap::address(const std::string& name) const {
    const auto it = symbols.find(name);
    if (it == symbols.end()) return std::nullopt;
    return it->second;
}

std::uint64_t SystemMap::require(const std::string& name) const {
    if (const auto a = address(name)) return *a;
    throw InputError(fmt::format("{}: no symbol {}", path, name));
}

SystemMap parse_system_map(const std::string& text, const std::string& path) {
    // "ffffffff81000000 T _text": address, type letter, name (the build's `nm -n` output).
    static const std::regex line_re(R"(^([0-9a-fA-F]{1,16}) ([A-Za-z?-]) (\S+)$)");
    SystemMap map;
    map.path = path;
    const std::string name = file_name(path);
    if (name.rfind(SYSTEM_MAP_PREFIX, 0) == 0)
        map.release = name.substr(std::char_traits<char>::length(SYSTEM_MAP_PREFIX));
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        std::smatch m;
        if (!std::regex_match(line, m, line_re)) continue;
        map.symbols.emplace(m[3], std::stoull(m[1], nullptr, 16));  // emplace keeps a name's first line
    }
    if (map.symbols.empty()) {
        // Debian's linux-image package ships "ffffffffffffffff B The real System.map
        // is in the linux-image-<version>-dbg package" in place of the file.
        if (text.find("real System.map") != std::string::npos)
            throw InputError(
                fmt::format("{}: a stub, not a System.map (the real one is in the kernel's -dbg package; "
                            "scripts/setup keeps it as cache/System.map)",
                            path));
        throw InputError(fmt::format("{}: not a System.map (no \"ADDRESS TYPE NAME\" line)", path));
    }
    if (!map.address("_text")) throw InputError(fmt::format("{}: not a kernel's System.map (no _text)", path));
    return map;
}

SystemMap read_system_map(const std::string& path) { return parse_system_map(read_text_file(path), path); }

bool KernelConfig::known(const std::string& option) const { return values.count(option) != 0; }

bool KernelConfig::enabled(const std::string& option) const {
    const auto v = value(option);
    return v && (*v == "y" || *v == "m");
}

std::optional<std::string> KernelConfig::value(const std::string& option) const {
    const auto it = values.find(option);
    if (it == values.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint64_t> KernelConfig::number(const std::string& option) const {
    const auto v = value(option);
    if (!v || v->empty()) return std::nullopt;
    try {
        std::size_t used = 0;
        const std::uint64_t n = std::stoull(*v, &used, 0);  // 0x.. or decimal
        if (used != v->size()) return std::nullopt;
        return n;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

KernelConfig parse_kernel_config(const std::string& text, const std::string& path) {
    static const std::regex set_re(R"(^(CONFIG_[A-Za-z0-9_]+)=(.*)$)");
    static const std::regex unset_re(R"(^# (CONFIG_[A-Za-z0-9_]+) is not set$)");
    KernelConfig config;
    config.path = path;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::smatch m;
        if (std::regex_match(line, m, set_re))
            config.values[m[1]] = m[2];
        else if (std::regex_match(line, m, unset_re))
            config.values[m[1]] = "n";
    }
    if (config.values.empty()) throw InputError(fmt::format("{}: not a kernel configuration (no CONFIG_ line)", path));
    return config;
}

KernelConfig read_kernel_config(const std::string& path) { return parse_kernel_config(read_text_file(path), path); }

std::string kernel_version_string(const KernelImage& kernel) {
    const bzboot::ByteView file(kernel.bytes);
    const std::uint64_t pointer = file.field(bp::HDR_KERNEL_VERSION).value_or(0);
    if (pointer == 0) throw InputError("the bzImage has no kernel_version string (the field is 0)");
    const std::uint64_t at = pointer + bp::SETUP_ENTRY_OFFSET;
    std::string text;
    for (std::uint64_t i = at; i < kernel.setup_size && i < at + KERNEL_VERSION_MAX; ++i) {
        const char c = static_cast<char>(kernel.bytes[i]);
        if (c == '\0') return text;
        text += c;
    }
    throw InputError("the bzImage's kernel_version string is not terminated inside its setup");
}

}  // namespace bzcheck
