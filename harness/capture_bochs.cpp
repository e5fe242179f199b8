// capture_bochs.cpp - Bochs back end of `bzcheck capture`.
#include "capture_bochs.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/size.h"

namespace bzcheck {

namespace {

constexpr const char* BOCHS_BINARY = "bochs";
constexpr const char* BIOS_IMAGE = "/usr/share/bochs/BIOS-bochs-latest";
constexpr const char* VGA_BIOS_IMAGE = "/usr/share/vgabios/vgabios.bin";
// Guest RAM Bochs has below 1 MiB besides the VGA window 0xA0000-0xBFFFF,
// laid out as QEMU's dump of a pc machine has it.
constexpr std::uint64_t LOW_RAM_END = 0xA0000;
constexpr std::uint64_t UPPER_AREA_START = 0xC0000;
constexpr std::uint32_t DESCRIPTOR_G = 1u << 23;
constexpr std::uint32_t PAGE_SHIFT = 12;
constexpr std::uint32_t PAGE_OFFSET_MASK = (1u << PAGE_SHIFT) - 1;
// After Bochs closes its output: how long it may take to exit, and how much
// of what it said last goes into the error message.
constexpr auto BOCHS_EXIT_GRACE = std::chrono::seconds(2);
constexpr std::size_t LAST_WORDS_LINES = 3;

std::uint64_t hex_value(const std::string& text) { return std::stoull(text, nullptr, 16); }

// A segment from the descriptor words Bochs prints ("dh=0x.., dl=0x..").
Segment segment_from_descriptor(std::uint32_t selector, std::uint32_t dh, std::uint32_t dl) {
    Segment s;
    s.selector = selector;
    s.base = (dl >> 16) | ((dh & 0xFF) << 16) | (dh & 0xFF000000);
    std::uint32_t limit = (dl & 0xFFFF) | (dh & 0x000F0000);
    if (dh & DESCRIPTOR_G) limit = (limit << PAGE_SHIFT) | PAGE_OFFSET_MASK;
    s.limit = limit;
    s.flags = dh & SEGMENT_FLAGS_MASK;  // the attribute bits, as snapshot.h keeps them
    return s;
}

bool ends_with_prompt(const std::string& text) {
    static const std::regex prompt(R"(<bochs:\d+> $)");
    return std::regex_search(text, prompt);
}

// The last `count` lines of Bochs's output that say something, joined with
// " | " for a one-line message (Bochs frames its exit reason in "===" rules).
std::string last_words(const std::string& text, std::size_t count) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of("= ") != std::string::npos) lines.push_back(line);
    }
    std::string out;
    for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : " | ") + lines[i];
    return out;
}

// The panic and error lines of Bochs's log ("...p[DEV ] ..." / "...e[DEV ] ..."):
// where it says why it gave up when its output does not.
std::string log_problems(const std::string& log_path) {
    static const std::regex problem(R"(^[0-9]+[pe]\[)");
    std::ifstream in(log_path);
    std::string line, text;
    while (std::getline(in, line))
        if (std::regex_search(line, problem)) text += line + "\n";
    return last_words(text, LAST_WORDS_LINES);
}

}  // namespace

std::vector<std::string> bochs_command_line(const BochsConfig& c, const std::string& disk_link,
                                            const std::string& serial_log, const std::string& bochs_log,
                                            const std::string& empty_rc) {
    std::vector<std::string> argv = {
        BOCHS_BINARY,
        "-q",
        "-f",
        empty_rc,  // the whole configuration follows as arguments
        fmt::format("megs: {}", c.memory_bytes / bzboot::MiB),
        fmt::format("romimage: file={}", BIOS_IMAGE),
        fmt::format("vgaromimage: file={}", VGA_BIOS_IMAGE),
        // volatile: guest writes go to a redo log beside disk_link, not the image.
        fmt::format("ata0-master: type=disk, path={}, mode=volatile", disk_link),
        "boot: disk",
        "display_library: term",
        "clock: sync=none, time0=1",  // reproducible: no wall clock
        fmt::format("com1: enabled=1, mode=file, dev={}", serial_log),
        fmt::format("log: {}", bochs_log),
    };
    if (c.cpu.empty())
        argv.push_back("cpuid: 1g_pages=1");  // lets `page` translate 1 GiB pages
    else
        argv.push_back(fmt::format("cpu: model={}", c.cpu));
    return argv;
}

CpuState parse_bochs_registers(const std::string& text) {
    static const std::regex general(R"(^(r[a-z0-9]+) *: ([0-9a-f]{8})_([0-9a-f]{8}))");  // rax: 00000000_00001000
    static const std::regex eflags(R"(^eflags 0x([0-9a-f]+))");
    static const std::regex segment(
        R"(^(es|cs|ss|ds|fs|gs|ldtr|tr):0x([0-9a-f]+), dh=0x([0-9a-f]+), dl=0x([0-9a-f]+))");
    static const std::regex table(R"(^(gdtr|idtr):base=0x([0-9a-f]+), limit=0x([0-9a-f]+))");
    static const std::regex control(R"(^(CR0|CR3|CR4|EFER)=0x([0-9a-f]+))");
    static const std::regex cr2(R"(^CR2=page fault laddr=0x([0-9a-f]+))");

    std::map<std::string, std::uint64_t> values;
    std::map<std::string, Segment> segments;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::smatch m;
        if (std::regex_search(line, m, general)) {
            values[m[1]] = (hex_value(m[2]) << 32) | hex_value(m[3]);
        } else if (std::regex_search(line, m, eflags)) {
            values["rflags"] = hex_value(m[1]);
        } else if (std::regex_search(line, m, segment)) {
            segments[m[1]] = segment_from_descriptor(static_cast<std::uint32_t>(hex_value(m[2])),
                                                     static_cast<std::uint32_t>(hex_value(m[3])),
                                                     static_cast<std::uint32_t>(hex_value(m[4])));
        } else if (std::regex_search(line, m, table)) {
            segments[m[1]] = Segment{0, static_cast<std::uint32_t>(hex_value(m[3])), 0, hex_value(m[2])};
        } else if (std::regex_search(line, m, control)) {
            values[m[1]] = hex_value(m[2]);
        } else if (std::regex_search(line, m, cr2)) {
            values["CR2"] = hex_value(m[1]);
        }
    }

    const auto reg = [&](const std::string& name) {
        if (!values.count(name)) throw CaptureError(fmt::format("Bochs's register dump lacks {}", name));
        return values[name];
    };
    const auto seg = [&](const std::string& name) {
        if (!segments.count(name)) throw CaptureError(fmt::format("Bochs's register dump lacks {}", name));
        return segments[name];
    };
    CpuState cpu;
    cpu.rax = reg("rax");
    cpu.rbx = reg("rbx");
    cpu.rcx = reg("rcx");
    cpu.rdx = reg("rdx");
    cpu.rsi = reg("rsi");
    cpu.rdi = reg("rdi");
    cpu.rbp = reg("rbp");
    cpu.rsp = reg("rsp");
    cpu.r8 = reg("r8");
    cpu.r9 = reg("r9");
    cpu.r10 = reg("r10");
    cpu.r11 = reg("r11");
    cpu.r12 = reg("r12");
    cpu.r13 = reg("r13");
    cpu.r14 = reg("r14");
    cpu.r15 = reg("r15");
    cpu.rip = reg("rip");
    cpu.rflags = reg("rflags");
    cpu.cs = seg("cs");
    cpu.ds = seg("ds");
    cpu.es = seg("es");
    cpu.fs = seg("fs");
    cpu.gs = seg("gs");
    cpu.ss = seg("ss");
    cpu.ldt = seg("ldtr");
    cpu.tr = seg("tr");
    cpu.gdt = seg("gdtr");
    cpu.idt = seg("idtr");
    cpu.cr0 = reg("CR0");
    cpu.cr2 = reg("CR2");
    cpu.cr3 = reg("CR3");
    cpu.cr4 = reg("CR4");
    cpu.efer = reg("EFER");
    return cpu;
}

BochsSession::BochsSession(const BochsConfig& config, const bzboot::TempDir& work, const Deadline& deadline)
    : work_(work), deadline_(deadline), memory_bytes_(config.memory_bytes) {
    const std::string disk_link = work.file("disk.img").string();
    std::error_code error;
    std::filesystem::create_symlink(std::filesystem::absolute(config.image), disk_link, error);
    if (error)
        throw CaptureError(fmt::format("cannot link the image into {}: {}", work.path().string(), error.message()));
    // Our own empty file, not /dev/null: Bochs would parse whatever a broken
    // machine's /dev/null holds.
    const std::string empty_rc = work.file("bochsrc").string();
    if (!std::ofstream(empty_rc)) throw CaptureError(fmt::format("cannot create {}", empty_rc));
    argv_ = bochs_command_line(config, disk_link, work.file("serial.log").string(), work.file("bochs.log").string(),
                               empty_rc);

    int stdin_pipe[2], stdout_pipe[2];
    if (::pipe2(stdin_pipe, O_CLOEXEC) != 0) throw CaptureError(fmt::format("pipe: {}", std::strerror(errno)));
    if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) {
        ::close(stdin_pipe[0]);
        ::close(stdin_pipe[1]);
        throw CaptureError(fmt::format("pipe: {}", std::strerror(errno)));
    }
    to_bochs_ = stdin_pipe[1];
    from_bochs_ = stdout_pipe[0];
    try {
        // TERM: the term display library needs a terminal type for its own pty.
        bochs_ = std::make_unique<ChildProcess>(argv_, ChildProcess::Stdio{stdin_pipe[0], stdout_pipe[1]},
                                                std::vector<std::string>{"TERM=xterm"});
    } catch (const std::runtime_error& e) {
        ::close(stdin_pipe[0]);
        ::close(stdout_pipe[1]);
        throw CaptureError(e.what());
    }
    ::close(stdin_pipe[0]);
    ::close(stdout_pipe[1]);
    wait_for_prompt("Bochs to start");
}

BochsSession::~BochsSession() {
    bochs_.reset();  // kill it before closing its pipes
    if (to_bochs_ >= 0) ::close(to_bochs_);
    if (from_bochs_ >= 0) ::close(from_bochs_);
}

std::string BochsSession::wait_for_prompt(const std::string& what) {
    try {
        read_until(from_bochs_, pending_, deadline_, what, ends_with_prompt);
    } catch (const CaptureError& e) {
        if (deadline_.expired()) throw CaptureError(fmt::format("timed out waiting for {}", what));
        bochs_->wait_exited(BOCHS_EXIT_GRACE);
        const std::string problems = log_problems(work_.file("bochs.log").string());
        throw CaptureError(fmt::format("Bochs {} while waiting for {}; its last words: {}{}",
                                       bochs_->exit_description(), what, last_words(pending_, LAST_WORDS_LINES),
                                       problems.empty() ? "" : "; its log: " + problems));
    }
    std::string output;
    output.swap(pending_);
    return output;
}

std::string BochsSession::command(const std::string& line) {
    write_all(to_bochs_, line + "\n", "Bochs's debugger");
    return wait_for_prompt(fmt::format("Bochs's answer to '{}'", line));
}

void BochsSession::add_breakpoint(std::uint64_t linear) { command(fmt::format("lb {:#x}", linear)); }

void BochsSession::resume() {
    // Bochs's `c` leaves a breakpoint it is stopped on by itself.
    try {
        command("c");
    } catch (const CaptureError& e) {
        if (deadline_.expired()) throw CaptureError("timed out before the guest reached a hand-off");
        throw;
    }
}

CpuState BochsSession::registers() { return parse_bochs_registers(command("r") + command("sreg") + command("creg")); }

std::optional<std::uint32_t> BochsSession::read_phys_u32(std::uint64_t addr) {
    // "0x0000000000010202 <bogus+       0>:	0x53726448"
    static const std::regex word(R"(>:\s*0x([0-9a-f]+))");
    if (addr + sizeof(std::uint32_t) > memory_bytes_) return std::nullopt;
    const std::string out = command(fmt::format("xp /1wx {:#x}", addr));
    std::smatch m;
    if (!std::regex_search(out, m, word)) return std::nullopt;
    return static_cast<std::uint32_t>(hex_value(m[1]));
}

RamRange BochsSession::dump_range(std::uint64_t start, std::uint64_t end) {
    // writemem takes linear addresses: equal to physical ones in real mode,
    // in protected mode without paging and in a hand-off's identity map.
    const std::string file = work_.file(fmt::format("ram-{:x}.bin", start)).string();
    const std::string out = command(fmt::format("writemem \"{}\" {:#x} {:#x}", file, start, end - start));
    if (out.find("error") != std::string::npos)
        throw CaptureError(fmt::format("Bochs cannot read RAM {:#x}-{:#x} (linear: is it identity-mapped?): {}", start,
                                       end, last_words(out, 2)));
    RamRange range{start, std::vector<std::uint8_t>(end - start)};
    std::vector<std::uint8_t>& bytes = range.owned_bytes();
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::uint64_t>(in.gcount()) != end - start)
        throw CaptureError(fmt::format("Bochs wrote {} bytes of RAM {:#x}-{:#x}", in.gcount(), start, end));
    in.close();
    ::unlink(file.c_str());
    return range;
}

Snapshot BochsSession::dump() {
    Snapshot snap;
    snap.cpu = registers();
    snap.efer_known = true;
    snap.ram.push_back(dump_range(0, LOW_RAM_END));
    snap.ram.push_back(dump_range(UPPER_AREA_START, memory_bytes_));
    return snap;
}

}  // namespace bzcheck
