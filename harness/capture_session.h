// capture_session.h - what `bzcheck capture` needs from an emulator, and the
// process plumbing the QEMU and Bochs back ends share. Their files go in one
// bzboot::TempDir (common/tempdir.h) per capture.
//
// capture.cpp drives an EmulatorSession the same way for every emulator: set
// breakpoints at the candidate hand-off addresses, resume until one is hit,
// look at the registers and memory, and either dump the guest or resume.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/tempdir.h"
#include "snapshot.h"

namespace bzcheck {

// The capture failed for a reason that is not the user's input (the emulator
// died, the guest never reached a hand-off, the timeout expired...).
class CaptureError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The wall-clock budget of one capture (--timeout): every wait asks it.
class Deadline {
public:
    explicit Deadline(std::chrono::seconds budget);
    bool expired() const;
    // Milliseconds left, at least 0; what poll() takes.
    int remaining_ms() const;

private:
    std::chrono::steady_clock::time_point end_;
};

// A child process in its own process group, killed (SIGKILL to the group) and
// reaped when the object goes away, so no exit path leaves an emulator behind.
class ChildProcess {
public:
    struct Stdio {
        int stdin_fd = -1;   // -1: /dev/null
        int stdout_fd = -1;  // -1: /dev/null; stderr goes to the same place
    };
    ChildProcess(const std::vector<std::string>& argv, const Stdio& stdio,
                 const std::vector<std::string>& extra_env = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // True once the process has exited (reaps it); exit_description() says how.
    bool has_exited();
    // Waits up to `limit` for it to exit (after it closed its output, say).
    bool wait_exited(std::chrono::milliseconds limit);
    std::string exit_description() const;

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int wait_status_ = 0;
};

// A guest under an emulator's debugger. Methods throw CaptureError.
class EmulatorSession {
public:
    virtual ~EmulatorSession() = default;
    // Breakpoints on linear addresses (CS base + IP in real mode).
    virtual void add_breakpoint(std::uint64_t linear) = 0;
    // Runs until a breakpoint is hit; when stopped on a breakpoint, first gets
    // past it.
    virtual void resume() = 0;
    virtual CpuState registers() = 0;
    // A guest-physical dword, or nullopt when it is not in RAM.
    virtual std::optional<std::uint32_t> read_phys_u32(std::uint64_t addr) = 0;
    // All guest RAM and the CPU state, EFER included.
    virtual Snapshot dump() = 0;
    // The emulator's command line, argv[0] first (recorded in the snapshot).
    virtual std::vector<std::string> command_line() const = 0;

    // --- a running kernel (capture --running). The defaults throw CaptureError:
    // only QEMU has them (docs/bzcheck.md says why Bochs has not).
    // Resumes the guest without breakpoints; returns, the guest still running,
    // once `text` has appeared in its serial output.
    virtual void run_until_output(const std::string& text);
    // Stops the running guest wherever its CPU is.
    virtual void interrupt();
    // Lets the stopped guest run on, without waiting for a stop.
    virtual void let_run();
    // Everything the guest wrote to its serial port so far.
    virtual std::string serial_output();
    // The emulator's own list of the stopped CPU's translations (QEMU: `info tlb`).
    virtual std::string translations();
};

// Reads from fd into `out` until `done(out)` holds. Throws CaptureError on
// end of file (naming `what`) or when the deadline expires.
template <typename Done>
void read_until(int fd, std::string& out, const Deadline& deadline, const std::string& what, Done done);
void read_some(int fd, std::string& out, const Deadline& deadline, const std::string& what);

template <typename Done>
void read_until(int fd, std::string& out, const Deadline& deadline, const std::string& what, Done done) {
    while (!done(out)) read_some(fd, out, deadline, what);
}

// Writes all of text to fd (throws CaptureError on failure).
void write_all(int fd, const std::string& text, const std::string& what);

}  // namespace bzcheck
