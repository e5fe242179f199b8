#include "common/size.h"

#include <cctype>
#include <limits>
#include <stdexcept>
#include <string>

namespace bzboot {
namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
char upper(char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); }

[[noreturn]] void bad(std::string_view what, std::string_view text, const char* why) {
    throw std::invalid_argument("bad " + std::string(what) + " '" + std::string(text) + "': " + why);
}

// The multiplier of a unit ("", "K", "kib", "MB", "b", ...), or 0 if it is none.
std::uint64_t unit_bytes(std::string_view unit, std::uint64_t unit_without_suffix) {
    if (unit.empty()) return unit_without_suffix;
    std::uint64_t scale = 0;
    switch (upper(unit[0])) {
        case 'B': return unit.size() == 1 ? 1 : 0;
        case 'K': scale = KiB; break;
        case 'M': scale = MiB; break;
        case 'G': scale = GiB; break;
        case 'T': scale = TiB; break;
        default: return 0;
    }
    const std::string_view rest = unit.substr(1);
    if (rest.empty() || (rest.size() == 1 && (upper(rest[0]) == 'B' || upper(rest[0]) == 'I')) ||
        (rest.size() == 2 && upper(rest[0]) == 'I' && upper(rest[1]) == 'B')) {
        return scale;
    }
    return 0;
}

}  // namespace

std::uint64_t parse_size(std::string_view text, std::uint64_t unit_without_suffix) {
    return parse_size(text, unit_without_suffix, "size");
}

std::uint64_t parse_size(std::string_view text, std::uint64_t unit_without_suffix, std::string_view what) {
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits == 0) bad(what, text, "not a number (a number with an optional K, M, G or T)");
    std::size_t unit_start = digits;
    while (unit_start < text.size() && text[unit_start] == ' ') ++unit_start;
    if (unit_start > digits && unit_start == text.size()) bad(what, text, "spaces but no unit");
    const std::uint64_t unit = unit_bytes(text.substr(unit_start), unit_without_suffix);
    if (unit == 0) bad(what, text, "unknown unit (K, M, G or T)");

    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t number = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const unsigned digit = static_cast<unsigned>(text[i] - '0');
        if (number > (kMax - digit) / 10) bad(what, text, "too large");
        number = number * 10 + digit;
    }
    if (number > kMax / unit) bad(what, text, "too large");
    return number * unit;
}

}  // namespace bzboot
