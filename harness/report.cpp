// report.cpp - text and JSON forms of verify and layout results.
#include "report.h"

#include "bootproto.h"

#include <fmt/format.h>

#include <algorithm>

namespace bzcheck {
namespace {

nlohmann::json hex_list(const std::vector<std::uint64_t>& values) {
    nlohmann::json list = nlohmann::json::array();
    for (std::uint64_t v : values) list.push_back(hex(v));
    return list;
}

const char* severity_name(Severity severity) {
    switch (severity) {
        case Severity::fail: return "FAIL";
        case Severity::warning: return "WARNING";
        case Severity::ok: break;
    }
    return "OK";
}

// "4K", "2M", "1G", "512G"...: sizes as ptdump prints them.
std::string human_size(std::uint64_t bytes) {
    static const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
    int unit = 0;
    while (unit < 6 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++unit;
    }
    return fmt::format("{}{}", bytes, units[unit]);
}

}  // namespace

std::string hex(std::uint64_t value) { return fmt::format("{:#x}", value); }

VerifySummary summarize(const std::string& snapshot, const Handoff& h, bool strict) {
    VerifySummary summary;
    summary.snapshot = snapshot;
    summary.kind = h.kind;
    summary.base = h.base;
    if (h.kind == HandoffKind::real16 && (h.field(bootproto::HDR_LOADFLAGS) & bootproto::CAN_USE_HEAP))
        summary.heap_end = h.base + h.field(bootproto::HDR_HEAP_END_PTR) + bootproto::SETUP_ENTRY_OFFSET;
    summary.cmd_line_ptr = h.cmdline_address();
    summary.load_address = h.load_address;
    summary.initrd_address = h.initrd_address();
    summary.initrd_size = h.initrd_size();
    summary.strict = strict;
    return summary;
}

std::string verify_text(const VerifySummary& summary, const std::vector<RuleResult>& results) {
    std::string out = fmt::format("{}: {} hand-off, {} at {:#x}\n", summary.snapshot, handoff_name(summary.kind),
                                  summary.kind == HandoffKind::real16 ? "setup (X)" : "boot_params", summary.base);
    for (const RuleResult& r : results) {
        std::vector<std::string> addresses;
        for (std::uint64_t a : r.addresses) addresses.push_back(hex(a));
        out += fmt::format("{} {:<4} {:<24} {} [{}: {}]\n", r.id, status_name(r.status),
                           addresses.empty() ? "-" : fmt::format("{}", fmt::join(addresses, ",")), r.message,
                           r.document, r.citation);
    }
    const auto count = [&](Status s) {
        return std::count_if(results.begin(), results.end(), [&](const RuleResult& r) { return r.status == s; });
    };
    const bool rejects = rejected(results, summary.strict);
    out += fmt::format("{}{}: {} passed, {} warned, {} failed, {} not applicable\n", status_name(overall(results)),
                       summary.strict && overall(results) == Status::warn && rejects ? " (--strict: rejected)" : "",
                       count(Status::pass), count(Status::warn), count(Status::fail), count(Status::not_applicable));
    return out;
}

nlohmann::json verify_json(const VerifySummary& summary, const std::vector<RuleResult>& results) {
    nlohmann::json rules = nlohmann::json::array();
    for (const RuleResult& r : results)
        rules.push_back({{"id", r.id},
                         {"name", r.name},
                         {"status", status_name(r.status)},
                         {"severity", grade_name(r.grade)},
                         {"addresses", hex_list(r.addresses)},
                         {"message", r.message},
                         {"citation", r.citation},
                         {"document", r.document},
                         {"basis", r.basis}});
    const nlohmann::json placement = {
        {"base", hex(summary.base)},
        {"heap_end", summary.heap_end ? nlohmann::json(hex(*summary.heap_end)) : nlohmann::json()},
        {"cmd_line_ptr", hex(summary.cmd_line_ptr)},
        {"load_address", hex(summary.load_address)},
        {"initrd_address", hex(summary.initrd_address)},
        {"initrd_size", hex(summary.initrd_size)}};
    return {{"command", "verify"},
            {"snapshot", summary.snapshot},
            {"handoff", static_cast<int>(summary.kind)},
            {"base", hex(summary.base)},
            {"placement", placement},
            {"result", status_name(overall(results))},
            {"strict", summary.strict},
            {"rejected", rejected(results, summary.strict)},
            {"rules", rules}};
}

std::string layout_text(const LayoutReport& report) {
    std::string out;
    if (!report.paging) {
        out += "paging: off\n";
    } else {
        out += fmt::format("paging: {}-level, CR3 {:#x}\n", report.levels, report.cr3);
        const Region* current = nullptr;
        for (const LayoutEntry& e : report.entries) {
            if (e.region != current) {
                current = e.region;
                out += fmt::format("---[ {} ]---\n", current ? current->name : "?");
            }
            const Mapping& m = e.mapping;
            out += fmt::format("{:#018x}-{:#018x} {:>6} {:>3} {} -> {:#x}\n", m.virt, m.virt + m.size,
                               human_size(m.size), human_size(m.page_size), m.attrs.describe(), m.phys);
        }
    }
    for (const LayoutFinding& f : report.findings) out += fmt::format("{}: {}\n", severity_name(f.severity), f.message);
    const auto warnings = std::count_if(report.findings.begin(), report.findings.end(),
                                        [](const LayoutFinding& f) { return f.severity == Severity::warning; });
    out +=
        fmt::format("{}: {} runs, {} warnings\n", report.failed() ? "FAIL" : "PASS", report.entries.size(), warnings);
    return out;
}

nlohmann::json layout_json(const LayoutReport& report) {
    nlohmann::json mappings = nlohmann::json::array();
    for (const LayoutEntry& e : report.entries) {
        const Mapping& m = e.mapping;
        mappings.push_back({{"virt", hex(m.virt)},
                            {"phys", hex(m.phys)},
                            {"size", hex(m.size)},
                            {"page_size", hex(m.page_size)},
                            {"region", e.region ? e.region->name : ""},
                            {"writable", m.attrs.writable},
                            {"user", m.attrs.user},
                            {"nx", m.attrs.no_execute},
                            {"pwt", m.attrs.write_through},
                            {"pcd", m.attrs.cache_disable},
                            {"global", m.attrs.global}});
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const LayoutFinding& f : report.findings)
        findings.push_back(
            {{"severity", severity_name(f.severity)}, {"message", f.message}, {"addresses", hex_list(f.addresses)}});
    return {{"command", "layout"},
            {"paging", report.paging},
            {"levels", report.paging ? report.levels : 0},
            {"cr3", hex(report.cr3)},
            {"result", report.failed() ? "FAIL" : "PASS"},
            {"mappings", mappings},
            {"findings", findings}};
}

}  // namespace bzcheck
