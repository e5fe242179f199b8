// capture_qemu.h - QEMU (TCG) under its gdbstub, spoken to directly over TCP.
//
// The gdb remote protocol subset used: `?`, `Z1`/`z1` (hardware breakpoints,
// which QEMU compares with linear addresses), `c`, `s`, the ^C interrupt (to
// stop a running kernel), and `qRcmd` to run HMP monitor commands
// (`info registers`, `xp`, `info tlb`, `dump-guest-memory`).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "capture_session.h"

namespace bzcheck {

struct QemuConfig {
    std::string image;                    // disk image, or empty with kernel
    std::string kernel, initrd, cmdline;  // QEMU's own -kernel loader
    std::uint64_t memory_bytes = 0;
    std::string cpu;      // -cpu; empty = QEMU's default
    std::string machine;  // pc or q35
};

// The qemu-system-x86_64 command line for a config (gdbstub on gdb_port,
// serial output to serial_log).
std::vector<std::string> qemu_command_line(const QemuConfig& config, unsigned gdb_port, const std::string& serial_log);

// Parses HMP `info registers` output (16/32-bit and long-mode forms).
// Throws CaptureError when a register is missing.
CpuState parse_qemu_info_registers(const std::string& text);

// A gdb remote protocol connection (packets with acknowledgements).
class GdbRemote {
public:
    GdbRemote(unsigned port, const Deadline& deadline, ChildProcess& server);
    ~GdbRemote();
    GdbRemote(const GdbRemote&) = delete;
    GdbRemote& operator=(const GdbRemote&) = delete;

    // Sends a packet and returns the reply packet's payload.
    std::string request(const std::string& payload);
    // Runs a monitor command (qRcmd) and returns its console output.
    std::string monitor(const std::string& command);
    // A packet whose reply comes later ("c": the next stop), and that reply.
    void send_packet(const std::string& payload);
    std::string receive_packet();
    // Stops a running target (the protocol's out-of-band ^C byte).
    void send_interrupt();

private:
    int fd_ = -1;
    std::string buffer_;  // bytes received but not yet parsed
    const Deadline& deadline_;
};

class QemuSession : public EmulatorSession {
public:
    QemuSession(const QemuConfig& config, const bzboot::TempDir& work, const Deadline& deadline);
    void add_breakpoint(std::uint64_t linear) override;
    void resume() override;
    CpuState registers() override;
    std::optional<std::uint32_t> read_phys_u32(std::uint64_t addr) override;
    Snapshot dump() override;
    std::vector<std::string> command_line() const override { return argv_; }
    void run_until_output(const std::string& text) override;
    void interrupt() override;
    void let_run() override;
    std::string serial_output() override;
    std::string translations() override;

private:
    void wait_for_stop(const std::string& command);
    std::string serial_log_;
    const bzboot::TempDir& work_;
    const Deadline& deadline_;
    std::uint64_t memory_bytes_ = 0;  // the guest's RAM: where its dump can go
    std::vector<std::string> argv_;
    std::unique_ptr<ChildProcess> qemu_;
    std::unique_ptr<GdbRemote> gdb_;
    std::set<std::uint64_t> breakpoints_;
    bool stopped_on_breakpoint_ = false;
};

}  // namespace bzcheck
