// ranges.h - sets of physical address ranges (usable RAM, the dump's RAM).
#pragma once

#include <cstdint>
#include <vector>

namespace bzcheck {

// A set of physical address ranges [start, end).
class RangeSet {
public:
    struct Range {
        std::uint64_t start, end;
    };
    void add(std::uint64_t start, std::uint64_t end);
    void remove(std::uint64_t start, std::uint64_t end);
    bool contains(std::uint64_t start, std::uint64_t len) const;
    const std::vector<Range>& ranges() const { return ranges_; }

private:
    std::vector<Range> ranges_;  // sorted, disjoint, non-adjacent
};

}  // namespace bzcheck
