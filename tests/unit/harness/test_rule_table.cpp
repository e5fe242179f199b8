// The rule table in code is the one description of a rule: docs/bzcheck.md's
// table says the same (id, name, applies to, severity, document), and verify() makes a
// rule N/A exactly where its row says it does not apply.
#include "snapshot_builder.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace bzcheck;
using namespace bzcheck::testing;

namespace {

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(' ');
    const auto last = text.find_last_not_of(' ');
    return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

// The cells of a Markdown table row "| a | b | c |".
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) out.push_back(trim(cell));
    return out;
}

struct DocRow {
    std::string id, name, checks, applies, grade, document;
};

// The rows of the table under "## verify: the rules".
std::vector<DocRow> doc_rule_table() {
    std::ifstream doc(BZ_SOURCE_DIR "/docs/bzcheck.md");
    REQUIRE(doc);
    std::vector<DocRow> rows;
    bool in_section = false, in_table = false;
    for (std::string line; std::getline(doc, line);) {
        if (line.rfind("## ", 0) == 0) in_section = line == "## verify: the rules";
        if (!in_section) continue;
        if (line.rfind("| id |", 0) == 0) {
            REQUIRE(cells(line) ==
                    std::vector<std::string>{"id", "name", "checks", "applies to", "severity", "document"});
            in_table = true;
            continue;
        }
        if (!in_table || line.rfind("| ---", 0) == 0) continue;
        if (line.rfind("|", 0) != 0) break;  // the table's end
        const auto c = cells(line);
        INFO(line);
        REQUIRE(c.size() == 6);
        rows.push_back({c[0], c[1], c[2], c[3], c[4], c[5]});
    }
    return rows;
}

}  // namespace

TEST_CASE("docs/bzcheck.md's rule table is the one in harness/rules.cpp", "[rules][doc]") {
    const auto doc = doc_rule_table();
    const auto& table = rules();
    REQUIRE(doc.size() == table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        INFO("row " << i + 1 << ": " << doc[i].id);
        CHECK(doc[i].id == table[i].id);
        CHECK(doc[i].name == table[i].name);
        CHECK(doc[i].applies == applies_to_text(table[i].applies));
        CHECK(doc[i].grade == grade_name(table[i].grade));
        CHECK(doc[i].document == table[i].document);
        CHECK_FALSE(doc[i].checks.empty());
    }
}

TEST_CASE("rule ids and names are unique, ids in order", "[rules]") {
    std::set<std::string> names;
    std::string previous;
    for (const Rule& rule : rules()) {
        CHECK(std::string(rule.id) > previous);
        previous = rule.id;
        CHECK(names.insert(rule.name).second);
        CHECK(std::string(rule.citation).size() > 0);
    }
}

TEST_CASE("applies-to text", "[rules]") {
    CHECK(applies_to_text(AppliesTo{}) == "all");
    CHECK(applies_to_text(AppliesTo{K16, "", 0}) == "16");
    CHECK(applies_to_text(AppliesTo{K32 | K64, "", NEEDS_E820 | NEEDS_HEADER}) == "32, 64 with E820");
    CHECK(applies_to_text(AppliesTo{ALL_KINDS, "", NEEDS_INITRD | NEEDS_HEADER}) == "all, with `--initrd`");
    CHECK(applies_to_text(AppliesTo{ALL_KINDS, "", NEEDS_CMDLINE}) == "all, with `--cmdline`");
}

TEST_CASE("a rule is N/A exactly where its row says it does not apply", "[rules]") {
    const VerifyInputs full = make_inputs();
    VerifyInputs no_cmdline = make_inputs();
    no_cmdline.cmdline.reset();
    VerifyInputs no_initrd = make_inputs();
    no_initrd.initrd.reset();
    VerifyInputs none = no_initrd;
    none.no_initrd = true;
    const std::pair<unsigned, Snapshot> handoffs[] = {
        {K16, make_handoff16(full)}, {K32, make_handoff32(full)}, {K64, make_handoff64(full)}};
    for (const auto& [kind, snap] : handoffs) {
        for (const Rule& rule : rules()) {
            INFO(rule.id << " on a " << handoff_name(snap.handoff) << " hand-off");
            const bool applies = rule.applies.kinds & kind;
            const RuleResult r = check_rule(rule.id, analyse(snap, full));
            CHECK((r.status == Status::not_applicable) == !applies);
            if (!applies) CHECK(r.message == rule.applies.otherwise);
            if (applies && (rule.applies.needs & NEEDS_CMDLINE))
                CHECK(check_rule(rule.id, analyse(snap, no_cmdline)).message == "no --cmdline given");
            if (applies && (rule.applies.needs & NEEDS_INITRD)) {
                CHECK(check_rule(rule.id, analyse(snap, no_initrd)).message == "no --initrd given");
                CHECK(check_rule(rule.id, analyse(snap, none)).message ==
                      "--no-initrd (R09 checks that none was loaded)");
            }
        }
    }
}
