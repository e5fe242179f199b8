// ranges.cpp - see ranges.h.
#include "ranges.h"

#include <algorithm>

namespace bzcheck {

void RangeSet::add(std::uint64_t start, std::uint64_t end) {
    if (start >= end) return;
    std::vector<Range> merged;
    for (const Range& r : ranges_) {
        if (r.end < start || r.start > end) {
            merged.push_back(r);
        } else {
            start = std::min(start, r.start);
            end = std::max(end, r.end);
        }
    }
    merged.push_back({start, end});
    std::sort(merged.begin(), merged.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
    ranges_ = std::move(merged);
}

void RangeSet::remove(std::uint64_t start, std::uint64_t end) {
    std::vector<Range> kept;
    for (const Range& r : ranges_) {
        if (r.start < start) kept.push_back({r.start, std::min(r.end, start)});
        if (r.end > end) kept.push_back({std::max(r.start, end), r.end});
    }
    ranges_.clear();
    for (const Range& r : kept)
        if (r.start < r.end) ranges_.push_back(r);
}

bool RangeSet::contains(std::uint64_t start, std::uint64_t len) const {
    if (len == 0) return true;
    if (start + len < start) return false;
    return std::any_of(ranges_.begin(), ranges_.end(),
                       [&](const Range& r) { return r.start <= start && start + len <= r.end; });
}

}  // namespace bzcheck
