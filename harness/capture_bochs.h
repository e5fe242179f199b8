// capture_bochs.h - Bochs under its internal debugger.
//
// Bochs runs headless (display_library: term, which opens a pseudo-terminal
// of its own) with its configuration on the command line, so the snapshot
// records the whole setup. Its debugger is driven through stdin/stdout:
// each command's output ends at the next "<bochs:N> " prompt.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "capture_session.h"
#include "common/size.h"

namespace bzcheck {

struct BochsConfig {
    std::string image;
    std::uint64_t memory_bytes = 0;
    std::string cpu;  // cpu: model=...; empty = Bochs's configurable CPU
};

// Largest guest RAM captured from Bochs: all of it below the PCI hole.
inline constexpr std::uint64_t BOCHS_MAX_MEMORY = 3 * bzboot::GiB;

// The bochs command line; disk_link is a symlink to the image inside the
// capture's temporary directory (Bochs puts its lock and redo files beside it),
// empty_rc an empty file there: the configuration follows as arguments.
std::vector<std::string> bochs_command_line(const BochsConfig& config, const std::string& disk_link,
                                            const std::string& serial_log, const std::string& bochs_log,
                                            const std::string& empty_rc);

// Parses the debugger's `r`, `sreg` and `creg` output (concatenated).
// Throws CaptureError when a register is missing.
CpuState parse_bochs_registers(const std::string& text);

class BochsSession : public EmulatorSession {
public:
    BochsSession(const BochsConfig& config, const bzboot::TempDir& work, const Deadline& deadline);
    ~BochsSession() override;
    void add_breakpoint(std::uint64_t linear) override;
    void resume() override;
    CpuState registers() override;
    std::optional<std::uint32_t> read_phys_u32(std::uint64_t addr) override;
    Snapshot dump() override;
    std::vector<std::string> command_line() const override { return argv_; }

private:
    // Sends one debugger command and returns its output (up to the prompt).
    std::string command(const std::string& line);
    std::string wait_for_prompt(const std::string& what);
    RamRange dump_range(std::uint64_t start, std::uint64_t end);

    const bzboot::TempDir& work_;
    const Deadline& deadline_;
    std::uint64_t memory_bytes_;
    std::vector<std::string> argv_;
    int to_bochs_ = -1;    // its stdin
    int from_bochs_ = -1;  // its stdout + stderr
    std::unique_ptr<ChildProcess> bochs_;
    std::string pending_;  // output read past the last prompt
};

}  // namespace bzcheck
