// report.cpp - text and JSON forms of verify and layout results.
#include "report.h"

#include "bootproto.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace bzcheck {
namespace {

// One merged run of the page walk, as both layout reports write it.
nlohmann::json mapping_json(const Mapping& m, const std::string& region) {
    return {{"virt", hex(m.virt)},           {"phys", hex(m.phys)},      {"size", hex(m.size)},
            {"page_size", hex(m.page_size)}, {"region", region},         {"writable", m.attrs.writable},
            {"user", m.attrs.user},          {"nx", m.attrs.no_execute}, {"pwt", m.attrs.write_through},
            {"pcd", m.attrs.cache_disable},  {"global", m.attrs.global}};
}

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

namespace {

std::string run_line(const Mapping& m) {
    return fmt::format("{:#018x}-{:#018x} {:>6} {:>3} {} -> {:#x}\n", m.virt, m.virt + m.size, human_size(m.size),
                       human_size(m.page_size), m.attrs.describe(), m.phys);
}

std::string signed_offset(std::uint64_t value, std::uint64_t reference) {
    return value >= reference ? fmt::format("+{:#x}", value - reference) : fmt::format("-{:#x}", reference - value);
}

// A value the kernel keeps as unsigned long but means as signed (phys_base).
std::string signed_hex(std::uint64_t value) {
    return static_cast<std::int64_t>(value) < 0 ? fmt::format("-{:#x}", -value) : fmt::format("{:#x}", value);
}

// 511.9M, 42M, 1440K: one decimal where the value is not whole.
std::string approx_size(std::uint64_t bytes) {
    static const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
    int unit = 0;
    double value = static_cast<double>(bytes);
    while (unit < 6 && value >= 1024) {
        value /= 1024;
        ++unit;
    }
    const double whole = static_cast<double>(static_cast<std::uint64_t>(value));
    return value == whole ? fmt::format("{}{}", whole, units[unit]) : fmt::format("{:.1f}{}", value, units[unit]);
}

std::string region_header(const KernelRegion& k) {
    std::string extra;
    if (k.id == RegionId::user) extra = " (the current process's: not checked)";
    if (k.randomised) extra = fmt::format(" ({} {:#x})", k.base_symbol, k.start);
    return fmt::format("---[ {}{} ]---\n", k.name, extra);
}

// "direct mapping ...: 511.9M mapped in 27 runs from +0x0; base +0x12f00000000 from mm.rst's
// 0xffff888000000000, in mm.rst's slot "..."".
std::string summary_line(const KernelRegion& k, const RegionSummary& s) {
    std::string out = fmt::format("    = {}: ", k.name);
    if (s.runs == 0)
        out += "nothing mapped";
    else
        out +=
            fmt::format("{} mapped in {} run{}, the first at {} from the region's start", approx_size(s.mapped_bytes),
                        s.runs, s.runs == 1 ? "" : "s", signed_offset(*s.first_mapped, k.start));
    if (k.documented) {
        if (k.randomised)
            out += fmt::format("; {} {:#x} is mm.rst's {:#x} {}, in mm.rst's slot \"{}\"", k.base_symbol, k.start,
                               k.documented->start, signed_offset(k.start, k.documented->start), s.landed_in);
        else if (s.runs)
            out += fmt::format(" ({} from mm.rst's start {:#x})", signed_offset(*s.first_mapped, k.documented->start),
                               k.documented->start);
    }
    return out + "\n";
}

}  // namespace

std::string kernel_layout_text(const std::string& snapshot, const KernelLayoutReport& r) {
    std::string out = fmt::format("{}: running kernel{}, CPL {}\n", snapshot,
                                  r.running_note ? " (the snapshot's note says \"stop\": \"running\")" : "", r.cpl);
    out += fmt::format("paging: {}\n", r.paging_mode);
    out += fmt::format("tables: {}\n", r.tables);
    if (r.have_system_map) {
        out += fmt::format("kernel: {} ({})\n", r.banner, r.banner_check);
        if (!r.cmdline.empty()) out += fmt::format("command line: {}\n", r.cmdline);
        out += fmt::format(
            "KASLR: kernel image mapped from {:#x} = System.map's _text {:#x} + slide {}{}\n", *r.image_start,
            *r.image_start - static_cast<std::uint64_t>(*r.slide),
            signed_offset(*r.image_start, *r.image_start - static_cast<std::uint64_t>(*r.slide)),
            r.phys_base ? fmt::format("; phys_base {} (the image's physical start {:#x})", signed_hex(*r.phys_base),
                                      *r.image_start - bootproto::KERNEL_TEXT_MAP + *r.phys_base)
                        : "");
        std::vector<std::string> bases;
        for (const auto& b : r.bases)
            bases.push_back(fmt::format("{} {:#x}{}", b.symbol, b.value,
                                        b.from_memory
                                            ? fmt::format(" ({} from mm.rst's)", signed_offset(b.value, b.documented))
                                            : " (no such variable: mm.rst's)"));
        out += fmt::format("bases (read from memory): {}\n", fmt::join(bases, ", "));
    } else {
        out += fmt::format("KASLR: kernel image mapped from {:#x}\n", *r.image_start);
    }
    out += fmt::format("kernel image space: {}, modules from {:#x} ({})\n", human_size(r.kernel_image_size),
                       bootproto::KERNEL_TEXT_MAP + r.kernel_image_size, r.kernel_image_size_source);
    for (const std::string& u : r.unknown) out += fmt::format("unknown: {}\n", u);

    std::map<std::size_t, const RegionSummary*> summaries;
    for (const RegionSummary& s : r.summaries) summaries[s.region] = &s;
    std::size_t current = r.regions.size();
    const auto close_region = [&]() {
        if (current < r.regions.size() && summaries.count(current))
            out += summary_line(r.regions[current], *summaries[current]);
    };
    for (const KernelRun& run : r.runs) {
        if (run.region != current) {
            close_region();
            // Randomised regions without a run between the last one and this.
            for (std::size_t i = current == r.regions.size() ? 0 : current + 1; i < run.region; ++i)
                if (summaries.count(i)) {
                    out += region_header(r.regions[i]);
                    out += summary_line(r.regions[i], *summaries[i]);
                }
            current = run.region;
            out += region_header(r.regions[current]);
        }
        out += run_line(run.mapping);
    }
    close_region();
    for (std::size_t i = current == r.regions.size() ? 0 : current + 1; i < r.regions.size(); ++i)
        if (summaries.count(i)) {
            out += region_header(r.regions[i]);
            out += summary_line(r.regions[i], *summaries[i]);
        }

    out += "checks:\n";
    std::map<CheckStatus, int> counts;
    for (const KernelCheck& k : r.checks) {
        ++counts[k.status];
        out += fmt::format("{} {:<7} {:<22} {} [{}: {}]\n", k.id, check_status_name(k.status), k.name, k.message,
                           k.source, k.statement);
        for (const std::string& d : k.details) out += fmt::format("        {}\n", d);
    }
    out += fmt::format("{}: {} passed, {} noted, {} failed, {} unknown ({} runs)\n", r.failed() ? "FAIL" : "PASS",
                       counts[CheckStatus::pass], counts[CheckStatus::note], counts[CheckStatus::fail],
                       counts[CheckStatus::unknown], r.runs.size());
    return out;
}

nlohmann::json kernel_layout_json(const std::string& snapshot, const KernelLayoutReport& r) {
    const auto opt_hex = [](const auto& v) {
        return v ? nlohmann::json(hex(static_cast<std::uint64_t>(*v))) : nlohmann::json();
    };
    nlohmann::json bases = nlohmann::json::array();
    for (const auto& b : r.bases)
        bases.push_back({{"symbol", b.symbol},
                         {"value", hex(b.value)},
                         {"documented", hex(b.documented)},
                         {"from_memory", b.from_memory}});
    std::map<std::size_t, const RegionSummary*> summaries;
    for (const RegionSummary& s : r.summaries) summaries[s.region] = &s;
    nlohmann::json regions = nlohmann::json::array();
    for (std::size_t i = 0; i < r.regions.size(); ++i) {
        const KernelRegion& k = r.regions[i];
        const RegionSummary* s = summaries.count(i) ? summaries[i] : nullptr;
        regions.push_back(
            {{"name", k.name},
             {"start", hex(k.start)},
             {"last", hex(k.last)},
             {"documented_start", k.documented ? nlohmann::json(hex(k.documented->start)) : nlohmann::json()},
             {"base_symbol", k.base_symbol},
             {"randomised", k.randomised},
             {"extent", k.extent},
             {"landed_in", s && !s->landed_in.empty() ? nlohmann::json(s->landed_in) : nlohmann::json()},
             {"mapped", hex(s ? s->mapped_bytes : 0)},
             {"runs", s ? s->runs : 0},
             {"first_mapped", s ? opt_hex(s->first_mapped) : nlohmann::json()}});
    }
    nlohmann::json mappings = nlohmann::json::array();
    for (const KernelRun& run : r.runs) {
        mappings.push_back(mapping_json(run.mapping, r.regions[run.region].name));
    }
    nlohmann::json checks = nlohmann::json::array();
    for (const KernelCheck& k : r.checks)
        checks.push_back({{"id", k.id},
                          {"name", k.name},
                          {"status", check_status_name(k.status)},
                          {"message", k.message},
                          {"details", k.details},
                          {"addresses", hex_list(k.addresses)},
                          {"source", k.source},
                          {"statement", k.statement}});
    return {{"command", "layout"},
            {"snapshot", snapshot},
            {"running", true},
            {"paging",
             {{"levels", r.levels},
              {"mode", r.paging_mode},
              {"cr3", hex(r.cr3)},
              {"root", hex(r.root)},
              {"tables", r.tables},
              {"cpl", r.cpl}}},
            {"system_map", r.have_system_map},
            {"kernel",
             {{"banner", r.banner},
              {"banner_check", r.banner_check},
              {"cmdline", r.cmdline},
              {"image_start", opt_hex(r.image_start)},
              {"slide", r.slide ? nlohmann::json(signed_offset(*r.image_start,
                                                               *r.image_start - static_cast<std::uint64_t>(*r.slide)))
                                : nlohmann::json()},
              {"phys_base", r.phys_base ? nlohmann::json(signed_hex(*r.phys_base)) : nlohmann::json()},
              {"image_space", hex(r.kernel_image_size)}}},
            {"bases", bases},
            {"unknown", r.unknown},
            {"regions", regions},
            {"mappings", mappings},
            {"checks", checks},
            {"result", r.failed() ? "FAIL" : "PASS"}};
}

nlohmann::json layout_json(const LayoutReport& report) {
    nlohmann::json mappings = nlohmann::json::array();
    for (const LayoutEntry& e : report.entries) {
        mappings.push_back(mapping_json(e.mapping, e.region ? e.region->name : ""));
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
