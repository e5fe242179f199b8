// report.h - verify and layout results as text (one line per rule / run) and
// as JSON (docs/bzcheck.md; 64-bit values as "0x..." strings).
#pragma once

#include "regions.h"
#include "rules.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace bzcheck {

std::string hex(std::uint64_t value);  // "0x1f"

struct VerifySummary {
    std::string snapshot;
    HandoffKind kind;
    std::uint64_t base;  // X or boot_params
};
bool any_failed(const std::vector<RuleResult>& results);

std::string verify_text(const VerifySummary& summary, const std::vector<RuleResult>& results);
nlohmann::json verify_json(const VerifySummary& summary, const std::vector<RuleResult>& results);

std::string layout_text(const LayoutReport& report);
nlohmann::json layout_json(const LayoutReport& report);

}  // namespace bzcheck
