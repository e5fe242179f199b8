// fuzz_snapshot - libFuzzer target: the input is a snapshot file (ELF64 core).
//
// bzcheck::parse_snapshot() is what read_snapshot() runs on a file's bytes. It must
// throw SnapshotError or return a snapshot keeping snapshot.h's promises (RAM sorted
// and non-overlapping); any other exception escapes and counts as a crash. An
// accepted snapshot is then read back through its accessors and written and read
// again, which must give the same snapshot.
#include <elf.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "require.h"
#include "snapshot.h"

namespace {
using bzcheck::CpuState;
using bzcheck::Segment;
using bzcheck::Snapshot;

void require(bool condition, const char* property) { fuzz::require(condition, "fuzz_snapshot", property); }

// How far c_string() probes: enough to cross range ends, short enough to keep runs fast.
constexpr std::uint64_t kStringProbe = 256;

bool same_segment(const Segment& a, const Segment& b) {
    return a.selector == b.selector && a.limit == b.limit && a.flags == b.flags && a.base == b.base;
}

bool same_cpu(const CpuState& a, const CpuState& b) {
    const std::uint64_t CpuState::*registers[] = {
        &CpuState::rax, &CpuState::rbx, &CpuState::rcx, &CpuState::rdx, &CpuState::rsi, &CpuState::rdi,
        &CpuState::rsp, &CpuState::rbp, &CpuState::r8,  &CpuState::r9,  &CpuState::r10, &CpuState::r11,
        &CpuState::r12, &CpuState::r13, &CpuState::r14, &CpuState::r15, &CpuState::rip, &CpuState::rflags,
        &CpuState::cr0, &CpuState::cr1, &CpuState::cr2, &CpuState::cr3, &CpuState::cr4, &CpuState::kernel_gs_base,
        &CpuState::efer};
    for (auto reg : registers) {
        if (a.*reg != b.*reg) return false;
    }
    const Segment CpuState::*segments[] = {&CpuState::cs,  &CpuState::ds, &CpuState::es,  &CpuState::fs,
                                           &CpuState::gs,  &CpuState::ss, &CpuState::ldt, &CpuState::tr,
                                           &CpuState::gdt, &CpuState::idt};
    for (auto seg : segments) {
        if (!same_segment(a.*seg, b.*seg)) return false;
    }
    return true;
}

void check_ram(const Snapshot& snap) {
    for (std::size_t i = 0; i < snap.ram.size(); ++i) {
        const bzcheck::RamRange& range = snap.ram[i];
        require(range.size() > 0, "no empty RAM range");
        require(range.end() > range.phys, "a RAM range does not wrap");
        require(i == 0 || snap.ram[i - 1].end() <= range.phys, "RAM sorted, without overlaps");
        require(snap.read_phys(range.phys, range.size()) == range.bytes().copy(), "read_phys of a whole range");
        require(snap.u8(range.end() - 1) == range.bytes().data[range.size() - 1], "u8 of a range's last byte");
    }
}

// Reads at the addresses a checker would follow: they may fail, never misbehave.
void probe_accessors(const Snapshot& snap) {
    for (std::uint64_t addr : {snap.cpu.rsi, snap.cpu.rsp, snap.cpu.rip, snap.cpu.cr3, snap.cpu.gdt.base}) {
        (void)snap.u64(addr);
        (void)snap.c_string(addr, kStringProbe);
        (void)snap.in_ram(addr, snap.cpu.gdt.limit);
    }
}

void check_round_trip(const Snapshot& snap) {
    // The writer keeps the segment count in e_phnum; the reader also takes the larger
    // counts of PN_XNUM files, which need megabytes of input: those are not written.
    if (snap.ram.size() + 1 >= PN_XNUM) return;
    const Snapshot copy = bzcheck::parse_snapshot(bzcheck::serialize_snapshot(snap));
    require(copy.ram.size() == snap.ram.size(), "round trip: RAM ranges");
    for (std::size_t i = 0; i < snap.ram.size(); ++i) {
        require(copy.ram[i].phys == snap.ram[i].phys && copy.ram[i].bytes().copy() == snap.ram[i].bytes().copy(),
                "round trip: RAM contents");
    }
    require(same_cpu(copy.cpu, snap.cpu), "round trip: CPU state");
    require(copy.handoff == snap.handoff, "round trip: hand-off kind");
    require(copy.emulator == snap.emulator && copy.emulator_args == snap.emulator_args,
            "round trip: emulator and arguments");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Snapshot snap;
    try {
        snap = bzcheck::parse_snapshot(std::vector<std::uint8_t>(data, data + size));
    } catch (const bzcheck::SnapshotError&) {
        return 0;  // refused with a message: what bzcheck reports as bad input
    }
    check_ram(snap);
    probe_accessors(snap);
    check_round_trip(snap);
    return 0;
}
