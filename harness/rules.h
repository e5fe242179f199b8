// rules.h - the placement rules of `bzcheck verify`: one function per rule.
//
// Each rule checks one statement of Documentation/arch/x86/boot.rst (or of
// zero-page.rst, the boot_params fields it refers to) against a snapshot taken
// at the first instruction of the hand-off to the kernel.
#pragma once

#include "pagewalk.h"
#include "snapshot.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bzcheck {

enum class Status { pass, fail, not_applicable };
const char* status_name(Status status);  // "PASS", "FAIL", "N/A"

struct RuleResult {
    std::string id;
    Status status = Status::not_applicable;
    std::vector<std::uint64_t> addresses;  // the addresses the message speaks of
    std::string message;
    std::string citation;  // the statement checked ...
    std::string document;  // ... and where it stands: "boot.rst" or "zero-page.rst"
};

// A --kernel / --initrd file that cannot be what it claims (exit code 2).
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The bzImage as a file: real-mode part (boot sector + setup) and payload.
struct KernelImage {
    std::vector<std::uint8_t> bytes;
    std::uint64_t setup_size = 0;  // (setup_sects + 1) * 512
    std::uint16_t version = 0;
    std::uint64_t header_end = 0;  // 0x202 + the jump's displacement byte
    std::uint32_t init_size = 0;
    std::uint64_t pref_address = 0;
    std::uint32_t cmdline_size = 0;
};
// Throws InputError unless bytes hold a bzImage with protocol >= 2.02.
KernelImage parse_kernel(std::vector<std::uint8_t> bytes);

struct VerifyInputs {
    KernelImage kernel;
    std::optional<std::vector<std::uint8_t>> initrd;  // --initrd
    bool no_initrd = false;                           // --no-initrd
    std::optional<std::string> cmdline;               // --cmdline
};

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

// What every rule needs, derived once from the snapshot and the inputs.
struct Handoff {
    Handoff(const Snapshot& snapshot, const VerifyInputs& inputs) : snap(snapshot), in(inputs) {}
    const Snapshot& snap;
    const VerifyInputs& in;
    HandoffKind kind = HandoffKind::unknown;
    std::uint64_t base = 0;            // X (16-bit) or boot_params (32/64-bit)
    std::vector<std::uint8_t> header;  // RAM at base: setup (16-bit) or the zero page
    bool header_found = false;         // "HdrS" at base+0x202
    std::uint64_t load_address = 0;    // where the protected-mode kernel is
    std::uint64_t low_memory_top = 0;  // from the BIOS data area, at most 0xA0000
    RangeSet usable_ram;
    std::optional<PageWalk> walk;      // 64-bit hand-off

    std::uint64_t field(std::uint64_t offset, int size) const;  // header field, 0 if outside
    std::uint64_t cmdline_address() const;
    std::uint64_t initrd_address() const;
    std::uint64_t initrd_size() const;
    bool has_e820() const;
};
Handoff analyse(const Snapshot& snap, const VerifyInputs& in);

struct Rule {
    const char* id;
    const char* citation;
    const char* document;
};
const std::vector<Rule>& all_rules();  // in id order

// Runs one rule (throws std::out_of_range for an unknown id) or all of them.
RuleResult check_rule(const std::string& id, const Handoff& handoff);
std::vector<RuleResult> verify(const Snapshot& snap, const VerifyInputs& in);

}  // namespace bzcheck
