// kernel_layout.cpp - the running kernel's layout and its checks (kernel_layout.h).
#include "kernel_layout.h"

#include "bootproto.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>

namespace bzcheck {
namespace bp = bootproto;

namespace {

constexpr std::uint64_t PAGE = 0x1000;
constexpr std::uint64_t PAGE_2M = 0x200000;
constexpr std::uint64_t CR4_PGE = 1ull << 7;
constexpr std::uint64_t CR4_PCIDE = 1ull << 17;
constexpr std::uint64_t CR4_SMEP = 1ull << 20;
constexpr std::uint64_t CR4_SMAP = 1ull << 21;
constexpr std::uint64_t CR3_TABLE_MASK = 0x000ffffffffff000ull;
constexpr std::uint64_t CR3_LOW_BITS = 0xfff;  // PCID with CR4.PCIDE, else PWT/PCD
// PTI keeps a process's two top-level tables in one 8 KiB block: the kernel's
// at the even page, the user copy (kernel half mostly unmapped) at +4 KiB
// (arch/x86/include/asm/pgtable.h: PTI_PGTABLE_SWITCH_BIT = PAGE_SHIFT).
constexpr std::uint64_t PTI_USER_COPY_BIT = 0x1000;
constexpr std::uint64_t TOP_TABLE_ENTRIES = 512;
// struct e820_entry { u64 addr; u64 size; u32 type; } __packed, after e820_table's u32 nr_entries.
constexpr std::uint64_t E820_ENTRY_SIZE = 20;
constexpr std::uint64_t E820_ENTRIES_AT = 4;
constexpr std::uint64_t E820_MAX_ENTRIES = 128 + 3 * 1024;  // E820_MAX_ENTRIES_ZEROPAGE + 3 * MAX_NUMNODES
constexpr std::uint32_t E820_TYPE_RAM = 1;
constexpr std::uint32_t E820_TYPE_RESERVED_KERN = 128;  // RAM the kernel reserved for itself: still mapped
constexpr std::uint64_t BANNER_MAX = 512;
constexpr std::uint64_t CMDLINE_MAX = 4096;
constexpr const char* BANNER_PREFIX = "Linux version ";
// struct real_mode_header { u32 text_start; u32 ro_end; ... } (arch/x86/include/asm/realmode.h)
constexpr std::uint64_t RM_TEXT_START = 0, RM_RO_END = 4;
// sizeof(struct page) on x86-64 (kaslr.c sizes vmemmap with it).
constexpr std::uint64_t STRUCT_PAGE_SIZE = 64;
// How many offending runs a check lists before "and N more".
constexpr std::size_t MAX_DETAILS = 8;
constexpr std::uint64_t PHYSICAL_ALIGN_DEFAULT = 0x200000;   // CONFIG_PHYSICAL_ALIGN's x86-64 default
constexpr std::uint64_t PHYSICAL_START_DEFAULT = 0x1000000;  // CONFIG_PHYSICAL_START's default

std::uint64_t page_align_up(std::uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }
std::uint64_t page_align_down(std::uint64_t v) { return v & ~(PAGE - 1); }
std::uint64_t last_byte(const Mapping& m) { return m.virt + (m.size - 1); }

std::string range_text(std::uint64_t first, std::uint64_t last) {
    return fmt::format("{:#018x}-{:#018x}", first, last);
}

std::string run_text(const Mapping& m) {
    return fmt::format("{} {} -> {:#x}", range_text(m.virt, last_byte(m)), m.attrs.describe(), m.phys);
}

// The lowest address of the kernel half.
std::uint64_t kernel_half_start(int levels) { return levels == 5 ? 0xff00000000000000ull : 0xffff800000000000ull; }

// Signed difference as text: "+0x12f00000000", "-0x1000", "+0".
std::string offset_text(std::uint64_t value, std::uint64_t reference) {
    if (value >= reference) return fmt::format("+{:#x}", value - reference);
    return fmt::format("-{:#x}", reference - value);
}

std::string size_text(std::uint64_t bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int unit = 0;
    double value = static_cast<double>(bytes);
    while (unit < 6 && value >= 1024) {
        value /= 1024;
        ++unit;
    }
    if (value == static_cast<double>(static_cast<std::uint64_t>(value)))
        return fmt::format("{} {}", value, units[unit]);
    return fmt::format("{:.1f} {}", value, units[unit]);
}

// Words of the kernel command line.
std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::string word;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n') {
            if (!word.empty()) out.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty()) out.push_back(word);
    return out;
}

std::optional<std::string> cmdline_value(const std::string& cmdline, const std::string& key) {
    std::optional<std::string> value;
    for (const std::string& w : words(cmdline))
        if (w.rfind(key + "=", 0) == 0) value = w.substr(key.size() + 1);  // the last one wins, as in the kernel
    return value;
}

bool cmdline_has(const std::string& cmdline, const std::string& word) {
    const auto all = words(cmdline);
    return std::find(all.begin(), all.end(), word) != all.end();
}

// Builds the check list with one call per rule.
class Checks {
public:
    explicit Checks(std::vector<KernelCheck>& out) : out_(out) {}
    KernelCheck& add(const char* id, const char* name, const char* source, const char* statement) {
        KernelCheck c;
        c.id = id;
        c.name = name;
        c.source = source;
        c.statement = statement;
        out_.push_back(c);
        return out_.back();
    }

private:
    std::vector<KernelCheck>& out_;
};

void add_detail(KernelCheck& c, std::size_t& count, const std::string& line) {
    if (count++ < MAX_DETAILS) c.details.push_back(line);
}
void close_details(KernelCheck& c, std::size_t count) {
    if (count > MAX_DETAILS) c.details.push_back(fmt::format("... and {} more", count - MAX_DETAILS));
}

// Everything the analysis knows while it builds the report.
struct Context {
    Context(const Snapshot& s, const KernelLayoutInputs& i, KernelLayoutReport& report) : snap(s), in(i), r(report) {}
    const Snapshot& snap;
    const KernelLayoutInputs& in;
    KernelLayoutReport& r;
    PageWalk walk;
    std::optional<VirtualMemory> vm;
    const std::vector<Region>* doc = nullptr;
    std::uint64_t vaddr_start = 0;
    // From System.map and memory (when known).
    std::optional<std::uint64_t> page_offset_base, vmalloc_base, vmemmap_base, max_pfn;
    std::optional<std::uint64_t> text_start, text_end, rodata_start, rodata_end, image_end;
    struct E820Range {
        std::uint64_t addr, size;
        std::uint32_t type;
    };
    std::optional<std::vector<E820Range>> e820;
    std::string e820_why;
    std::optional<std::uint64_t> trampoline_base, trampoline_text, trampoline_ro_end, trampoline_size;
    std::string trampoline_why;
    std::optional<std::uint64_t> kfence_pool, kfence_size;
    std::optional<std::string> cmdline;

    // A symbol's run-time address (link-time + slide), when System.map has it.
    std::optional<std::uint64_t> sym(const std::string& name) const {
        if (!in.system_map || !r.slide) return std::nullopt;
        const auto a = in.system_map->address(name);
        if (!a) return std::nullopt;
        return *a + static_cast<std::uint64_t>(*r.slide);
    }
    std::optional<std::uint64_t> sym_u64(const std::string& name) const {
        const auto a = sym(name);
        return a && vm ? vm->u64(*a) : std::nullopt;
    }
    const KernelConfig* config() const { return in.config ? &*in.config : nullptr; }
    // y / n from the configuration, or nullopt without one. Kconfig leaves out an
    // option whose dependencies are not met: absent is "not set".
    std::optional<bool> option(const std::string& name) const {
        if (!in.config) return std::nullopt;
        return in.config->enabled(name);
    }
};

// Whether a walk maps the kernel image and, for a stop in kernel mode (cpl 0),
// the instruction the CPU was at.
bool kernel_image_mapped(const PageWalk& walk, unsigned cpl, std::uint64_t rip) {
    const bool image = std::any_of(walk.mappings.begin(), walk.mappings.end(), [](const Mapping& m) {
        return m.virt >= bp::KERNEL_TEXT_MAP && m.virt < bp::KERNEL_TEXT_MAP + KERNEL_IMAGE_SIZE_KASLR;
    });
    if (!image || cpl != 0) return image;
    const Mapping* m = mapping_at(walk.mappings, rip);
    return m != nullptr && !m->attrs.no_execute;
}

// --- paging, tables, the kernel image ---------------------------------------------------------

void read_paging(Context& c) {
    const CpuState& cpu = c.snap.cpu;
    KernelLayoutReport& r = c.r;
    if (!(cpu.cr0 & CR0_PG) || !(cpu.efer & EFER_LMA) || !(cpu.cr4 & CR4_PAE))
        throw InputError(
            fmt::format("not a running 64-bit kernel: CR0 {:#x}, CR4 {:#x}, EFER {:#x} (long mode "
                        "with paging needs CR0.PG, CR4.PAE and EFER.LMA)",
                        cpu.cr0, cpu.cr4, cpu.efer));
    r.levels = (cpu.cr4 & CR4_LA57) ? 5 : 4;
    r.cpl = (cpu.cs.selector & 3);
    r.running_note = c.snap.running_kernel;
    r.cr3 = cpu.cr3;
    const bool pcid = cpu.cr4 & CR4_PCIDE;
    r.paging_mode = fmt::format(
        "{}-level (CR4.LA57 {}: mm.rst's {}-level table), NX {} (EFER.NXE), PCID {} ({}), global pages {} "
        "(CR4.PGE), SMEP {}, SMAP {}",
        r.levels, r.levels == 5 ? "set" : "clear", r.levels, (cpu.efer & EFER_NXE) ? "on" : "off", pcid ? "on" : "off",
        pcid ? fmt::format("CR3's low 12 bits are PCID {}", cpu.cr3 & CR3_LOW_BITS) : "CR4.PCIDE clear",
        (cpu.cr4 & CR4_PGE) ? "on" : "off", (cpu.cr4 & CR4_SMEP) ? "on" : "off", (cpu.cr4 & CR4_SMAP) ? "on" : "off");
    c.doc = &layout_for(r.levels);
    c.vaddr_start = find_region(*c.doc, RegionId::direct_map)->start;

    // CR3's table address without the PCID (or PWT/PCD) bits and bit 63 (no-flush).
    const std::uint64_t root = cpu.cr3 & CR3_TABLE_MASK;
    PageWalk walk = walk_page_tables(c.snap, root, r.levels == 5);
    r.root = root;
    std::string why = fmt::format("CR3 {:#x}: the {}-level tables at {:#x}", cpu.cr3, r.levels, root);
    if (!kernel_image_mapped(walk, r.cpl, cpu.rip) && (root & PTI_USER_COPY_BIT)) {
        // The PTI user copy maps only the entry code of the kernel: the kernel's
        // own tables are the page below it.
        PageWalk kernel_copy = walk_page_tables(c.snap, root & ~PTI_USER_COPY_BIT, r.levels == 5);
        if (kernel_image_mapped(kernel_copy, r.cpl, cpu.rip)) {
            r.root = root & ~PTI_USER_COPY_BIT;
            why = fmt::format(
                "CR3 {:#x} is a PTI user copy (its kernel half maps no kernel image): walked the kernel's copy "
                "at {:#x}, 4 KiB below",
                cpu.cr3, r.root);
            walk = std::move(kernel_copy);
        }
    }
    if (!walk.problems.empty())
        throw InputError(
            fmt::format("the page tables contradict {}-level paging: {}", r.levels, walk.problems.front()));
    if (walk.truncated) throw InputError(fmt::format("the page tables describe more than {} runs", MAX_MAPPINGS));
    if (!kernel_image_mapped(walk, r.cpl, cpu.rip)) {
        const std::string holding = r.cpl == 0 ? fmt::format(" that holds RIP {:#x}", cpu.rip) : "";
        throw InputError(fmt::format("{}: no kernel image mapping at {:#x}..{:#x}{} - not a running kernel's tables",
                                     why, bp::KERNEL_TEXT_MAP, bp::KERNEL_TEXT_MAP + KERNEL_IMAGE_SIZE_KASLR - 1,
                                     holding));
    }
    r.tables = why;
    if (r.cpl != 0)
        r.tables += fmt::format("; the CPU was in user mode (CPL {}): the tables may be a process's", r.cpl);
    c.walk = std::move(walk);
    c.vm.emplace(c.snap, c.walk.mappings);
    for (const Mapping& m : c.walk.mappings)
        if (m.virt >= bp::KERNEL_TEXT_MAP) {
            r.image_start = m.virt;
            break;
        }
}

// The kernel image space's size: from the configuration, else what the mapping shows.
void image_size(Context& c) {
    KernelLayoutReport& r = c.r;
    if (const auto kaslr = c.option("CONFIG_RANDOMIZE_BASE")) {
        r.kernel_image_size = *kaslr ? KERNEL_IMAGE_SIZE_KASLR : KERNEL_IMAGE_SIZE_DEFAULT;
        r.kernel_image_size_source = fmt::format("CONFIG_RANDOMIZE_BASE={}: page_64_types.h's KERNEL_IMAGE_SIZE is {}",
                                                 *kaslr ? "y" : "n", *kaslr ? "1 GiB with KASLR" : "512 MiB");
    } else if (*r.image_start >= bp::KERNEL_TEXT_MAP + KERNEL_IMAGE_SIZE_DEFAULT) {
        r.kernel_image_size = KERNEL_IMAGE_SIZE_KASLR;
        r.kernel_image_size_source = "the image is mapped above mm.rst's 512 MiB: KERNEL_IMAGE_SIZE is 1 GiB (KASLR)";
    } else {
        r.kernel_image_size = KERNEL_IMAGE_SIZE_DEFAULT;
        r.kernel_image_size_source =
            "mm.rst's 512 MiB (no --config to say whether CONFIG_RANDOMIZE_BASE makes it 1 GiB)";
    }
}

// --- System.map: the slide, the banner, the variables ---------------------------------------------

// "6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP ..." -> the part up to
// the builder's ")" and UTS_VERSION after it. The banner is "Linux version " UTS_RELEASE
// " (" BY "@" HOST ") (" COMPILER ") " UTS_VERSION; the bzImage's string lacks the compiler.
bool banner_matches_version(const std::string& banner, const std::string& version) {
    const auto builder_end = version.find(") ");
    if (builder_end == std::string::npos) return banner.rfind(BANNER_PREFIX + version, 0) == 0;
    const std::string release_and_builder = version.substr(0, builder_end + 1);
    const std::string uts_version = version.substr(builder_end + 2);
    if (banner.rfind(BANNER_PREFIX + release_and_builder + " ", 0) != 0) return false;
    return banner.find(") " + uts_version) != std::string::npos;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void read_system_map(Context& c) {
    KernelLayoutReport& r = c.r;
    const SystemMap& map = *c.in.system_map;
    r.have_system_map = true;
    const std::uint64_t text = map.require("_text");
    r.slide = static_cast<std::int64_t>(*r.image_start - text);
    if (*r.slide % static_cast<std::int64_t>(PAGE_2M) != 0)
        throw InputError(
            fmt::format("{}: _text {:#x} and the kernel image's mapping at {:#x} differ by {:#x}, not "
                        "a multiple of 2 MiB: a System.map of another kernel",
                        map.path, text, *r.image_start, *r.slide));
    const std::uint64_t banner_at = map.require("linux_banner") + static_cast<std::uint64_t>(*r.slide);
    const auto banner = c.vm->c_string(banner_at, BANNER_MAX);
    const std::string shown = banner ? first_line(*banner).substr(0, 80) : "";
    if (!banner || banner->rfind(BANNER_PREFIX, 0) != 0)
        throw InputError(
            fmt::format("{}: linux_banner + slide ({:#x}) holds {} - not \"{}...\": a System.map of "
                        "another kernel",
                        map.path, banner_at, banner ? fmt::format("\"{}\"", shown) : "nothing mapped", BANNER_PREFIX));
    r.banner = first_line(*banner);
    const std::string release = words(r.banner.substr(std::char_traits<char>::length(BANNER_PREFIX))).front();
    if (c.in.kernel_version) {
        if (!banner_matches_version(r.banner, *c.in.kernel_version))
            throw InputError(
                fmt::format("{}: linux_banner + slide reads \"{}\", but the bzImage's version is \"{}\": a "
                            "System.map of another kernel",
                            map.path, r.banner, *c.in.kernel_version));
        r.banner_check = "matches the bzImage's kernel_version string (--kernel)";
    } else if (!map.release.empty()) {
        if (release != map.release)
            throw InputError(
                fmt::format("{}: linux_banner + slide reads release {}, the file is named for {}: a "
                            "System.map of another kernel",
                            map.path, release, map.release));
        r.banner_check = fmt::format("its release is the one System.map's file name carries ({})", map.release);
    } else {
        r.banner_check = "a banner where System.map puts linux_banner (no --kernel to compare its version with)";
    }

    // The kernel's paging mode, as it sees it, against the CPU's.
    if (const auto l5 = c.sym("__pgtable_l5_enabled")) {
        const auto value = c.vm->u32(*l5);
        if (value && ((*value != 0) != (r.levels == 5)))
            throw InputError(
                fmt::format("the kernel's __pgtable_l5_enabled is {} but CR4.LA57 is {}: the tables "
                            "contradict the paging mode",
                            *value, r.levels == 5 ? "set" : "clear"));
    }
    const auto base = [&](const char* symbol, RegionId id, std::optional<std::uint64_t>& out) {
        KernelLayoutReport::Base b;
        b.symbol = symbol;
        b.documented = find_region(*c.doc, id)->start;
        if (const auto v = c.sym_u64(symbol)) {
            b.value = *v;
            b.from_memory = true;
        } else {
            b.value = b.documented;  // no variable: the layout is the constant one
        }
        out = b.value;
        r.bases.push_back(b);
    };
    base("page_offset_base", RegionId::direct_map, c.page_offset_base);
    base("vmalloc_base", RegionId::vmalloc, c.vmalloc_base);
    base("vmemmap_base", RegionId::vmemmap, c.vmemmap_base);
    r.phys_base = c.sym_u64("phys_base");
    c.max_pfn = c.sym_u64("max_pfn");
    if (const auto p = c.sym_u64("saved_command_line")) c.cmdline = c.vm->c_string(*p, CMDLINE_MAX);
    if (c.cmdline) r.cmdline = *c.cmdline;

    const auto slid = [&](const char* name) { return c.sym(name); };
    c.text_start = slid("_text");
    if (const auto e = slid("_etext")) c.text_end = page_align_up(*e);
    c.rodata_start = slid("__start_rodata");
    if (const auto e = slid("__end_rodata")) c.rodata_end = page_align_up(*e);
    if (const auto e = slid("_end")) c.image_end = page_align_up(*e);

    // E820 as the kernel keeps it: e820_table points at the table it works with
    // (sanitized, with its own updates), copied out of __initdata after boot.
    c.e820_why = "the kernel's e820_table (System.map), read from guest memory";
    if (const auto table = c.sym_u64("e820_table")) {
        const auto n = c.vm->u32(*table);
        if (n && *n <= E820_MAX_ENTRIES) {
            std::vector<Context::E820Range> ranges;
            for (std::uint32_t i = 0; i < *n; ++i) {
                const std::uint64_t at = *table + E820_ENTRIES_AT + i * E820_ENTRY_SIZE;
                const auto addr = c.vm->u64(at), size = c.vm->u64(at + 8);
                const auto type = c.vm->u32(at + 16);
                if (!addr || !size || !type) break;
                ranges.push_back({*addr, *size, *type});
            }
            if (ranges.size() == *n) c.e820 = ranges;
        }
        if (!c.e820) c.e820_why = fmt::format("the kernel's e820_table at {:#x} cannot be read", *table);
    } else {
        c.e820_why = "System.map has no e820_table";
    }

    // The real-mode trampoline: real_mode_header points at it (in the direct map).
    if (const auto header = c.sym_u64("real_mode_header")) {
        const auto base_phys = c.vm->translate(*header);
        const auto text_start = c.vm->u32(*header + RM_TEXT_START), ro_end = c.vm->u32(*header + RM_RO_END);
        const auto blob = map.address("real_mode_blob"), blob_end = map.address("real_mode_blob_end");
        if (base_phys && text_start && ro_end) {
            c.trampoline_base = *base_phys;
            c.trampoline_text = *text_start;
            c.trampoline_ro_end = page_align_up(*ro_end);
            if (blob && blob_end && *blob_end > *blob) c.trampoline_size = page_align_up(*blob_end - *blob);
        } else {
            c.trampoline_why = fmt::format("real_mode_header {:#x} cannot be read", *header);
        }
    } else {
        c.trampoline_why = "System.map has no real_mode_header";
    }
    if (c.option("CONFIG_KFENCE").value_or(false)) {
        if (const auto pool = c.sym_u64("__kfence_pool"); pool && *pool != 0) {
            const std::uint64_t objects = c.config()->number("CONFIG_KFENCE_NUM_OBJECTS").value_or(255);
            c.kfence_pool = *pool;
            c.kfence_size = (objects + 1) * 2 * PAGE;  // KFENCE_POOL_SIZE
        }
    }

    // Which top-level table CR3 holds.
    if (const auto pgt = c.sym("init_top_pgt")) {
        const auto phys = c.vm->translate(*pgt);
        if (phys && *phys == r.root) {
            r.tables += " = init_top_pgt, the kernel's own (swapper_pg_dir)";
        } else if (phys) {
            const auto mine = c.snap.read_phys(r.root + TOP_TABLE_ENTRIES / 2 * 8, TOP_TABLE_ENTRIES / 2 * 8);
            const auto kernels = c.snap.read_phys(*phys + TOP_TABLE_ENTRIES / 2 * 8, TOP_TABLE_ENTRIES / 2 * 8);
            std::size_t same = 0;
            if (mine && kernels)
                for (std::size_t i = 0; i < mine->size(); i += 8)
                    same += std::equal(mine->begin() + i, mine->begin() + i + 8, kernels->begin() + i);
            r.tables += fmt::format(
                ", a process's (init_top_pgt, the kernel's own, is at {:#x}); {} of its {} kernel-half entries equal "
                "init_top_pgt's",
                *phys, same, TOP_TABLE_ENTRIES / 2);
        }
    }
}

void note_unknowns(Context& c) {
    KernelLayoutReport& r = c.r;
    if (!c.in.system_map) {
        r.unknown.push_back(
            "no --system-map: the KASLR slide and the kernel's symbols; page_offset_base, vmalloc_base and "
            "vmemmap_base (runs are classified by mm.rst's documented ranges only, which KASLR does not keep)");
        r.unknown.push_back("no --system-map: E820 as the kernel keeps it (e820_table): the direct map's coverage");
        r.unknown.push_back(
            "no --system-map: where text, rodata and data end, and the real-mode trampoline (real_mode_header)");
        r.unknown.push_back("no --system-map: the kernel command line (saved_command_line: vsyscall=, nokaslr)");
    }
    if (!c.in.config)
        r.unknown.push_back(
            "no --config: whether the kernel has espfix64 (CONFIG_X86_ESPFIX64), KASLR (CONFIG_RANDOMIZE_BASE, "
            "_MEMORY), KFENCE, and its vsyscall default");
}

// --- the regions as this kernel placed them -------------------------------------------------------

void build_regions(Context& c) {
    KernelLayoutReport& r = c.r;
    const auto& doc = *c.doc;
    const bool moved = c.page_offset_base && (*c.page_offset_base != find_region(doc, RegionId::direct_map)->start ||
                                              *c.vmalloc_base != find_region(doc, RegionId::vmalloc)->start ||
                                              *c.vmemmap_base != find_region(doc, RegionId::vmemmap)->start);
    const std::uint64_t image_end = bp::KERNEL_TEXT_MAP + r.kernel_image_size;  // exclusive
    const auto symbol_of = [](RegionId id) -> std::string {
        switch (id) {
            case RegionId::direct_map: return "page_offset_base";
            case RegionId::vmalloc: return "vmalloc_base";
            case RegionId::vmemmap: return "vmemmap_base";
            default: return "";
        }
    };
    const auto push = [&](std::uint64_t start, std::uint64_t last, RegionId id, const std::string& name,
                          const Region* documented, bool randomised, const std::string& extent) {
        if (last < start) return;
        KernelRegion k;
        k.start = start;
        k.last = last;
        k.id = id;
        k.name = name;
        k.documented = documented;
        k.randomised = randomised;
        k.extent = extent;
        k.base_symbol = symbol_of(id);
        r.regions.push_back(k);
    };
    bool kaslr_done = false;
    for (const Region& d : doc) {
        const bool in_kaslr_range = d.start >= c.vaddr_start && d.last < KASLR_VADDR_END;
        if (in_kaslr_range && moved) {
            if (kaslr_done) continue;
            kaslr_done = true;
            // KASLR's range: the three regions at their bases, the rest unused.
            struct Placed {
                RegionId id;
                std::uint64_t base, size;
                std::string extent;
            };
            const std::uint64_t phys_tb = c.max_pfn ? ((*c.max_pfn * PAGE) + TB - 1) / TB : 0;
            std::optional<std::uint64_t> padding_tb;
            if (c.in.config)
                padding_tb = c.in.config->number("CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING")
                                 .value_or(0);  // not set: the option is absent (no memory hotplug): 0
            std::optional<std::uint64_t> direct_tb;
            if (c.max_pfn && padding_tb) direct_tb = std::min(max_physmem(r.levels) / TB, phys_tb + *padding_tb);
            std::vector<Placed> placed = {
                {RegionId::direct_map, *c.page_offset_base, direct_tb ? *direct_tb * TB : 0,
                 direct_tb ? fmt::format("{} TiB: max_pfn's {} TiB + CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING {} "
                                         "(kaslr.c)",
                                         *direct_tb, phys_tb, *padding_tb)
                           : std::string("up to vmalloc_base (max_pfn or the padding unknown)")},
                {RegionId::vmalloc, *c.vmalloc_base, vmalloc_size(r.levels),
                 fmt::format("VMALLOC_SIZE_TB {}", vmalloc_size(r.levels) / TB)},
                {RegionId::vmemmap, *c.vmemmap_base,
                 direct_tb ? ((*direct_tb * TB / PAGE) * STRUCT_PAGE_SIZE + TB - 1) / TB * TB : 0,
                 direct_tb ? std::string("struct pages of the direct map, in whole TiB (kaslr.c)")
                           : std::string("up to vaddr_end (the direct map's size unknown)")},
            };
            std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.base < b.base; });
            std::uint64_t cursor = c.vaddr_start;
            for (std::size_t i = 0; i < placed.size(); ++i) {
                const Placed& p = placed[i];
                const std::uint64_t limit = i + 1 < placed.size() ? placed[i + 1].base : KASLR_VADDR_END;
                if (p.base < cursor || p.base >= KASLR_VADDR_END) continue;  // K10 reports it
                if (p.base > cursor)
                    push(cursor, p.base - 1, RegionId::none, "unused (KASLR's range, between its regions)", nullptr,
                         false, "");
                const std::uint64_t end = p.size ? std::min(limit, p.base + p.size) : limit;
                push(p.base, end - 1, p.id, find_region(doc, p.id)->name, find_region(doc, p.id), true, p.extent);
                cursor = end;
            }
            if (cursor < KASLR_VADDR_END)
                push(cursor, KASLR_VADDR_END - 1, RegionId::none, "unused (KASLR's range, between its regions)",
                     nullptr, false, "");
            continue;
        }
        if (d.id == RegionId::kernel_text) {
            push(d.start, image_end - 1, d.id, d.name, &d, false, r.kernel_image_size_source);
            continue;
        }
        if (d.id == RegionId::modules) {
            push(image_end, d.last, d.id, d.name, &d, false, "from the end of the kernel image space");
            continue;
        }
        push(d.start, d.last, d.id, d.name, &d, false, "");
    }
}

std::size_t region_index(const KernelLayoutReport& r, std::uint64_t addr) {
    const auto it = std::upper_bound(r.regions.begin(), r.regions.end(), addr,
                                     [](std::uint64_t a, const KernelRegion& k) { return a < k.start; });
    return static_cast<std::size_t>(std::distance(r.regions.begin(), it)) - 1;
}

void split_runs(Context& c) {
    KernelLayoutReport& r = c.r;
    for (const Mapping& m : c.walk.mappings) {
        Mapping rest = m;
        for (;;) {
            const std::size_t i = region_index(r, rest.virt);
            const std::uint64_t region_last = r.regions[i].last;
            if (last_byte(rest) <= region_last) {
                r.runs.push_back({rest, i});
                break;
            }
            Mapping head = rest;
            head.size = region_last - rest.virt + 1;
            r.runs.push_back({head, i});
            rest.virt += head.size;
            rest.phys += head.size;
            rest.size -= head.size;
        }
    }
    std::map<std::size_t, RegionSummary> by_region;
    for (const KernelRun& run : r.runs) {
        RegionSummary& s = by_region[run.region];
        s.region = run.region;
        s.mapped_bytes += run.mapping.size;
        ++s.runs;
        if (!s.first_mapped) s.first_mapped = run.mapping.virt;
    }
    for (std::size_t i = 0; i < r.regions.size(); ++i) {
        const KernelRegion& k = r.regions[i];
        if (!by_region.count(i) && !k.randomised) continue;
        RegionSummary s = by_region.count(i) ? by_region[i] : RegionSummary{};
        s.region = i;
        if (k.randomised) s.landed_in = region_at(*c.doc, k.start)->name;
        r.summaries.push_back(s);
    }
}

// --- the checks -----------------------------------------------------------------------------------

bool in_kernel_half(const KernelLayoutReport& r, const Mapping& m) { return m.virt >= kernel_half_start(r.levels); }

// The runs overlapping [first, last], each clipped to it, and the gaps (unmapped sub-ranges).
void visit_range(const Context& c, std::uint64_t first, std::uint64_t last,
                 const std::function<void(const Mapping&)>& run,
                 const std::function<void(std::uint64_t, std::uint64_t)>& gap) {
    std::uint64_t cursor = first;
    for (const Mapping& m : c.walk.mappings) {
        if (last_byte(m) < cursor) continue;
        if (m.virt > last) break;
        if (m.virt > cursor) gap(cursor, m.virt - 1);
        Mapping clipped = m;
        if (clipped.virt < cursor) {
            clipped.phys += cursor - clipped.virt;
            clipped.size -= cursor - clipped.virt;
            clipped.virt = cursor;
        }
        if (last_byte(clipped) > last) clipped.size = last - clipped.virt + 1;
        run(clipped);
        if (last_byte(clipped) == last) return;
        cursor = last_byte(clipped) + 1;
    }
    if (cursor <= last) gap(cursor, last);
}

void finish(KernelCheck& k, std::size_t failures, const std::string& pass_message, const std::string& fail_message) {
    close_details(k, failures);
    if (failures) {
        k.status = CheckStatus::fail;
        k.message = fail_message;
    } else if (k.status != CheckStatus::unknown) {
        k.message = pass_message;  // a note passes too: its details say what was excepted
    }
}

// A check whose input (System.map's symbols, the config) is missing: UNKNOWN, and why.
void mark_unknown(KernelCheck& k, std::string why) {
    k.status = CheckStatus::unknown;
    k.message = std::move(why);
}

void check_direct_map_offset(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K01", "direct-map-offset", "mm.rst",
                                "\"direct mapping of all physical memory (page_offset_base)\": the kernel's "
                                "__va(phys) is phys + page_offset_base");
    if (!c.page_offset_base) {
        mark_unknown(k, "page_offset_base unknown (no --system-map)");
        return;
    }
    std::size_t bad = 0, runs = 0;
    for (const KernelRun& run : c.r.runs) {
        if (c.r.regions[run.region].id != RegionId::direct_map) continue;
        ++runs;
        const Mapping& m = run.mapping;
        if (m.virt - *c.page_offset_base != m.phys) {
            add_detail(k, bad, fmt::format("{}: expected physical {:#x}", run_text(m), m.virt - *c.page_offset_base));
            k.addresses.push_back(m.virt);
        }
    }
    finish(k, bad,
           fmt::format("{} runs, each at page_offset_base {:#x} + its physical address", runs, *c.page_offset_base),
           fmt::format("{} direct-map runs not at page_offset_base {:#x} + physical", bad, *c.page_offset_base));
}

void check_direct_map_covers_ram(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K02", "direct-map-covers-ram", "mm.rst",
                                "\"The direct mapping covers all memory in the system up to the highest memory "
                                "address\": every E820 RAM range at page_offset_base + its address");
    if (!c.page_offset_base || !c.e820) {
        mark_unknown(k, c.page_offset_base
                            ? c.e820_why
                            : "no --system-map: neither page_offset_base nor the kernel's E820 table is "
                              "known (the snapshot's boot_params is the loader's, reused by the kernel)");
        return;
    }
    std::size_t bad = 0, ranges = 0, kfence_gaps = 0;
    std::uint64_t bytes = 0;
    for (const auto& e : *c.e820) {
        if (e.type != E820_TYPE_RAM && e.type != E820_TYPE_RESERVED_KERN) continue;
        // memblock keeps whole pages only (memblock_trim_memory).
        const std::uint64_t from = page_align_up(e.addr), to = page_align_down(e.addr + e.size);
        if (to <= from) continue;
        ++ranges;
        bytes += to - from;
        const std::uint64_t vfrom = *c.page_offset_base + from, vlast = *c.page_offset_base + to - 1;
        const auto hole = [&](std::uint64_t first, std::uint64_t last) {
            if (c.kfence_pool && first >= *c.kfence_pool && last < *c.kfence_pool + *c.kfence_size) {
                ++kfence_gaps;  // KFENCE's guard pages are unmapped on purpose
                return;
            }
            add_detail(k, bad,
                       fmt::format("E820 RAM {:#x}-{:#x}: {} not mapped", e.addr, e.addr + e.size - 1,
                                   range_text(first, last)));
            k.addresses.push_back(first);
        };
        visit_range(
            c, vfrom, vlast,
            [&](const Mapping& m) {
                if (m.virt - *c.page_offset_base != m.phys) hole(m.virt, last_byte(m));
            },
            hole);
    }
    if (kfence_gaps) {
        k.status = CheckStatus::note;
        k.details.push_back(
            fmt::format("{} unmapped stretches inside the KFENCE pool {:#x} (+{:#x}): its guard pages, "
                        "unmapped by design (mm/kfence)",
                        kfence_gaps, *c.kfence_pool, *c.kfence_size));
        k.message = "covered, but for KFENCE's guard pages";
    }
    const bool mem_limit = c.cmdline && (cmdline_value(*c.cmdline, "mem") || cmdline_value(*c.cmdline, "memmap"));
    finish(k, bad, fmt::format("{} E820 RAM ranges ({}), from {}, all mapped", ranges, size_text(bytes), c.e820_why),
           fmt::format("{} stretches of E820 RAM not in the direct map (E820 from {}){}", bad, c.e820_why,
                       mem_limit ? "; the command line limits memory (mem=/memmap=)" : ""));
}

void check_kernel_text(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K03", "kernel-text-ro-x", "arch/x86/mm/init_64.c",
                                "mark_rodata_ro() (CONFIG_STRICT_KERNEL_RWX): the kernel text [_text, _etext) is "
                                "read-only and executable, rodata [__start_rodata, __end_rodata) read-only");
    if (!c.text_start || !c.text_end) {
        mark_unknown(k, "_text and _etext unknown (no --system-map)");
        return;
    }
    if (c.option("CONFIG_STRICT_KERNEL_RWX") == std::optional<bool>(false)) {
        k.status = CheckStatus::note;
        k.details.push_back("CONFIG_STRICT_KERNEL_RWX is not set: the kernel makes no such promise");
    }
    std::size_t bad = 0;
    const auto fail_run = [&](const Mapping& m, const char* why) {
        add_detail(k, bad, fmt::format("{}: {}", run_text(m), why));
        k.addresses.push_back(m.virt);
    };
    const auto fail_gap = [&](std::uint64_t first, std::uint64_t last) {
        add_detail(k, bad, fmt::format("{}: not mapped", range_text(first, last)));
        k.addresses.push_back(first);
    };
    visit_range(
        c, *c.text_start, *c.text_end - 1,
        [&](const Mapping& m) {
            if (m.attrs.writable) fail_run(m, "text is writable");
            if (m.attrs.no_execute) fail_run(m, "text is not executable");
        },
        fail_gap);
    if (c.rodata_start && c.rodata_end)
        visit_range(
            c, *c.rodata_start, *c.rodata_end - 1,
            [&](const Mapping& m) {
                if (m.attrs.writable) fail_run(m, "rodata is writable");
            },
            fail_gap);
    finish(k, bad,
           fmt::format("text {} RO+x ({}){}", range_text(*c.text_start, *c.text_end - 1),
                       size_text(*c.text_end - *c.text_start),
                       c.rodata_start && c.rodata_end
                           ? fmt::format(", rodata {} RO", range_text(*c.rodata_start, *c.rodata_end - 1))
                           : ""),
           fmt::format("{} problems in the kernel text or rodata", bad));
}

void check_kernel_data_nx(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K04", "kernel-data-nx", "arch/x86/mm/init_64.c",
                                "mark_rodata_ro(): everything of the kernel image after the text, from "
                                "PFN_ALIGN(_etext) on (rodata, data, bss, brk), is made non-executable");
    if (!c.text_end) {
        mark_unknown(k, "_etext unknown (no --system-map)");
        return;
    }
    std::size_t bad = 0, runs = 0;
    const std::uint64_t image_last = bp::KERNEL_TEXT_MAP + c.r.kernel_image_size - 1;
    visit_range(
        c, *c.text_end, image_last,
        [&](const Mapping& m) {
            ++runs;
            if (!m.attrs.no_execute) {
                add_detail(k, bad, fmt::format("{}: executable", run_text(m)));
                k.addresses.push_back(m.virt);
            }
        },
        [](std::uint64_t, std::uint64_t) {});
    finish(k, bad, fmt::format("{} runs from _etext {:#x} to the image space's end, all NX", runs, *c.text_end),
           fmt::format("{} executable runs in the kernel image after its text", bad));
}

void check_direct_map_nx(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K05", "direct-map-nx", "arch/x86/realmode/init.c",
                                "the direct map is mapped non-executable (PAGE_KERNEL); the one exception is the "
                                "real-mode trampoline, which set_real_mode_permissions() makes read-only and "
                                "executable from real_mode_header->text_start to ro_end");
    if (!c.page_offset_base) {
        mark_unknown(k, "which runs are the direct map is unknown (no --system-map)");
        return;
    }
    std::size_t bad = 0, exceptions = 0;
    for (const KernelRun& run : c.r.runs) {
        if (c.r.regions[run.region].id != RegionId::direct_map || run.mapping.attrs.no_execute) continue;
        const Mapping& m = run.mapping;
        const bool trampoline = c.trampoline_text && m.phys >= *c.trampoline_text &&
                                m.phys + m.size <= *c.trampoline_ro_end && !m.attrs.writable;
        if (trampoline) {
            ++exceptions;
            k.details.push_back(
                fmt::format("{}: the real-mode trampoline's text (real_mode_header {:#x}: text_start "
                            "{:#x}, ro_end {:#x}){}",
                            run_text(m), *c.trampoline_base, *c.trampoline_text, *c.trampoline_ro_end,
                            c.trampoline_size ? fmt::format(", trampoline {:#x}-{:#x}", *c.trampoline_base,
                                                            *c.trampoline_base + *c.trampoline_size - 1)
                                              : ""));
            continue;
        }
        add_detail(k, bad, fmt::format("{}: executable", run_text(m)));
        k.addresses.push_back(m.virt);
    }
    if (exceptions) k.status = CheckStatus::note;
    if (!c.trampoline_text) k.details.push_back("the trampoline: " + c.trampoline_why);
    finish(k, bad,
           exceptions ? fmt::format("NX but for the real-mode trampoline's text ({} run{})", exceptions,
                                    exceptions == 1 ? "" : "s")
                      : std::string("every direct-map run is NX"),
           fmt::format("{} executable direct-map runs", bad));
}

void check_no_wx(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K06", "no-wx", "arch/x86/mm/dump_pagetables.c",
                                "CONFIG_DEBUG_WX's boot check: \"Checked W+X mappings: passed, no W+X pages "
                                "found\" - no kernel mapping is writable and executable");
    std::size_t bad = 0, runs = 0;
    for (const KernelRun& run : c.r.runs) {
        if (!in_kernel_half(c.r, run.mapping)) continue;
        ++runs;
        if (run.mapping.attrs.writable && !run.mapping.attrs.no_execute) {
            add_detail(k, bad, fmt::format("{}: W+X", run_text(run.mapping)));
            k.addresses.push_back(run.mapping.virt);
        }
    }
    finish(k, bad, fmt::format("none of {} kernel-half runs is writable and executable", runs),
           fmt::format("{} W+X runs in kernel space", bad));
}

void check_no_user_pages(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K07", "no-user-kernel-pages", "mm.rst, arch/x86/entry/vsyscall/vsyscall_64.c",
                                "\"Kernel-space virtual memory, shared between all processes\" is the kernel's: no "
                                "page of it is user-accessible, except the legacy vsyscall page with vsyscall=emulate");
    // The vsyscall mode: the command line's vsyscall=, else the configured default.
    std::optional<std::string> mode;
    std::string mode_source;
    if (c.cmdline)
        if (const auto v = cmdline_value(*c.cmdline, "vsyscall")) {
            mode = *v;
            mode_source = "vsyscall= on the command line";
        }
    if (!mode && c.in.config) {
        for (const char* m : {"EMULATE", "XONLY", "NONE"})
            if (c.in.config->enabled(std::string("CONFIG_LEGACY_VSYSCALL_") + m)) {
                mode = m;
                std::transform(mode->begin(), mode->end(), mode->begin(), ::tolower);
                mode_source = fmt::format("CONFIG_LEGACY_VSYSCALL_{}{}", m,
                                          c.cmdline ? " (no vsyscall= on the command line)" : "");
            }
    }
    std::size_t bad = 0, vsyscall = 0;
    for (const KernelRun& run : c.r.runs) {
        const Mapping& m = run.mapping;
        if (!in_kernel_half(c.r, m) || !m.attrs.user) continue;
        const bool vsyscall_page = m.virt >= VSYSCALL_ADDR && last_byte(m) < VSYSCALL_ADDR + PAGE;
        if (vsyscall_page && mode == std::optional<std::string>("emulate") && !m.attrs.writable) {
            ++vsyscall;
            k.details.push_back(fmt::format("{}: the vsyscall page, user-readable with vsyscall=emulate ({})",
                                            run_text(m), mode_source));
            continue;
        }
        if (vsyscall_page && !mode) {
            k.status = CheckStatus::unknown;
            k.details.push_back(
                fmt::format("{}: the vsyscall page; whether vsyscall=emulate asks for it is unknown", run_text(m)));
            continue;
        }
        add_detail(k, bad, fmt::format("{}: user-accessible", run_text(m)));
        k.addresses.push_back(m.virt);
    }
    if (vsyscall) k.status = CheckStatus::note;
    finish(k, bad,
           vsyscall ? std::string("none but the vsyscall page")
                    : fmt::format("no user-accessible kernel page{}",
                                  mode ? fmt::format(" (vsyscall={}: {})", *mode, mode_source) : ""),
           fmt::format("{} user-accessible runs in kernel space", bad));
    if (k.status == CheckStatus::unknown) k.message = "only the vsyscall page is user-accessible; its mode is unknown";
}

void check_holes(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K08", "holes-empty", "mm.rst",
                                "nothing is mapped in a documented hole (\"... unused hole\", guard holes); \"if "
                                "CONFIG_RANDOMIZE_MEMORY is enabled, the direct mapping of all physical memory, "
                                "vmalloc/ioremap space and virtual memory map are randomized\": where KASLR puts one, "
                                "that is a note");
    const bool kasan = c.option("CONFIG_KASAN").value_or(false);
    std::size_t bad = 0, notes = 0, unknown = 0;
    std::map<std::string, std::uint64_t> noted;  // "region in slot" -> bytes
    for (const KernelRun& run : c.r.runs) {
        const Mapping& m = run.mapping;
        if (!in_kernel_half(c.r, m)) continue;
        const KernelRegion& region = c.r.regions[run.region];
        if (region.id == RegionId::none && !region.documented) {
            add_detail(k, bad, fmt::format("{}: in KASLR's range outside the three regions it places", run_text(m)));
            k.addresses.push_back(m.virt);
            continue;
        }
        // Every documented slot the run touches.
        for (const Region& d : *c.doc) {
            if (last_byte(m) < d.start || m.virt > d.last) continue;
            const bool documented_empty = d.kind == RegionKind::hole || (d.id == RegionId::kasan && !kasan);
            if (region.randomised && region.id != d.id) {
                ++notes;
                noted[fmt::format("{} ({} {:#x}) in mm.rst's \"{}\"", region.name, region.base_symbol, region.start,
                                  d.name)] += m.size;
                continue;
            }
            if (region.id == RegionId::kernel_text && d.id == RegionId::modules) {
                ++notes;
                noted[fmt::format("the kernel image (KERNEL_IMAGE_SIZE {}) in mm.rst's \"{}\"",
                                  size_text(c.r.kernel_image_size), d.name)] += m.size;
                continue;
            }
            if (!documented_empty) continue;
            if (!c.page_offset_base && d.start >= c.vaddr_start && d.last < KASLR_VADDR_END) {
                ++unknown;  // without System.map a randomised region may lie here
                noted[fmt::format("runs in mm.rst's \"{}\" (inside KASLR's range: a randomised region, or not)",
                                  d.name)] += m.size;
                continue;
            }
            add_detail(k, bad,
                       fmt::format("{}: in mm.rst's \"{}\"{}", run_text(m), d.name,
                                   d.id == RegionId::kasan ? " (CONFIG_KASAN off)" : ""));
            k.addresses.push_back(m.virt);
        }
    }
    for (const auto& [what, bytes] : noted) k.details.push_back(fmt::format("{}: {} mapped", what, size_text(bytes)));
    if (notes) k.status = CheckStatus::note;
    if (unknown && !bad) {
        mark_unknown(k,
                     "runs in documented holes of KASLR's range: whether a randomised region lies there needs "
                     "--system-map");
    }
    finish(k, bad, notes ? "nothing in a hole but where KASLR put a region" : "nothing in a documented hole",
           fmt::format("{} runs in documented holes", bad));
}

void check_espfix(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K09", "espfix", "arch/x86/kernel/espfix_64.c, arch/x86/Kconfig",
                                "\"%esp fixup stacks\": espfix64 (CONFIG_X86_ESPFIX64, which depends on "
                                "CONFIG_X86_16BIT, which depends on MODIFY_LDT_SYSCALL) maps per-CPU read-only "
                                "stacks there; without it the region is empty");
    const KernelRegion* region = nullptr;
    for (const KernelRegion& r : c.r.regions)
        if (r.id == RegionId::espfix) region = &r;
    std::uint64_t bytes = 0;
    std::size_t runs = 0, writable = 0;
    std::vector<std::uint64_t> pages;
    for (const KernelRun& run : c.r.runs) {
        if (&c.r.regions[run.region] != region) continue;
        ++runs;
        bytes += run.mapping.size;
        if (run.mapping.attrs.writable) ++writable;
        for (std::uint64_t p = run.mapping.phys; p < run.mapping.phys + run.mapping.size && pages.size() < 4096;
             p += PAGE)
            if (std::find(pages.begin(), pages.end(), p) == pages.end()) pages.push_back(p);
    }
    const bool populated = runs != 0;
    const auto espfix = c.option("CONFIG_X86_ESPFIX64");
    std::string why;
    if (c.in.config) {
        const auto state = [&](const char* o) {
            const KernelConfig& config = *c.config();
            return fmt::format("{} {}", o, config.enabled(o) ? "y" : config.known(o) ? "not set" : "absent (not set)");
        };
        why = fmt::format("{} ({}, {})", state("CONFIG_X86_ESPFIX64"), state("CONFIG_X86_16BIT"),
                          state("CONFIG_MODIFY_LDT_SYSCALL"));
    }
    const std::string contents =
        populated
            ? fmt::format("{} mapped in {} runs onto {} physical page{}{}", size_text(bytes), runs, pages.size(),
                          pages.size() == 1 ? "" : "s", writable ? fmt::format(", {} runs writable", writable) : "")
            : "empty";
    if (populated) {
        // Each CPU's stack: the per-CPU espfix_stack (espfix_base_addr(cpu)).
        const auto per_cpu = c.in.system_map ? c.in.system_map->address("espfix_stack") : std::nullopt;
        const auto offsets = c.sym("__per_cpu_offset");
        const auto cpus = c.sym("nr_cpu_ids");
        if (per_cpu && offsets && cpus && c.vm) {
            const std::uint32_t n = std::min<std::uint32_t>(c.vm->u32(*cpus).value_or(0), 64);
            for (std::uint32_t cpu = 0; cpu < n; ++cpu)
                if (const auto off = c.vm->u64(*offsets + cpu * 8))
                    if (const auto stack = c.vm->u64(*off + *per_cpu))
                        k.details.push_back(fmt::format("CPU {}: espfix_stack {:#x}", cpu, *stack));
        }
        for (const KernelRun& run : c.r.runs)
            if (&c.r.regions[run.region] == region && k.details.size() < MAX_DETAILS)
                k.details.push_back(run_text(run.mapping));
    }
    if (!espfix) {
        mark_unknown(k, fmt::format("{}; why is unknown without --config", contents));
        return;
    }
    if (*espfix != populated || writable) {
        k.status = CheckStatus::fail;
        k.message = fmt::format("{}, but {}", contents,
                                writable  ? "espfix64 maps its stacks read-only"
                                : *espfix ? "espfix64 maps the stacks of every CPU (init_espfix_bsp/ap)"
                                          : "without espfix64 nothing maps it");
        if (!why.empty()) k.details.insert(k.details.begin(), why);
        k.addresses.push_back(region ? region->start : ESPFIX_BASE_ADDR);
        return;
    }
    k.message = fmt::format("{}, as {}", contents, why);
}

void check_kaslr(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K10", "kaslr-bases", "arch/x86/mm/kaslr.c, mm.rst",
                                "KASLR keeps the order direct map, vmalloc, vmemmap and puts each base on a 1 GiB "
                                "step inside [the direct map's documented start, vaddr_end = cpu_entry_area); the "
                                "kernel image moves inside its window on CONFIG_PHYSICAL_ALIGN steps; without KASLR "
                                "the bases are mm.rst's");
    KernelLayoutReport& r = c.r;
    if (!c.page_offset_base) {
        mark_unknown(
            k, fmt::format("the kernel image is mapped from {:#x} ({} from the default {:#x}); its slide and the "
                           "bases need --system-map",
                           *r.image_start, offset_text(*r.image_start, bp::KERNEL_TEXT_MAP + PHYSICAL_START_DEFAULT),
                           bp::KERNEL_TEXT_MAP + PHYSICAL_START_DEFAULT));
        return;
    }
    std::size_t bad = 0;
    const bool nokaslr = c.cmdline && cmdline_has(*c.cmdline, "nokaslr");
    const auto memory_kaslr = c.option("CONFIG_RANDOMIZE_MEMORY");
    const bool fixed = nokaslr || memory_kaslr == std::optional<bool>(false);
    std::uint64_t previous = 0;
    for (const auto& b : r.bases) {
        if (fixed && b.value != b.documented)
            add_detail(k, bad,
                       fmt::format("{} {:#x}: KASLR is off ({}) but it is not mm.rst's {:#x}", b.symbol, b.value,
                                   nokaslr ? "nokaslr" : "CONFIG_RANDOMIZE_MEMORY not set", b.documented));
        if (b.value < c.vaddr_start || b.value >= KASLR_VADDR_END)
            add_detail(k, bad,
                       fmt::format("{} {:#x}: outside KASLR's range {}", b.symbol, b.value,
                                   range_text(c.vaddr_start, KASLR_VADDR_END - 1)));
        if (b.value % KASLR_ALIGN) add_detail(k, bad, fmt::format("{} {:#x}: not on a 1 GiB step", b.symbol, b.value));
        if (b.value <= previous)
            add_detail(k, bad,
                       fmt::format("{} {:#x}: out of KASLR's order (direct map, vmalloc, vmemmap)", b.symbol, b.value));
        previous = b.value;
    }
    const std::uint64_t align = c.config()
                                    ? c.config()->number("CONFIG_PHYSICAL_ALIGN").value_or(PHYSICAL_ALIGN_DEFAULT)
                                    : PHYSICAL_ALIGN_DEFAULT;
    if (*r.slide % static_cast<std::int64_t>(align))
        add_detail(k, bad, fmt::format("slide {:#x}: not a multiple of CONFIG_PHYSICAL_ALIGN {:#x}", *r.slide, align));
    if (nokaslr && *r.slide != 0) add_detail(k, bad, fmt::format("slide {:#x} with nokaslr", *r.slide));
    if (c.image_end && *c.image_end > bp::KERNEL_TEXT_MAP + r.kernel_image_size)
        add_detail(k, bad,
                   fmt::format("the image ends at {:#x}, beyond its space ({})", *c.image_end,
                               size_text(r.kernel_image_size)));
    std::vector<std::string> parts;
    for (const auto& b : r.bases)
        parts.push_back(fmt::format("{} {:#x} ({})", b.symbol, b.value,
                                    b.value == b.documented ? "mm.rst's" : offset_text(b.value, b.documented)));
    finish(k, bad, fmt::format("slide {:#x}{}; {}", *r.slide, nokaslr ? " (nokaslr)" : "", fmt::join(parts, ", ")),
           fmt::format("{} of the bases or the slide break KASLR's rules", bad));
}

void check_image_map(Context& c, Checks& checks) {
    KernelCheck& k = checks.add("K11", "kernel-image-map", "mm.rst, arch/x86/include/asm/page_64.h",
                                "\"kernel text mapping, mapped to physical address 0\" - moved by phys_base: the "
                                "kernel's __pa_symbol(x) is x - __START_KERNEL_map + phys_base");
    KernelLayoutReport& r = c.r;
    std::optional<std::uint64_t> phys_base = r.phys_base;
    const bool inferred = !phys_base;
    std::size_t bad = 0, runs = 0;
    for (const KernelRun& run : r.runs) {
        if (r.regions[run.region].id != RegionId::kernel_text) continue;
        const Mapping& m = run.mapping;
        ++runs;
        const std::uint64_t offset = m.phys - (m.virt - bp::KERNEL_TEXT_MAP);
        if (!phys_base) phys_base = offset;  // without phys_base: the first run's, and all must agree
        if (offset != *phys_base) {
            add_detail(
                k, bad,
                fmt::format("{}: expected physical {:#x}", run_text(m), m.virt - bp::KERNEL_TEXT_MAP + *phys_base));
            k.addresses.push_back(m.virt);
        }
    }
    const std::uint64_t pb = phys_base.value_or(0);
    const std::string pb_text =
        static_cast<std::int64_t>(pb) < 0 ? fmt::format("-{:#x}", -pb) : fmt::format("{:#x}", pb);
    finish(k, bad,
           fmt::format("{} runs at virtual - __START_KERNEL_map + phys_base {}{}", runs, pb_text,
                       inferred ? " (phys_base unknown without --system-map: the first run's offset, shared by all)"
                                : " (read from memory)"),
           fmt::format("{} kernel image runs off phys_base {}", bad, pb_text));
}

}  // namespace

// --- VirtualMemory -----------------------------------------------------------------------------

const Mapping* mapping_at(const std::vector<Mapping>& mappings, std::uint64_t virt) {
    const auto it = std::upper_bound(mappings.begin(), mappings.end(), virt,
                                     [](std::uint64_t v, const Mapping& m) { return v < m.virt; });
    if (it == mappings.begin()) return nullptr;
    const Mapping& m = *std::prev(it);
    return virt - m.virt < m.size ? &m : nullptr;
}

std::optional<std::uint64_t> VirtualMemory::translate(std::uint64_t virt) const {
    const Mapping* m = mapping_at(mappings_, virt);
    if (!m) return std::nullopt;
    return m->phys + (virt - m->virt);
}

std::optional<std::vector<std::uint8_t>> VirtualMemory::read(std::uint64_t virt, std::uint64_t len) const {
    std::vector<std::uint8_t> out;
    out.reserve(len);
    while (out.size() < len) {
        const std::uint64_t at = virt + out.size();
        const auto phys = translate(at);
        if (!phys) return std::nullopt;
        const std::uint64_t in_page = std::min<std::uint64_t>(len - out.size(), PAGE - (at & (PAGE - 1)));
        const auto bytes = snap_.read_phys(*phys, in_page);
        if (!bytes) return std::nullopt;
        out.insert(out.end(), bytes->begin(), bytes->end());
    }
    return out;
}

std::optional<std::uint64_t> VirtualMemory::u64(std::uint64_t virt) const {
    const auto phys = translate(virt);
    if (phys && ((virt & (PAGE - 1)) <= PAGE - 8)) return snap_.u64(*phys);
    const auto b = read(virt, 8);
    if (!b) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | (*b)[static_cast<std::size_t>(i)];
    return v;
}

std::optional<std::uint32_t> VirtualMemory::u32(std::uint64_t virt) const {
    const auto b = read(virt, 4);
    if (!b) return std::nullopt;
    return static_cast<std::uint32_t>((*b)[0] | ((*b)[1] << 8) | ((*b)[2] << 16) | (std::uint32_t((*b)[3]) << 24));
}

std::optional<std::string> VirtualMemory::c_string(std::uint64_t virt, std::uint64_t max_len) const {
    std::string out;
    for (std::uint64_t i = 0; i < max_len; ++i) {
        const auto phys = translate(virt + i);
        if (!phys) return i == 0 ? std::nullopt : std::optional<std::string>(out);
        const auto byte = snap_.u8(*phys);
        if (!byte || *byte == 0) return out;
        out += static_cast<char>(*byte);
    }
    return out;
}

// --- the report -------------------------------------------------------------------------------

const char* check_status_name(CheckStatus status) {
    switch (status) {
        case CheckStatus::pass: return "PASS";
        case CheckStatus::note: return "NOTE";
        case CheckStatus::fail: return "FAIL";
        case CheckStatus::unknown: break;
    }
    return "UNKNOWN";
}

bool KernelLayoutReport::failed() const {
    return std::any_of(checks.begin(), checks.end(),
                       [](const KernelCheck& k) { return k.status == CheckStatus::fail; });
}

KernelLayoutReport check_kernel_layout(const Snapshot& snap, const KernelLayoutInputs& inputs) {
    KernelLayoutReport report;
    Context c(snap, inputs, report);
    read_paging(c);
    image_size(c);
    if (inputs.system_map) read_system_map(c);
    note_unknowns(c);
    build_regions(c);
    split_runs(c);
    Checks checks(report.checks);
    check_direct_map_offset(c, checks);
    check_direct_map_covers_ram(c, checks);
    check_kernel_text(c, checks);
    check_kernel_data_nx(c, checks);
    check_direct_map_nx(c, checks);
    check_no_wx(c, checks);
    check_no_user_pages(c, checks);
    check_holes(c, checks);
    check_espfix(c, checks);
    check_kaslr(c, checks);
    check_image_map(c, checks);
    return report;
}

}  // namespace bzcheck
