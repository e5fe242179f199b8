// capture.h - `bzcheck capture`: run a guest under QEMU or Bochs, stop it at
// the first instruction of the loader's hand-off to the kernel, and write a
// snapshot (all guest RAM + the boot CPU's state, see snapshot.h).
//
//   bzcheck capture IMAGE --emulator qemu|bochs [--memory SIZE] [--cpu MODEL]
//                   [--machine pc|q35] [--kernel BZIMAGE] [--timeout SEC] --out SNAP
//   bzcheck capture --qemu-kernel BZIMAGE [--initrd F] [--cmdline C]
//                   [--memory SIZE] [--timeout SEC] --out SNAP
//   either of them (QEMU) with --running [--after TEXT] [--serial FILE] [--tlb FILE]
//
// --running snapshots the kernel as it runs instead: the guest boots without
// breakpoints until TEXT is on its serial port (default: the test initramfs's
// line), then is stopped where its CPU is, again until the CPU runs in kernel
// mode (CPL 0), and the snapshot's note says "stop": "running". The guest must
// keep running after TEXT: --qemu-kernel appends bzboot.hold to the command
// line, an image must have it on its own.
//
// Hand-offs recognised (boot.rst), whatever the loader:
//   16-bit: real mode at linear X+0x200 with "HdrS" at X+0x202;
//   32-bit: protected mode, ESI -> boot_params with "HdrS", EIP = its
//           code32_start (or, with --kernel, EIP at the kernel's own code);
//   64-bit: long mode at load address + 0x200, RSI -> boot_params with "HdrS".
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "snapshot.h"

namespace bzcheck {

// What --running waits for by default: the test initramfs's line (scripts/initramfs/init).
inline constexpr const char* RUNNING_AFTER_DEFAULT = "bzboot: userspace reached";
// The test initramfs's word that keeps the guest running after its line.
inline constexpr const char* HOLD_WORD = "bzboot.hold";
// How many times --running stops the guest before it gives up finding the CPU
// in kernel mode (at idle it sits in the kernel's idle loop: the first stop
// nearly always finds it there).
inline constexpr unsigned RUNNING_STOP_ATTEMPTS = 50;

struct CaptureOptions {
    std::string image;               // disk image to boot (not with --qemu-kernel)
    std::string emulator = "qemu";   // "qemu" or "bochs"
    std::string memory = "512M";     // guest RAM: a size (common/size.h); no unit = MiB
    std::string cpu;                 // emulator CPU model; empty = its default
    std::string machine = "pc";      // QEMU machine: "pc" or "q35"
    std::string kernel;              // the bzImage on the disk, to predict entries
    std::string qemu_kernel;         // boot this bzImage with QEMU's -kernel
    std::string initrd;              // with --qemu-kernel: -initrd
    std::string cmdline;             // with --qemu-kernel: -append
    unsigned timeout_seconds = 120;  // bound of the whole emulator run
    std::string out;                 // snapshot file to write
    bool verbose = false;            // print each stop on stderr
    // --running: a running kernel rather than the hand-off.
    bool running = false;
    std::string after = RUNNING_AFTER_DEFAULT;  // the serial output to wait for
    std::string serial_out;                     // copy the guest's serial output here
    std::string tlb_out;                        // write QEMU's `info tlb` of the stopped guest here
};

// Registers the options. Given the root app, adds the "capture" subcommand to
// it (test with app.got_subcommand("capture")); given a subcommand, fills it.
void add_capture_options(CLI::App& app, CaptureOptions& options);

// Runs a capture; returns the exit code (0 written, 1 capture failed, 2 bad
// input) after printing a one-line message for anything but success.
int run_capture(const CaptureOptions& options);

// --- pieces exposed for tests ---------------------------------------------

// The --qemu-kernel command line of a running capture: `cmdline` with
// bzboot.hold appended unless it has the word already.
std::string running_cmdline(const std::string& cmdline);
// The privilege level a stop found the CPU at (CS's RPL in protected mode).
unsigned current_privilege_level(const CpuState& cpu);

// "512M", "2G", "65536K", "512" (MiB) -> bytes, by bzboot::parse_size; throws
// std::invalid_argument for what it rejects and for 0 or a size that is not whole MiB.
std::uint64_t parse_memory_size(const std::string& text);

// Linear addresses worth a breakpoint. Without a kernel file: the usual
// setup bases (0x10000 - also QEMU's -kernel choice - and 0x90000), the
// bzImage load address 0x100000 and the common pref_address 0x1000000.
// With one, its code32_start and pref_address are added.
struct HandoffCandidates {
    std::vector<std::uint64_t> entries16;    // X + 0x200
    std::vector<std::uint64_t> entries32;    // code32_start
    std::vector<std::uint64_t> entries64;    // load address + 0x200
    std::vector<std::uint8_t> entry32_code;  // the kernel file's first protected-mode bytes; empty without one
    std::vector<std::uint64_t> all() const;  // sorted, unique
};
// How many bytes of the kernel's protected-mode code a 32-bit stop compares.
inline constexpr std::size_t ENTRY32_CODE_BYTES = 64;
// kernel_prefix: the first bytes of a bzImage, or empty. At least up to the
// setup header's end; entry32_code is filled when they reach past the setup by
// ENTRY32_CODE_BYTES. Throws std::invalid_argument for a file that is not a bzImage.
HandoffCandidates handoff_candidates(const std::vector<std::uint8_t>& kernel_prefix);

// Decides whether a stop is a hand-off: kind from the CPU mode and the
// "HdrS" test, or unknown when the stop is something else. A 32-bit stop
// counts only at boot_params' code32_start or at the kernel's own code
// (entry32_code): a loader may first run code of its own at a candidate
// address (GRUB's relocator at 0x100000) before it enters the kernel elsewhere.
using PhysReadU32 = std::function<std::optional<std::uint32_t>(std::uint64_t)>;
HandoffKind classify_stop(const CpuState& cpu, const HandoffCandidates& candidates, const PhysReadU32& read_phys_u32);

}  // namespace bzcheck
