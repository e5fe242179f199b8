// kernel_layout.h - `bzcheck layout` of a running kernel: its page tables read
// from outside and set against mm.rst's table (harness/regions) and the rules the
// kernel states for its own mappings.
//
// A running kernel moves things (KASLR): the kernel image inside its 1 GiB
// window, the direct map, vmalloc and vmemmap on 1 GiB steps inside KASLR's
// range. With the kernel's System.map the checker finds where: the slide is the
// start of the kernel image's mapping minus System.map's _text, and the bases are
// the kernel's own variables (page_offset_base, vmalloc_base, vmemmap_base) read
// from guest memory through the page tables. Without it the report says what
// cannot be known and classifies by mm.rst's documented ranges only.
#pragma once

#include "kernel_files.h"
#include "pagewalk.h"
#include "regions.h"
#include "snapshot.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bzcheck {

struct KernelLayoutInputs {
    std::optional<SystemMap> system_map;        // --system-map
    std::optional<KernelConfig> config;         // --config
    std::optional<std::string> kernel_version;  // --kernel: the bzImage's kernel_version string
};

enum class CheckStatus {
    pass,
    note,  // passes, with a remark (a KASLR placement in a documented hole, a named exception)
    fail,
    unknown,  // cannot be decided from what was given (say what is missing)
};
const char* check_status_name(CheckStatus status);  // "PASS", "NOTE", "FAIL", "UNKNOWN"

// One rule and its verdict.
struct KernelCheck {
    std::string id;         // "K01"...
    std::string name;       // "direct-map-offset"...
    std::string statement;  // what mm.rst or the kernel says, the rule rests on
    std::string source;     // "mm.rst", "arch/x86/mm/init.c", ...
    CheckStatus status = CheckStatus::pass;
    std::string message;
    std::vector<std::string> details;  // one line each: the offending runs, the exceptions taken
    std::vector<std::uint64_t> addresses;
};

// A region of the running kernel's layout: mm.rst's, with the randomised
// regions where the kernel put them.
struct KernelRegion {
    std::uint64_t start = 0;
    std::uint64_t last = 0;  // inclusive
    RegionId id = RegionId::none;
    std::string name;
    std::string base_symbol;             // "page_offset_base"..., or empty
    const Region* documented = nullptr;  // mm.rst's row of this region (nullptr: a gap of KASLR's range)
    bool randomised = false;             // placed by KASLR (base read from memory)
    std::string extent;                  // how its end was found
};

struct KernelRun {
    Mapping mapping;     // split at region boundaries
    std::size_t region;  // index into KernelLayoutReport::regions
};

// One summary line per region that has mappings or a base.
struct RegionSummary {
    std::size_t region = 0;
    std::uint64_t mapped_bytes = 0;
    std::size_t runs = 0;
    std::optional<std::uint64_t> first_mapped;
    std::string landed_in;  // the documented slot its base lies in (randomised regions)
};

struct KernelLayoutReport {
    // Paging and tables.
    int levels = 4;
    std::string paging_mode;  // "4-level (CR4.LA57 clear), NX (EFER.NXE), PCID off, ..."
    std::uint64_t cr3 = 0;
    std::uint64_t root = 0;  // the top-level table walked
    std::string tables;      // which tables were walked and why
    unsigned cpl = 0;
    bool running_note = false;  // the snapshot's note says "stop": "running"
    // What System.map gave (or why it is unknown).
    bool have_system_map = false;
    std::optional<std::uint64_t> image_start;  // first mapping of the kernel image space
    std::optional<std::int64_t> slide;         // image_start - System.map's _text
    std::optional<std::uint64_t> phys_base;
    std::string banner;  // linux_banner as read from memory
    std::string banner_check;
    std::string cmdline;  // saved_command_line
    struct Base {
        std::string symbol;
        std::uint64_t value = 0;
        std::uint64_t documented = 0;
        bool from_memory = false;
    };
    std::vector<Base> bases;  // page_offset_base, vmalloc_base, vmemmap_base
    std::uint64_t kernel_image_size = KERNEL_IMAGE_SIZE_DEFAULT;
    std::string kernel_image_size_source;
    std::vector<std::string> unknown;  // what cannot be known, one sentence each

    std::vector<KernelRegion> regions;  // ascending, covering the whole space
    std::vector<KernelRun> runs;
    std::vector<RegionSummary> summaries;
    std::vector<KernelCheck> checks;
    bool failed() const;
};

// Checks a running kernel's snapshot. Throws InputError (exit 2) for a snapshot
// that is no running 64-bit kernel, page tables that contradict the paging mode
// (a table outside RAM, a reserved bit, no kernel image mapping, the kernel's own
// paging variable against CR4.LA57), and a System.map of another kernel.
KernelLayoutReport check_kernel_layout(const Snapshot& snap, const KernelLayoutInputs& inputs);

// --- pieces exposed for tests ---------------------------------------------------

// Reads guest virtual memory through a walk's mappings (ascending).
class VirtualMemory {
public:
    VirtualMemory(const Snapshot& snap, const std::vector<Mapping>& mappings) : snap_(snap), mappings_(mappings) {}
    std::optional<std::uint64_t> translate(std::uint64_t virt) const;
    std::optional<std::vector<std::uint8_t>> read(std::uint64_t virt, std::uint64_t len) const;
    std::optional<std::uint64_t> u64(std::uint64_t virt) const;
    std::optional<std::uint32_t> u32(std::uint64_t virt) const;
    // Up to the first NUL, at most max_len bytes; nullopt when unmapped first.
    std::optional<std::string> c_string(std::uint64_t virt, std::uint64_t max_len) const;

private:
    const Snapshot& snap_;
    const std::vector<Mapping>& mappings_;
};

// The mapping holding virt, or nullptr (mappings ascending, as walks give them).
const Mapping* mapping_at(const std::vector<Mapping>& mappings, std::uint64_t virt);

}  // namespace bzcheck
