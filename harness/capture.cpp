// capture.cpp - the emulator-independent half of `bzcheck capture`: options,
// where to put breakpoints, how to tell a hand-off from any other stop, and
// the stop/resume loop around an EmulatorSession.
#include "capture.h"

#include <fmt/core.h>
#include <sys/stat.h>
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bootproto.h"
#include "capture_bochs.h"
#include "capture_qemu.h"
#include "capture_session.h"
#include "common/bytes.h"
#include "common/size.h"

namespace bzcheck {

namespace bp = bootproto;

namespace {

// Where real-mode setup usually sits (boot.rst's examples and QEMU's -kernel
// choice for protocol >= 2.02 is 0x10000; old-style loaders use 0x90000).
constexpr std::uint64_t USUAL_SETUP_BASES[] = {bp::SETUP_BASE, 0x90000};
// Bytes of the bzImage we need: the whole setup header, and for entry32_code the
// largest real-mode part boot.rst allows (32 KiB) and the code after it.
constexpr std::size_t KERNEL_HEADER_BYTES = bp::HDR_KERNEL_INFO_OFFSET.end();
constexpr std::size_t KERNEL_PREFIX_BYTES = (bp::SETUP_SECTS_MAX + 1) * bp::SECTOR_SIZE + ENTRY32_CODE_BYTES;
constexpr int EXIT_OK = 0, EXIT_FAILED = 1, EXIT_BAD_INPUT = 2;

bool is_readable_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && std::ifstream(path).good();
}

std::vector<std::uint8_t> read_file_prefix(const std::string& path, std::size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument(fmt::format("cannot read {}", path));
    std::vector<std::uint8_t> bytes(max_bytes);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(max_bytes));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return bytes;
}

void add_unique(std::vector<std::uint64_t>& list, std::uint64_t value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

bool contains(const std::vector<std::uint64_t>& list, std::uint64_t value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

// Whether guest memory at addr holds code (a whole number of dwords).
bool code_at(std::uint64_t addr, const std::vector<std::uint8_t>& code, const PhysReadU32& read_phys_u32) {
    const bzboot::ByteView expected(code);
    for (std::size_t at = 0; at + sizeof(std::uint32_t) <= code.size(); at += sizeof(std::uint32_t))
        if (read_phys_u32(addr + at) != expected.read_le(at, sizeof(std::uint32_t))) return false;
    return true;
}

// Throws std::invalid_argument naming the first problem with the options.
void validate(const CaptureOptions& o) {
    const bool qemu_kernel = !o.qemu_kernel.empty();
    if (qemu_kernel == !o.image.empty())
        throw std::invalid_argument("give either a disk IMAGE or --qemu-kernel BZIMAGE");
    if (o.emulator != "qemu" && o.emulator != "bochs")
        throw std::invalid_argument(fmt::format("unknown emulator '{}' (qemu or bochs)", o.emulator));
    if (qemu_kernel && o.emulator != "qemu") throw std::invalid_argument("--qemu-kernel needs --emulator qemu");
    if (!qemu_kernel && (!o.initrd.empty() || !o.cmdline.empty()))
        throw std::invalid_argument("--initrd and --cmdline go with --qemu-kernel");
    if (o.machine != "pc" && o.machine != "q35")
        throw std::invalid_argument(fmt::format("unknown machine '{}' (pc or q35)", o.machine));
    if (o.emulator == "bochs" && o.machine != "pc") throw std::invalid_argument("bochs emulates only --machine pc");
    if (o.timeout_seconds == 0) throw std::invalid_argument("--timeout must be at least 1 second");
    if (o.running && o.emulator == "bochs")
        // docs/bzcheck.md, "capture --running": Bochs dumps linear addresses only.
        throw std::invalid_argument(
            "--running needs --emulator qemu: Bochs's writemem dumps linear addresses and a running kernel "
            "has no identity map (docs/bzcheck.md)");
    if (!o.running && (!o.serial_out.empty() || !o.tlb_out.empty()))
        throw std::invalid_argument("--serial and --tlb go with --running");
    if (o.running && o.after.empty()) throw std::invalid_argument("--after needs a text to wait for");
    if (o.out.empty()) throw std::invalid_argument("--out SNAP is required");
    for (const std::string* path : {&o.image, &o.qemu_kernel, &o.initrd, &o.kernel})
        if (!path->empty() && !is_readable_file(*path))
            throw std::invalid_argument(fmt::format("cannot read {}", *path));
}

// Absolute, so that the command line recorded in the snapshot means something.
std::string absolute_path(const std::string& path) {
    return path.empty() ? path : std::filesystem::absolute(path).string();
}

std::unique_ptr<EmulatorSession> start_session(const CaptureOptions& o, std::uint64_t memory_bytes,
                                               const bzboot::TempDir& work, const Deadline& deadline) {
    if (o.emulator == "bochs") {
        BochsConfig config{absolute_path(o.image), memory_bytes, o.cpu};
        return std::make_unique<BochsSession>(config, work, deadline);
    }
    QemuConfig config;
    config.image = absolute_path(o.image);
    config.kernel = absolute_path(o.qemu_kernel);
    config.initrd = absolute_path(o.initrd);
    config.cmdline = o.running && !o.qemu_kernel.empty() ? running_cmdline(o.cmdline) : o.cmdline;
    config.memory_bytes = memory_bytes;
    config.cpu = o.cpu;
    config.machine = o.machine;
    return std::make_unique<QemuSession>(config, work, deadline);
}

// Resumes the guest until a stop classifies as a hand-off.
HandoffKind run_to_handoff(EmulatorSession& session, const HandoffCandidates& candidates, bool verbose) {
    for (std::uint64_t address : candidates.all()) session.add_breakpoint(address);
    for (;;) {
        session.resume();
        const CpuState cpu = session.registers();
        const HandoffKind kind =
            classify_stop(cpu, candidates, [&](std::uint64_t addr) { return session.read_phys_u32(addr); });
        if (verbose)
            fmt::print(stderr, "bzcheck capture: stop at {:#x} (CS {:#06x}, RIP {:#x}): {}\n", cpu.cs.base + cpu.rip,
                       cpu.cs.selector, cpu.rip, kind == HandoffKind::unknown ? "not a hand-off" : handoff_name(kind));
        if (kind != HandoffKind::unknown) return kind;
    }
}

void write_text_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw CaptureError(fmt::format("cannot write {}", path));
}

// Boots to o.after and stops the guest while its CPU is in kernel mode; returns
// how many stops that took.
unsigned stop_running_kernel(EmulatorSession& session, const CaptureOptions& o) {
    session.run_until_output(o.after);
    for (unsigned attempt = 1;; ++attempt) {
        session.interrupt();
        const CpuState cpu = session.registers();
        const unsigned cpl = current_privilege_level(cpu);
        if (o.verbose) fmt::print(stderr, "bzcheck capture: stop {} at RIP {:#x}, CPL {}\n", attempt, cpu.rip, cpl);
        if (cpl == 0) {
            if (!(cpu.cr0 & CR0_PG) || !(cpu.efer & EFER_LMA))
                throw CaptureError(
                    fmt::format("the guest runs with CR0 {:#x}, EFER {:#x}: not a 64-bit kernel "
                                "with paging",
                                cpu.cr0, cpu.efer));
            return attempt;
        }
        if (attempt == RUNNING_STOP_ATTEMPTS)
            throw CaptureError(
                fmt::format("{} stops found the CPU in user mode (CPL {}), none in the kernel", attempt, cpl));
        session.let_run();
        std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));  // a different moment each time
    }
}

}  // namespace

std::string running_cmdline(const std::string& cmdline) {
    std::istringstream words(cmdline);
    for (std::string word; words >> word;)
        if (word == HOLD_WORD) return cmdline;
    return cmdline.empty() ? HOLD_WORD : cmdline + " " + HOLD_WORD;
}

unsigned current_privilege_level(const CpuState& cpu) {
    if (!(cpu.cr0 & CR0_PE)) return 0;  // real mode
    return cpu.cs.selector & 3;
}

std::uint64_t parse_memory_size(const std::string& text) {
    // bzinstall's size syntax; a bare number is MiB, as QEMU's -m takes it.
    const std::uint64_t bytes = bzboot::parse_size(text, bzboot::MiB, "memory size");
    // Both emulators take whole MiB (QEMU's -m NM, Bochs's megs:).
    if (bytes == 0 || bytes % bzboot::MiB != 0)
        throw std::invalid_argument(fmt::format("memory size '{}' is not a positive number of MiB", text));
    return bytes;
}

std::vector<std::uint64_t> HandoffCandidates::all() const {
    std::set<std::uint64_t> unique(entries16.begin(), entries16.end());
    unique.insert(entries32.begin(), entries32.end());
    unique.insert(entries64.begin(), entries64.end());
    return {unique.begin(), unique.end()};
}

HandoffCandidates handoff_candidates(const std::vector<std::uint8_t>& kernel_prefix) {
    HandoffCandidates c;
    for (std::uint64_t base : USUAL_SETUP_BASES) c.entries16.push_back(base + bp::SETUP_ENTRY_OFFSET);
    c.entries32 = {bp::BZIMAGE_LOAD_ADDR, bp::COMMON_PREF_ADDRESS};
    c.entries64 = {bp::BZIMAGE_LOAD_ADDR + bp::ENTRY_64_OFFSET, bp::COMMON_PREF_ADDRESS + bp::ENTRY_64_OFFSET};
    if (kernel_prefix.empty()) return c;

    const bzboot::ByteView h(kernel_prefix);
    if (kernel_prefix.size() < KERNEL_HEADER_BYTES || h.field(bp::HDR_HEADER) != bp::HDRS_MAGIC)
        throw std::invalid_argument("--kernel is not a bzImage (no HdrS header)");
    // Every field below lies inside the KERNEL_HEADER_BYTES checked above.
    const std::uint64_t version = h.field(bp::HDR_VERSION).value_or(0);
    const std::uint64_t code32_start = h.field(bp::HDR_CODE32_START).value_or(0);
    add_unique(c.entries32, code32_start);
    add_unique(c.entries64, code32_start + bp::ENTRY_64_OFFSET);
    if (version >= bp::PROTOCOL_2_10) {
        const std::uint64_t pref_address = h.field(bp::HDR_PREF_ADDRESS).value_or(0);
        add_unique(c.entries32, pref_address);
        add_unique(c.entries64, pref_address + bp::ENTRY_64_OFFSET);
    }
    // The protected-mode code follows the boot sector and the setup.
    std::uint64_t setup_sects = h.field(bp::HDR_SETUP_SECTS).value_or(0);
    if (setup_sects == 0) setup_sects = bp::SETUP_SECTS_DEFAULT;
    const std::uint64_t code_offset = (setup_sects + 1) * bp::SECTOR_SIZE;
    if (code_offset + ENTRY32_CODE_BYTES <= kernel_prefix.size())
        c.entry32_code.assign(kernel_prefix.begin() + static_cast<std::ptrdiff_t>(code_offset),
                              kernel_prefix.begin() + static_cast<std::ptrdiff_t>(code_offset + ENTRY32_CODE_BYTES));
    return c;
}

HandoffKind classify_stop(const CpuState& cpu, const HandoffCandidates& candidates, const PhysReadU32& read_phys_u32) {
    const auto hdrs_at = [&](std::uint64_t addr) { return read_phys_u32(addr) == bp::HDRS_MAGIC; };
    const bool protected_mode = (cpu.cr0 & CR0_PE) != 0;
    const bool long_mode = (cpu.efer & EFER_LMA) != 0;

    if (!protected_mode) {
        // Real mode: the linear address is CS base + IP; X = that - 0x200.
        const std::uint64_t linear = cpu.cs.base + (cpu.rip & 0xFFFF);
        const std::uint64_t setup = linear - bp::SETUP_ENTRY_OFFSET;
        if (contains(candidates.entries16, linear) && hdrs_at(setup + bp::HDR_HEADER)) return HandoffKind::real16;
        return HandoffKind::unknown;
    }
    if (!long_mode) {
        const std::uint64_t linear = (cpu.cs.base + cpu.rip) & 0xFFFFFFFF;
        const std::uint64_t boot_params = cpu.rsi & 0xFFFFFFFF;
        if (!contains(candidates.entries32, linear) || !hdrs_at(boot_params + bp::HDR_HEADER))
            return HandoffKind::unknown;
        // A loader's own code may run at a candidate first (GRUB's relocator runs
        // at 0x100000, ESI at its own base, before it enters the kernel at
        // pref_address): HdrS at ESI alone would take it were ESI at a boot_params.
        // The kernel is where code32_start says (boot.rst: a relocating loader
        // must set it), or where the kernel file's code is, for a loader that
        // leaves code32_start alone.
        if (read_phys_u32(boot_params + bp::HDR_CODE32_START.offset) == linear) return HandoffKind::prot32;
        if (!candidates.entry32_code.empty() && code_at(linear, candidates.entry32_code, read_phys_u32))
            return HandoffKind::prot32;
        return HandoffKind::unknown;
    }
    // Long mode. The setup header sits in boot_params at the offsets it has in
    // the kernel file. boot_params is reached through the loader's identity map,
    // so RSI is also its physical address.
    if (contains(candidates.entries64, cpu.rip) && hdrs_at(cpu.rsi + bp::HDR_HEADER)) return HandoffKind::long64;
    return HandoffKind::unknown;
}

void add_capture_options(CLI::App& app, CaptureOptions& o) {
    CLI::App* cmd = app.get_parent() != nullptr
                        ? &app
                        : app.add_subcommand("capture", "Stop an emulator at the kernel hand-off and write a snapshot");
    cmd->add_option("IMAGE", o.image, "Disk image to boot")->check(CLI::ExistingFile);
    cmd->add_option("--emulator", o.emulator, "qemu or bochs")->check(CLI::IsMember({"qemu", "bochs"}));
    cmd->add_option("--memory", o.memory, "Guest RAM, K/M/G suffix (default 512M)");
    cmd->add_option("--cpu", o.cpu, "CPU model (QEMU -cpu, Bochs cpu: model=)");
    cmd->add_option("--machine", o.machine, "QEMU machine: pc or q35")->check(CLI::IsMember({"pc", "q35"}));
    cmd->add_option("--kernel", o.kernel, "The bzImage the loader boots (predicts entry points)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--qemu-kernel", o.qemu_kernel, "Boot this bzImage with QEMU's own -kernel loader")
        ->check(CLI::ExistingFile);
    cmd->add_option("--initrd", o.initrd, "With --qemu-kernel: the initrd")->check(CLI::ExistingFile);
    cmd->add_option("--cmdline", o.cmdline, "With --qemu-kernel: the kernel command line");
    cmd->add_option("--timeout", o.timeout_seconds, "Seconds before the emulator is killed (default 120)");
    cmd->add_option("--out", o.out, "Snapshot file to write")->required();
    cmd->add_flag("-v,--verbose", o.verbose, "Report every breakpoint stop on stderr");
    cmd->add_flag("--running", o.running,
                  "Snapshot the running kernel (QEMU): boot until --after's text, stop in kernel mode");
    cmd->add_option(
        "--after", o.after,
        fmt::format("With --running: the serial output to wait for (default \"{}\")", RUNNING_AFTER_DEFAULT));
    cmd->add_option("--serial", o.serial_out, "With --running: copy the guest's serial output to this file");
    cmd->add_option("--tlb", o.tlb_out, "With --running: write QEMU's `info tlb` of the stopped guest to this file");
}

int run_capture(const CaptureOptions& o) {
    std::uint64_t memory_bytes = 0;
    HandoffCandidates candidates;
    try {
        validate(o);
        memory_bytes = parse_memory_size(o.memory);
        if (o.emulator == "bochs" && memory_bytes > BOCHS_MAX_MEMORY)
            throw std::invalid_argument(
                fmt::format("bochs captures at most {} MiB of RAM", BOCHS_MAX_MEMORY / bzboot::MiB));
        const std::string kernel = o.qemu_kernel.empty() ? o.kernel : o.qemu_kernel;
        candidates = handoff_candidates(kernel.empty() ? std::vector<std::uint8_t>{}
                                                       : read_file_prefix(kernel, KERNEL_PREFIX_BYTES));
    } catch (const std::invalid_argument& e) {
        fmt::print(stderr, "bzcheck capture: {}\n", e.what());
        return EXIT_BAD_INPUT;
    }

    // A dead emulator must surface as an error from write(), not kill us.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        const Deadline deadline(std::chrono::seconds(o.timeout_seconds));
        const bzboot::TempDir work("bzcheck-capture");  // the emulators' files: $TMPDIR/bzcheck-capture.XXXXXX
        std::unique_ptr<EmulatorSession> session = start_session(o, memory_bytes, work, deadline);
        if (o.running) {
            const unsigned stops = stop_running_kernel(*session, o);
            if (!o.tlb_out.empty()) write_text_file(o.tlb_out, session->translations());
            Snapshot snap = session->dump();
            snap.running_kernel = true;
            snap.emulator = o.emulator;
            snap.emulator_args = session->command_line();
            snap.has_bzcheck_note = true;
            if (!o.serial_out.empty()) write_text_file(o.serial_out, session->serial_output());
            session.reset();
            write_snapshot(o.out, snap);
            fmt::print(
                "bzcheck capture: running kernel stopped at RIP {:#x} (CPL 0, stop {}) under {}; {} MiB of "
                "RAM written to {}\n",
                snap.cpu.rip, stops, o.emulator, snap.ram_bytes() / bzboot::MiB, o.out);
            return EXIT_OK;
        }
        const HandoffKind kind = run_to_handoff(*session, candidates, o.verbose);
        Snapshot snap = session->dump();
        snap.handoff = kind;
        snap.emulator = o.emulator;
        snap.emulator_args = session->command_line();
        snap.has_bzcheck_note = true;
        session.reset();  // the emulator is no longer needed: free its memory
        write_snapshot(o.out, snap);
        fmt::print("bzcheck capture: {} hand-off at {:#x} under {}; {} MiB of RAM written to {}\n", handoff_name(kind),
                   snap.cpu.cs.base + snap.cpu.rip, o.emulator, snap.ram_bytes() / bzboot::MiB, o.out);
        return EXIT_OK;
    } catch (const CaptureError& e) {
        fmt::print(stderr, "bzcheck capture: {}\n", e.what());
    } catch (const SnapshotError& e) {
        fmt::print(stderr, "bzcheck capture: snapshot: {}\n", e.what());
    } catch (const std::exception& e) {
        fmt::print(stderr, "bzcheck capture: {}\n", e.what());
    }
    return EXIT_FAILED;
}

}  // namespace bzcheck
