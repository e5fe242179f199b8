// capture_qemu.cpp - QEMU back end of `bzcheck capture`.
#include "capture_qemu.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "common/size.h"

namespace bzcheck {

namespace {

constexpr const char* QEMU_BINARY = "qemu-system-x86_64";
constexpr const char* LOOPBACK = "127.0.0.1";
constexpr auto CONNECT_RETRY_INTERVAL = std::chrono::milliseconds(50);
// After the gdbstub connection ends: how long QEMU may take to exit.
constexpr auto QEMU_EXIT_GRACE = std::chrono::seconds(2);
// How often a running capture looks at the guest's serial output.
constexpr auto SERIAL_POLL_INTERVAL = std::chrono::milliseconds(100);
// The gdb remote protocol's interrupt: a bare ^C byte outside any packet.
constexpr char GDB_INTERRUPT = '\x03';

// QEMU option values are comma-separated: a literal comma is doubled.
std::string qemu_escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        out += c;
        if (c == ',') out += ',';
    }
    return out;
}

// A TCP port nobody listens on now (the kernel picks it).
unsigned pick_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw CaptureError(fmt::format("socket: {}", std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    if (!ok) throw CaptureError(fmt::format("cannot find a free TCP port: {}", std::strerror(errno)));
    return ntohs(addr.sin_port);
}

std::string to_hex(const std::string& text) {
    std::string out;
    for (unsigned char c : text) out += fmt::format("{:02x}", c);
    return out;
}

std::string from_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

std::uint8_t checksum(const std::string& payload) {
    unsigned sum = 0;
    for (unsigned char c : payload) sum += c;
    return static_cast<std::uint8_t>(sum);
}

std::uint64_t hex_value(const std::string& text) { return std::stoull(text, nullptr, 16); }

}  // namespace

// --- command line -----------------------------------------------------------

std::vector<std::string> qemu_command_line(const QemuConfig& c, unsigned gdb_port, const std::string& serial_log) {
    std::vector<std::string> argv = {QEMU_BINARY,
                                     "-accel",
                                     "tcg",
                                     "-machine",
                                     c.machine,
                                     "-m",
                                     fmt::format("{}M", c.memory_bytes / bzboot::MiB),
                                     "-display",
                                     "none",
                                     "-monitor",
                                     "none",
                                     "-nic",
                                     "none",
                                     "-no-reboot",
                                     "-serial",
                                     "file:" + serial_log,
                                     "-S",
                                     "-gdb",
                                     fmt::format("tcp:{}:{}", LOOPBACK, gdb_port)};
    if (!c.cpu.empty()) argv.insert(argv.end(), {"-cpu", c.cpu});
    if (!c.image.empty()) {
        // snapshot=on: whatever the guest writes never reaches the image.
        argv.insert(argv.end(), {"-drive", "file=" + qemu_escape(c.image) + ",format=raw,if=ide,snapshot=on"});
    } else {
        argv.insert(argv.end(), {"-kernel", c.kernel});
        if (!c.initrd.empty()) argv.insert(argv.end(), {"-initrd", c.initrd});
        if (!c.cmdline.empty()) argv.insert(argv.end(), {"-append", c.cmdline});
    }
    return argv;
}

// --- info registers -----------------------------------------------------------

CpuState parse_qemu_info_registers(const std::string& text) {
    // "ES =1000 00010000 0000ffff 00009300 ..." (selector base limit flags)
    static const std::regex segment_line(
        R"(^(ES|CS|SS|DS|FS|GS|LDT|TR) *=([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+))");
    // "GDT=     000f6180 00000037" (base limit)
    static const std::regex table_line(R"(^(GDT|IDT) *= *([0-9a-f]+) ([0-9a-f]+))");
    // Every other "NAME=hex" pair, "R8 =..." included.
    static const std::regex pair(R"(([A-Z][A-Z0-9]*) *=([0-9a-f]+))");

    std::map<std::string, std::uint64_t> values;
    std::map<std::string, Segment> segments;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::smatch m;
        if (std::regex_search(line, m, segment_line)) {
            segments[m[1]] =
                Segment{static_cast<std::uint32_t>(hex_value(m[2])), static_cast<std::uint32_t>(hex_value(m[4])),
                        static_cast<std::uint32_t>(hex_value(m[5])), hex_value(m[3])};
        } else if (std::regex_search(line, m, table_line)) {
            segments[m[1]] = Segment{0, static_cast<std::uint32_t>(hex_value(m[3])), 0, hex_value(m[2])};
        } else {
            for (auto it = std::sregex_iterator(line.begin(), line.end(), pair); it != std::sregex_iterator(); ++it)
                values[(*it)[1]] = hex_value((*it)[2]);
        }
    }

    // Long mode prints RAX.., other modes EAX..; both name the same registers.
    const auto reg = [&](const std::string& wide, const std::string& narrow) -> std::uint64_t {
        if (values.count(wide)) return values[wide];
        if (!narrow.empty() && values.count(narrow)) return values[narrow];
        throw CaptureError(fmt::format("QEMU's info registers lacks {}", wide));
    };
    const auto seg = [&](const std::string& name) {
        if (!segments.count(name)) throw CaptureError(fmt::format("QEMU's info registers lacks {}", name));
        return segments[name];
    };
    const auto extra = [&](const std::string& name) { return values.count(name) ? values[name] : 0; };

    CpuState cpu;
    cpu.rax = reg("RAX", "EAX");
    cpu.rbx = reg("RBX", "EBX");
    cpu.rcx = reg("RCX", "ECX");
    cpu.rdx = reg("RDX", "EDX");
    cpu.rsi = reg("RSI", "ESI");
    cpu.rdi = reg("RDI", "EDI");
    cpu.rbp = reg("RBP", "EBP");
    cpu.rsp = reg("RSP", "ESP");
    cpu.r8 = extra("R8");
    cpu.r9 = extra("R9");
    cpu.r10 = extra("R10");
    cpu.r11 = extra("R11");
    cpu.r12 = extra("R12");
    cpu.r13 = extra("R13");
    cpu.r14 = extra("R14");
    cpu.r15 = extra("R15");
    cpu.rip = reg("RIP", "EIP");
    cpu.rflags = reg("RFL", "EFL");
    cpu.cs = seg("CS");
    cpu.ds = seg("DS");
    cpu.es = seg("ES");
    cpu.fs = seg("FS");
    cpu.gs = seg("GS");
    cpu.ss = seg("SS");
    cpu.ldt = seg("LDT");
    cpu.tr = seg("TR");
    cpu.gdt = seg("GDT");
    cpu.idt = seg("IDT");
    cpu.cr0 = reg("CR0", "");
    cpu.cr2 = reg("CR2", "");
    cpu.cr3 = reg("CR3", "");
    cpu.cr4 = reg("CR4", "");
    cpu.efer = reg("EFER", "");
    return cpu;
}

// --- gdb remote protocol -------------------------------------------------------

GdbRemote::GdbRemote(unsigned port, const Deadline& deadline, ChildProcess& server) : deadline_(deadline) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, LOOPBACK, &addr.sin_addr);
    // QEMU listens a moment after it starts: retry until it does or dies.
    for (;;) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw CaptureError(fmt::format("socket: {}", std::strerror(errno)));
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return;
        const int error = errno;
        ::close(fd_);
        fd_ = -1;
        if (server.has_exited())
            throw CaptureError(
                fmt::format("QEMU {} before its gdbstub accepted a connection", server.exit_description()));
        if (deadline_.expired())
            throw CaptureError(fmt::format("timed out connecting to QEMU's gdbstub: {}", std::strerror(error)));
        std::this_thread::sleep_for(CONNECT_RETRY_INTERVAL);
    }
}

GdbRemote::~GdbRemote() {
    if (fd_ >= 0) ::close(fd_);
}

void GdbRemote::send_packet(const std::string& payload) {
    const std::string packet = fmt::format("${}#{:02x}", payload, checksum(payload));
    std::size_t done = 0;
    while (done < packet.size()) {
        const ssize_t n = ::send(fd_, packet.data() + done, packet.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw CaptureError(fmt::format("QEMU's gdbstub: send failed: {}", std::strerror(errno)));
        done += static_cast<std::size_t>(n);
    }
}

std::string GdbRemote::receive_packet() {
    // Skip acknowledgements ('+') until a "$payload#xx" packet is complete.
    for (;;) {
        const std::size_t start = buffer_.find('$');
        if (start != std::string::npos) {
            const std::size_t hash = buffer_.find('#', start);
            if (hash != std::string::npos && buffer_.size() >= hash + 3) {
                std::string payload = buffer_.substr(start + 1, hash - start - 1);
                buffer_.erase(0, hash + 3);
                if (::send(fd_, "+", 1, MSG_NOSIGNAL) != 1)
                    throw CaptureError("QEMU's gdbstub: cannot acknowledge a packet");
                return payload;
            }
        }
        read_some(fd_, buffer_, deadline_, "QEMU's gdbstub");
    }
}

void GdbRemote::send_interrupt() {
    if (::send(fd_, &GDB_INTERRUPT, 1, MSG_NOSIGNAL) != 1)
        throw CaptureError(fmt::format("QEMU's gdbstub: cannot send an interrupt: {}", std::strerror(errno)));
}

std::string GdbRemote::request(const std::string& payload) {
    send_packet(payload);
    return receive_packet();
}

std::string GdbRemote::monitor(const std::string& command) {
    send_packet("qRcmd," + to_hex(command));
    std::string output;
    for (;;) {
        const std::string reply = receive_packet();
        if (!reply.empty() && reply[0] == 'O' && reply != "OK") {
            output += from_hex(reply.substr(1));  // console output, hex-encoded
            continue;
        }
        if (reply == "OK") return output;
        throw CaptureError(fmt::format("QEMU monitor command '{}' failed: {}", command, reply));
    }
}

// --- the session ---------------------------------------------------------------

QemuSession::QemuSession(const QemuConfig& config, const bzboot::TempDir& work, const Deadline& deadline)
    : work_(work), deadline_(deadline), memory_bytes_(config.memory_bytes) {
    const unsigned port = pick_free_port();
    serial_log_ = work.file("serial.log").string();
    argv_ = qemu_command_line(config, port, serial_log_);
    const std::string log_path = work.file("qemu.log").string();
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) throw CaptureError(fmt::format("cannot create {}: {}", log_path, std::strerror(errno)));
    try {
        qemu_ = std::make_unique<ChildProcess>(argv_, ChildProcess::Stdio{-1, log_fd});
    } catch (const std::runtime_error& e) {
        ::close(log_fd);
        throw CaptureError(e.what());
    }
    ::close(log_fd);
    gdb_ = std::make_unique<GdbRemote>(port, deadline, *qemu_);
    gdb_->request("?");  // the initial stop (-S)
}

void QemuSession::add_breakpoint(std::uint64_t linear) {
    const std::string reply = gdb_->request(fmt::format("Z1,{:x},1", linear));
    if (reply != "OK") throw CaptureError(fmt::format("QEMU refused a breakpoint at {:#x}: {}", linear, reply));
    breakpoints_.insert(linear);
}

void QemuSession::wait_for_stop(const std::string& command) {
    std::string reply;
    try {
        reply = gdb_->request(command);
    } catch (const CaptureError& e) {
        if (deadline_.expired()) throw CaptureError("timed out before the guest reached a hand-off");
        if (qemu_->wait_exited(QEMU_EXIT_GRACE))
            throw CaptureError(fmt::format("QEMU {} before the hand-off", qemu_->exit_description()));
        throw;
    }
    // 'T'/'S' = stopped by a signal (SIGTRAP at a breakpoint); 'W'/'X' = ended.
    if (!reply.empty() && (reply[0] == 'W' || reply[0] == 'X')) throw CaptureError("the guest ended before a hand-off");
    if (reply.empty() || (reply[0] != 'T' && reply[0] != 'S'))
        throw CaptureError(fmt::format("unexpected stop reply from QEMU: {}", reply));
}

void QemuSession::resume() {
    // QEMU would stop again at once on the breakpoint under the CPU: step over
    // it with the breakpoints removed, as gdb does.
    if (stopped_on_breakpoint_) {
        for (std::uint64_t address : breakpoints_) gdb_->request(fmt::format("z1,{:x},1", address));
        wait_for_stop("s");
        for (std::uint64_t address : breakpoints_) gdb_->request(fmt::format("Z1,{:x},1", address));
    }
    wait_for_stop("c");
    stopped_on_breakpoint_ = true;
}

std::string QemuSession::serial_output() {
    std::ifstream in(serial_log_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void QemuSession::run_until_output(const std::string& text) {
    let_run();
    // QEMU writes the serial port to a file: look at it until the text is there.
    for (;;) {
        if (serial_output().find(text) != std::string::npos) return;
        if (qemu_->has_exited())
            throw CaptureError(
                fmt::format("QEMU {} before \"{}\" appeared on the serial port", qemu_->exit_description(), text));
        if (deadline_.expired())
            throw CaptureError(fmt::format("timed out waiting for \"{}\" on the serial port", text));
        std::this_thread::sleep_for(SERIAL_POLL_INTERVAL);
    }
}

void QemuSession::let_run() {
    gdb_->send_packet("c");  // its reply is the next stop: interrupt() reads it
    stopped_on_breakpoint_ = false;
}

void QemuSession::interrupt() {
    std::string reply;
    try {
        gdb_->send_interrupt();
        reply = gdb_->receive_packet();
    } catch (const CaptureError&) {
        if (qemu_->wait_exited(QEMU_EXIT_GRACE))
            throw CaptureError(
                fmt::format("QEMU {} while the kernel was to keep running (is bzboot.hold on "
                            "its command line?)",
                            qemu_->exit_description()));
        throw;
    }
    if (!reply.empty() && (reply[0] == 'W' || reply[0] == 'X'))
        throw CaptureError(
            "the guest ended while the kernel was to keep running (is bzboot.hold on its command line?)");
    if (reply.empty() || (reply[0] != 'T' && reply[0] != 'S'))
        throw CaptureError(fmt::format("unexpected stop reply from QEMU: {}", reply));
}

std::string QemuSession::translations() { return gdb_->monitor("info tlb"); }

CpuState QemuSession::registers() { return parse_qemu_info_registers(gdb_->monitor("info registers")); }

std::optional<std::uint32_t> QemuSession::read_phys_u32(std::uint64_t addr) {
    // "0000000000010202: 0x53726448"
    static const std::regex word(R"(: 0x([0-9a-f]{8}))");
    const std::string out = gdb_->monitor(fmt::format("xp /1wx {:#x}", addr));
    std::smatch m;
    if (!std::regex_search(out, m, word)) return std::nullopt;
    return static_cast<std::uint32_t>(hex_value(m[1]));
}

namespace {
// QEMU's dump holds all of guest RAM, written densely: on disk an 8 GiB guest
// takes about a minute, in the RAM-backed /dev/shm a few seconds. The dump goes
// there when the machine has the memory to spare (a margin of a quarter more).
constexpr const char* RAM_DISK = "/dev/shm";
constexpr std::uint64_t RAM_DISK_MARGIN_DIVISOR = 4;
constexpr const char* MEMINFO = "/proc/meminfo";

// MemAvailable of /proc/meminfo, in bytes (0 when unknown).
std::uint64_t available_memory() {
    std::ifstream meminfo(MEMINFO);
    std::string key;
    std::uint64_t kib = 0;
    std::string unit;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * bzboot::KiB;
    return 0;
}

// Where QEMU writes the dump of a guest of guest_bytes: a fresh file in /dev/shm
// when it and the machine's memory have room, else in the capture's own directory.
std::string dump_path(std::uint64_t guest_bytes, const bzboot::TempDir& work) {
    const std::uint64_t needed = guest_bytes + guest_bytes / RAM_DISK_MARGIN_DIVISOR;
    struct statvfs fs {};
    if (::statvfs(RAM_DISK, &fs) == 0 && std::uint64_t{fs.f_bavail} * fs.f_frsize >= needed &&
        available_memory() >= needed) {
        std::string pattern = std::string(RAM_DISK) + "/bzcheck-dump-XXXXXX";
        const int fd = ::mkstemp(pattern.data());
        if (fd >= 0) {
            ::close(fd);
            return pattern;
        }
    }
    return work.file("core.elf").string();
}
}  // namespace

Snapshot QemuSession::dump() {
    const CpuState cpu = registers();
    const std::string core = dump_path(memory_bytes_, work_);
    const std::string out = gdb_->monitor("dump-guest-memory " + core);
    if (out.find("rror") != std::string::npos) {
        ::unlink(core.c_str());
        throw CaptureError(fmt::format("QEMU dump-guest-memory: {}", out));
    }
    Snapshot snap;
    try {
        snap = read_snapshot(core);  // mapped: the file's memory lasts while the Snapshot does
    } catch (...) {
        ::unlink(core.c_str());
        throw;
    }
    ::unlink(core.c_str());
    // QEMU's CPU note has everything but EFER.
    snap.cpu.efer = cpu.efer;
    snap.efer_known = true;
    return snap;
}

}  // namespace bzcheck
