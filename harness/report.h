// report.h - verify and layout results as text (one line per rule / run) and
// as JSON (docs/bzcheck.md; 64-bit values as "0x..." strings).
#pragma once

#include "kernel_layout.h"
#include "regions.h"
#include "rules.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bzcheck {

std::string hex(std::uint64_t value);  // "0x1f"

// What verify reports beside the rules: the hand-off and where the loader put
// things, as read from the snapshot.
struct VerifySummary {
    std::string snapshot;
    HandoffKind kind = HandoffKind::unknown;
    std::uint64_t base = 0;                 // X or boot_params
    std::optional<std::uint64_t> heap_end;  // 16-bit with CAN_USE_HEAP: X + heap_end_ptr + 0x200
    std::uint64_t cmd_line_ptr = 0, load_address = 0, initrd_address = 0, initrd_size = 0;
    bool strict = false;  // --strict: a WARN rejects too
};
VerifySummary summarize(const std::string& snapshot, const Handoff& handoff, bool strict);

std::string verify_text(const VerifySummary& summary, const std::vector<RuleResult>& results);
nlohmann::json verify_json(const VerifySummary& summary, const std::vector<RuleResult>& results);

std::string layout_text(const LayoutReport& report);
nlohmann::json layout_json(const LayoutReport& report);

// A running kernel's layout (docs/bzcheck.md, "layout of a running kernel"):
// ptdump-style runs under region headers, a summary line per region, the checks.
std::string kernel_layout_text(const std::string& snapshot, const KernelLayoutReport& report);
nlohmann::json kernel_layout_json(const std::string& snapshot, const KernelLayoutReport& report);

}  // namespace bzcheck
