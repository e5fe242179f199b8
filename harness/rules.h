// rules.h - the placement rules of `bzcheck verify`: one table row and one
// function per rule.
//
// Each rule checks one statement of Documentation/arch/x86/boot.rst (or of
// zero-page.rst, the boot_params fields it refers to) against a snapshot taken
// at the first instruction of the hand-off to the kernel. The table (rules())
// is the one description of a rule; docs/bzcheck.md's table is tested against
// it (tests/unit/harness/test_rule_table.cpp).
#pragma once

#include "handoff.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bzcheck {

// A rule's verdict. WARN: the loader departs from what the document
// recommends, or from a requirement in a way the kernel is known to tolerate
// (the message names the kernel behaviour); only FAIL makes verify exit 1,
// unless --strict.
enum class Status { pass, warn, fail, not_applicable };
const char* status_name(Status status);  // "PASS", "WARN", "FAIL", "N/A"

// A rule's severity, how it grades a departure from its statement: FAIL where the document
// makes a requirement or the kernel would misbehave, WARN where it recommends.
enum class Grade { fail, warn };
const char* grade_name(Grade grade);  // "FAIL", "WARN"

// What a rule's function finds. Status::fail means "the statement does not
// hold": the rule's grade turns it into FAIL or WARN. Status::warn is a
// departure the function itself grades as tolerated.
struct Outcome {
    Status status;
    std::string message;
    std::vector<std::uint64_t> addresses;  // the addresses the message speaks of
};

struct RuleResult {
    std::string id;
    std::string name;
    Status status = Status::not_applicable;
    Grade grade = Grade::fail;
    std::vector<std::uint64_t> addresses;  // the addresses the message speaks of
    std::string message;
    std::string citation;  // the statement checked ...
    std::string document;  // ... and where it stands: "boot.rst" or "zero-page.rst"
    std::string basis;     // the document's sentence the grade rests on
};

// The hand-off kinds a rule applies to, as bits.
enum Kinds : unsigned { K16 = 1u << 0, K32 = 1u << 1, K64 = 1u << 2, ALL_KINDS = K16 | K32 | K64 };
// What a rule needs beyond the hand-off kind. verify() checks these in this
// order before it calls the rule's function, so that the function checks only
// its statement:
enum Needs : unsigned {
    NEEDS_CMDLINE = 1u << 0,  // --cmdline: N/A without it
    NEEDS_E820 = 1u << 1,     // an E820 table in boot_params: N/A without one
    NEEDS_HEADER = 1u << 2,   // "HdrS" at the base: FAIL without it (R01 says so too)
    NEEDS_INITRD = 1u << 3,   // --initrd: N/A without it, or with --no-initrd (R09 checks that)
};
struct AppliesTo {
    unsigned kinds = ALL_KINDS;
    const char* otherwise = "";  // the N/A message for the other kinds
    unsigned needs = 0;
};
std::string applies_to_text(const AppliesTo& applies);  // docs/bzcheck.md's column: "32, 64 with E820"

struct Rule {
    const char* id;    // R01..R23: stable, scripts key on them
    const char* name;  // a short name: "initrd-below-max"
    AppliesTo applies;
    const char* citation;  // the statement checked ...
    const char* document;  // ... and where it stands: "boot.rst" or "zero-page.rst"
    Grade grade;           // what a departure from it is
    const char* basis;     // the sentence of the document the grade rests on
    Outcome (*check)(const Handoff&);
};
const std::vector<Rule>& rules();  // in id order

// Runs one rule (throws std::out_of_range for an unknown id) or all of them.
RuleResult check_rule(const std::string& id, const Handoff& handoff);
std::vector<RuleResult> verify(const Handoff& handoff);
std::vector<RuleResult> verify(const Snapshot& snap, const VerifyInputs& in);  // analyse, then verify

bool any_status(const std::vector<RuleResult>& results, Status status);
// The overall verdict: FAIL if a rule failed, else WARN if one warned, else PASS.
Status overall(const std::vector<RuleResult>& results);
// Whether verify exits 1: a FAIL, or with strict a WARN too.
bool rejected(const std::vector<RuleResult>& results, bool strict);

}  // namespace bzcheck
