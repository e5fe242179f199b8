// bzcheck - checks, from outside, that a boot loader placed a Linux kernel
// where Documentation/arch/x86/boot.rst says (verify), and that the page
// tables at the hand-off fit the documented x86-64 layout (layout).
//
// Exit codes: 0 no rule failed (WARNs allowed, unless verify --strict), 1 a
// rule failed, 2 bad input or usage.
#include "kernel_files.h"
#include "kernel_layout.h"
#include "placement_map.h"
#include "regions.h"
#include "report.h"
#include "rules.h"
#include "snapshot.h"

#include "capture.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace {

constexpr int EXIT_PASS = 0;
constexpr int EXIT_RULE_FAILED = 1;
constexpr int EXIT_BAD_INPUT = 2;

std::vector<std::uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw bzcheck::InputError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw bzcheck::InputError(fmt::format("{}: read error", path));
    return bytes;
}

struct VerifyOptions {
    std::string snapshot, kernel, initrd, cmdline;
    bool no_initrd = false, json = false, strict = false, map = false;
};

int run_verify(const VerifyOptions& options, CLI::Option* cmdline_option) {
    bzcheck::VerifyInputs inputs;
    try {
        inputs.kernel = bzcheck::parse_kernel(read_file(options.kernel));
    } catch (const bzcheck::InputError& error) {
        throw bzcheck::InputError(fmt::format("{}: {}", options.kernel, error.what()));
    }
    if (!options.initrd.empty()) inputs.initrd = read_file(options.initrd);
    inputs.no_initrd = options.no_initrd;
    if (cmdline_option->count() > 0) inputs.cmdline = options.cmdline;

    const bzcheck::Snapshot snap = bzcheck::read_snapshot(options.snapshot);
    const bzcheck::Handoff handoff = bzcheck::analyse(snap, inputs);  // once: it walks the page tables
    const auto results = bzcheck::verify(handoff);
    const bzcheck::VerifySummary summary = bzcheck::summarize(options.snapshot, handoff, options.strict);
    if (options.json)
        fmt::print("{}\n", bzcheck::verify_json(summary, results).dump(2));
    else
        fmt::print("{}", bzcheck::verify_text(summary, results));
    if (options.map && !options.json) fmt::print("\n{}", bzcheck::placement_map(handoff, results));
    return bzcheck::rejected(results, options.strict) ? EXIT_RULE_FAILED : EXIT_PASS;
}

struct RunningLayoutOptions {
    bool running = false;  // --running: a running kernel even without the note
    std::string system_map, config, kernel;
};

// `layout` of a running kernel (the snapshot's note says so, or --running, or a
// kernel file given): kernel_layout.h.
int run_kernel_layout(const std::string& snapshot, const bzcheck::Snapshot& snap, bool json,
                      const RunningLayoutOptions& options) {
    bzcheck::KernelLayoutInputs inputs;
    if (!options.system_map.empty()) inputs.system_map = bzcheck::read_system_map(options.system_map);
    if (!options.config.empty()) inputs.config = bzcheck::read_kernel_config(options.config);
    if (!options.kernel.empty()) {
        try {
            inputs.kernel_version = bzcheck::kernel_version_string(bzcheck::parse_kernel(read_file(options.kernel)));
        } catch (const bzcheck::InputError& error) {
            throw bzcheck::InputError(fmt::format("{}: {}", options.kernel, error.what()));
        }
    }
    const bzcheck::KernelLayoutReport report = bzcheck::check_kernel_layout(snap, inputs);
    if (json)
        fmt::print("{}\n", bzcheck::kernel_layout_json(snapshot, report).dump(2));
    else
        fmt::print("{}", bzcheck::kernel_layout_text(snapshot, report));
    return report.failed() ? EXIT_RULE_FAILED : EXIT_PASS;
}

int run_layout(const std::string& snapshot, bool json, const bzcheck::LayoutOptions& options,
               const RunningLayoutOptions& running) {
    const bzcheck::Snapshot snap = bzcheck::read_snapshot(snapshot);
    const bool kernel_files = !running.system_map.empty() || !running.config.empty() || !running.kernel.empty();
    if (snap.running_kernel || running.running || kernel_files) {
        if (options.require_handoff_maps)
            throw bzcheck::InputError("--require-maps checks a hand-off; this is a running kernel");
        return run_kernel_layout(snapshot, snap, json, running);
    }
    const bzcheck::LayoutReport report = bzcheck::check_layout(snap, options);
    if (json)
        fmt::print("{}\n", bzcheck::layout_json(report).dump(2));
    else
        fmt::print("{}", bzcheck::layout_text(report));
    return report.failed() ? EXIT_RULE_FAILED : EXIT_PASS;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bzcheck: check emulator snapshots against the Linux x86 boot protocol"};
    app.require_subcommand(1);

    VerifyOptions verify;
    auto* verify_cmd = app.add_subcommand("verify", "check the placement rules at a hand-off snapshot");
    verify_cmd->add_option("snapshot", verify.snapshot, "snapshot (ELF core)")->required();
    verify_cmd->add_option("--kernel", verify.kernel, "the bzImage the loader was given")->required();
    auto* initrd_opt = verify_cmd->add_option("--initrd", verify.initrd, "the initrd the loader was given");
    verify_cmd->add_flag("--no-initrd", verify.no_initrd, "the loader was given no initrd")->excludes(initrd_opt);
    auto* cmdline_opt = verify_cmd->add_option("--cmdline", verify.cmdline, "the expected kernel command line");
    verify_cmd->add_flag("--json", verify.json, "print JSON (docs/bzcheck.md)");
    verify_cmd->add_flag("--strict", verify.strict, "exit 1 on a WARN too, not only on a FAIL");
    verify_cmd->add_flag("--map", verify.map, "draw the placement: the low megabyte and the objects above it")
        ->excludes("--json");

    std::string layout_snapshot;
    bool layout_as_json = false;
    auto* layout_cmd = app.add_subcommand("layout", "walk the page tables and check them against the x86-64 layout");
    layout_cmd->add_option("snapshot", layout_snapshot, "snapshot (ELF core)")->required();
    layout_cmd->add_flag("--json", layout_as_json, "print JSON (docs/bzcheck.md)");
    bzcheck::LayoutOptions layout_options;
    layout_cmd->add_flag("--require-maps", layout_options.require_handoff_maps,
                         "also require bzboot's 64-bit hand-off maps: identity of 4 GiB and all RAM, "
                         "direct map of all RAM, 512 MiB kernel text map");
    RunningLayoutOptions running_layout;
    layout_cmd->add_flag("--running", running_layout.running,
                         "a running kernel's snapshot (implied by the note capture --running writes)");
    layout_cmd->add_option("--system-map", running_layout.system_map,
                           "the running kernel's System.map: its slide, bases and symbols");
    layout_cmd->add_option("--config", running_layout.config, "the running kernel's configuration (config-*)");
    layout_cmd->add_option("--kernel", running_layout.kernel,
                           "the running kernel's bzImage: its version string must be linux_banner's");

    bzcheck::CaptureOptions capture_options;
    auto* capture_cmd = app.add_subcommand("capture", "boot in an emulator and snapshot the hand-off");
    bzcheck::add_capture_options(*capture_cmd, capture_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? EXIT_PASS : EXIT_BAD_INPUT;
    }

    try {
        if (*verify_cmd) return run_verify(verify, cmdline_opt);
        if (*layout_cmd) return run_layout(layout_snapshot, layout_as_json, layout_options, running_layout);
        if (*capture_cmd) return bzcheck::run_capture(capture_options);
    } catch (const bzcheck::SnapshotError& error) {
        fmt::print(stderr, "bzcheck: {}\n", error.what());
        return EXIT_BAD_INPUT;
    } catch (const bzcheck::InputError& error) {
        fmt::print(stderr, "bzcheck: {}\n", error.what());
        return EXIT_BAD_INPUT;
    } catch (const std::bad_alloc&) {
        fmt::print(stderr, "bzcheck: out of memory\n");
        return EXIT_BAD_INPUT;
    }
    return EXIT_BAD_INPUT;
}
