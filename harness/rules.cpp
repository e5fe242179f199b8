// rules.cpp - the placement rules: one function per rule, each checking the
// statement its row of the table (at the end) cites. What every rule needs is
// derived once beforehand (handoff.cpp); the applicability of a rule (hand-off
// kinds, --initrd, --cmdline, the header) is its row's, checked by run().
#include "rules.h"

#include "bootproto.h"
#include "common/size.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <numeric>

namespace bzcheck {
namespace bp = bootproto;

namespace {

// --- constants of the boot protocol that the includes do not carry ---------------
constexpr std::uint64_t SETUP_SEGMENT_SIZE = 0x10000;  // X..X+0x10000: setup, heap and stack
constexpr std::uint64_t PARAGRAPH = 16;
constexpr std::uint64_t SETUP_BASE_MIN = 0x10000;      // the lowest X
constexpr std::uint64_t LEGACY_SETUP_BASE = 0x90000;   // X of protocol 2.01 and older
constexpr std::uint64_t LEGACY_SETUP_LIMIT = 0x9A000;  // "avoid using memory above 0x9a000"
constexpr std::uint64_t INITRD_ALIGN = PAGE_4K;        // "page aligned"
constexpr std::uint32_t FLAT_LIMIT = 0xffffffff;
// The ACPI RSDP (ACPI 6.x, 5.2.5.3): signature, a checksum over the first
// 20 bytes (revision 0), and from revision 2 a length and an extended checksum.
constexpr char RSDP_SIGNATURE[] = "RSD PTR ";
constexpr std::uint64_t RSDP_SIGNATURE_SIZE = 8;
constexpr std::uint64_t RSDP_V1_SIZE = 20;
constexpr std::uint64_t RSDP_REVISION = 15;  // u8
constexpr std::uint64_t RSDP_LENGTH = 20;    // u32, revision >= 2
constexpr std::uint64_t RSDP_V2_SIZE = 36;
constexpr std::uint64_t RSDP_MAX_SIZE = 0x1000;  // a sanity bound on the length field
constexpr std::uint8_t RSDP_FIRST_EXTENDED_REVISION = 2;

// Setup-header fields a boot loader writes or may modify (boot.rst "Details of
// Header Fields": write, modify, or optional write).
constexpr bzboot::Field LOADER_FIELDS[] = {
    bp::HDR_ROOT_FLAGS,      bp::HDR_VID_MODE,     bp::HDR_ROOT_DEV,         bp::HDR_REALMODE_SWTCH,
    bp::HDR_TYPE_OF_LOADER,  bp::HDR_LOADFLAGS,    bp::HDR_SETUP_MOVE_SIZE,  bp::HDR_CODE32_START,
    bp::HDR_RAMDISK_IMAGE,   bp::HDR_RAMDISK_SIZE, bp::HDR_HEAP_END_PTR,     bp::HDR_EXT_LOADER_VER,
    bp::HDR_EXT_LOADER_TYPE, bp::HDR_CMD_LINE_PTR, bp::HDR_KERNEL_ALIGNMENT, bp::HDR_HARDWARE_SUBARCH,
    bp::HDR_HW_SUBARCH_DATA, bp::HDR_SETUP_DATA,
};
bool loader_writes(std::uint64_t offset) {
    return std::any_of(std::begin(LOADER_FIELDS), std::end(LOADER_FIELDS),
                       [&](const bzboot::Field& f) { return offset >= f.offset && offset < f.end(); });
}

Outcome pass(std::string message, std::vector<std::uint64_t> addresses = {}) {
    return {Status::pass, std::move(message), std::move(addresses)};
}
Outcome fail(std::string message, std::vector<std::uint64_t> addresses = {}) {
    return {Status::fail, std::move(message), std::move(addresses)};
}
// A departure the kernel is known to tolerate: WARN whatever the rule's grade.
// The message names the kernel behaviour that tolerates it.
Outcome tolerated(std::string message, std::vector<std::uint64_t> addresses = {}) {
    return {Status::warn, std::move(message), std::move(addresses)};
}
Outcome not_applicable(std::string message) { return {Status::not_applicable, std::move(message), {}}; }
Outcome no_header(const Handoff& h) {
    return fail(fmt::format("no setup header (\"HdrS\") found at {:#x}+{:#x}", h.base, bp::HDR_HEADER.offset),
                {h.base});
}

bool is16(const Handoff& h) { return h.kind == HandoffKind::real16; }
bool is64(const Handoff& h) { return h.kind == HandoffKind::long64; }

std::uint64_t heap_end(const Handoff& h) { return h.field(bp::HDR_HEAP_END_PTR) + bp::SETUP_ENTRY_OFFSET; }
std::uint64_t kernel_payload_size(const Handoff& h) { return h.in.kernel.bytes.size() - h.in.kernel.setup_size; }
bool overlaps(std::uint64_t a, std::uint64_t a_len, std::uint64_t b, std::uint64_t b_len) {
    return a_len > 0 && b_len > 0 && a < b + b_len && b < a + a_len;
}

struct Placed {
    std::string name;
    std::uint64_t start, size;
};
// Everything the loader left in memory for the kernel.
std::vector<Placed> placed_objects(const Handoff& h, bool with_page_tables) {
    std::vector<Placed> objects;
    if (is16(h))
        objects.push_back({"setup+heap", h.base, std::max(h.in.kernel.setup_size, heap_end(h))});
    else
        objects.push_back({"boot_params", h.base, bp::BP_SIZE});
    if (const auto cmdline = h.cmdline()) objects.push_back({"command line", h.cmdline_address(), cmdline->size() + 1});
    objects.push_back({"kernel", h.load_address, kernel_payload_size(h)});
    if (h.initrd_size() > 0) objects.push_back({"initrd", h.initrd_address(), h.initrd_size()});
    if (with_page_tables && h.walk)
        for (std::uint64_t table : h.walk->table_pages) objects.push_back({"page table", table, PAGE_4K});
    return objects;
}

// --- the rules --------------------------------------------------------------------

// What GRUB's 32-bit `linux` does to boot_params (it clears boot_flag), and
// why the kernel does not mind.
constexpr const char* BOOT_FLAG_UNREAD =
    "the 32/64-bit entry never reads boot_flag: it is the real-mode boot sector's signature";

Outcome header_magic(const Handoff& h) {
    const auto version = h.field(bp::HDR_VERSION);
    const auto boot_flag = h.field(bp::HDR_BOOT_FLAG);
    if (version < bp::PROTOCOL_MIN || version != h.in.kernel.version)
        return fail(fmt::format("version {:#06x}: the kernel file says {:#06x} (at least {:#06x} needed)", version,
                                h.in.kernel.version, bp::PROTOCOL_MIN),
                    {h.base + bp::HDR_VERSION});
    if (boot_flag != bp::BOOT_FLAG_MAGIC) {
        const std::string message = fmt::format("boot_flag is {:#06x}, not {:#06x}", boot_flag, bp::BOOT_FLAG_MAGIC);
        if (is16(h)) return fail(message, {h.base + bp::HDR_BOOT_FLAG});
        return tolerated(fmt::format("{} in boot_params: {}", message, BOOT_FLAG_UNREAD), {h.base + bp::HDR_BOOT_FLAG});
    }
    return pass(fmt::format("\"HdrS\" and boot flag present, protocol {}.{:02}", version >> 8, version & 0xff),
                {h.base + bp::HDR_HEADER});
}

Outcome setup_identical(const Handoff& h) {
    // 16-bit: the whole real-mode part was loaded at X; 32/64-bit: only the
    // setup header was copied into boot_params.
    const std::uint64_t first = is16(h) ? 0 : bp::BP_HDR;
    const std::uint64_t end = is16(h) ? h.in.kernel.setup_size : h.in.kernel.header_end;
    if (h.header.size() < end) return fail("setup lies partly outside RAM", {h.base});
    std::vector<std::uint64_t> differing;
    for (std::uint64_t offset = first; offset < end; ++offset)
        if (!loader_writes(offset) && h.header[offset] != h.in.kernel.bytes[offset])
            differing.push_back(h.base + offset);
    const char* what = is16(h) ? "real-mode setup" : "setup header in boot_params";
    const auto in_boot_flag = [&](std::uint64_t at) {
        return at - h.base >= bp::HDR_BOOT_FLAG.offset && at - h.base < bp::HDR_BOOT_FLAG.end();
    };
    if (!is16(h) && !differing.empty() && std::all_of(differing.begin(), differing.end(), in_boot_flag))
        return tolerated(
            fmt::format("only boot_flag of the {} differs from the kernel file: {}", what, BOOT_FLAG_UNREAD),
            {differing.front()});
    if (!differing.empty())
        return fail(fmt::format("{} bytes of the {} differ from the kernel file (first at {:#x})", differing.size(),
                                what, differing.front()),
                    {differing.front()});
    return pass(
        fmt::format("{} [{:#x}, {:#x}) matches the file except loader fields", what, h.base + first, h.base + end),
        {h.base + first, h.base + end});
}

// boot.rst "Memory Layout of The Real-Mode Code": X as low as possible, the
// real-mode code (setup, heap/stack, command line) below the top of low memory,
// and "When loading at 0x90000, avoid using memory above 0x9a000" (so too for
// protocol 2.01 and older, which load there). X+0x10000 is no limit: the heap
// may be smaller than 0x8000 bytes.
Outcome setup_base(const Handoff& h) {
    if (h.base % PARAGRAPH != 0) return fail(fmt::format("X = {:#x} is not 16-byte aligned", h.base), {h.base});
    if (h.base < SETUP_BASE_MIN)
        return fail(fmt::format("X = {:#x} lies below {:#x}", h.base, SETUP_BASE_MIN), {h.base});
    // The end of everything placed for the real-mode code, the highest first found.
    std::string what = "setup end";
    std::uint64_t end = h.base + h.in.kernel.setup_size;
    const auto raise = [&](const char* name, std::uint64_t candidate) {
        if (candidate > end) what = name, end = candidate;
    };
    if (h.field(bp::HDR_LOADFLAGS) & bp::CAN_USE_HEAP) raise("heap end", h.base + heap_end(h));
    if (h.cmdline_address() != 0 && h.cmdline_address() < LOW_MEMORY_LIMIT)
        if (const auto cmdline = h.cmdline()) raise("command line end", h.cmdline_address() + cmdline->size() + 1);
    const CpuState& cpu = h.snap.cpu;
    const std::uint64_t sp = (cpu.rsp & 0xffff) == 0 ? SETUP_SEGMENT_SIZE : (cpu.rsp & 0xffff);
    raise("SS:SP", cpu.ss.base + sp);
    if (end > h.low_memory_top)
        return fail(fmt::format("{} {:#x} lies above the top of low memory {:#x}", what, end, h.low_memory_top),
                    {h.base, end});
    const bool at_0x90000 = h.base == LEGACY_SETUP_BASE || h.in.kernel.version < bp::PROTOCOL_MIN;
    if (at_0x90000 && end > LEGACY_SETUP_LIMIT)
        return fail(fmt::format("X = {:#x}: {} {:#x} lies above {:#x}", h.base, what, end, LEGACY_SETUP_LIMIT),
                    {h.base, end});
    return pass(fmt::format("X = {:#x}; real-mode code up to {:#x} ({}) <= {:#x}", h.base, end, what,
                            at_0x90000 ? std::min(h.low_memory_top, LEGACY_SETUP_LIMIT) : h.low_memory_top),
                {h.base, end});
}

Outcome heap(const Handoff& h) {
    const bool can_use_heap = h.field(bp::HDR_LOADFLAGS) & bp::CAN_USE_HEAP;
    const std::uint64_t end = heap_end(h);
    if (!can_use_heap) return pass("CAN_USE_HEAP is clear: heap_end_ptr is not used");
    if (end <= h.in.kernel.setup_size || end > SETUP_SEGMENT_SIZE)
        return fail(fmt::format("CAN_USE_HEAP set but heap end X+{:#x} is not in (end of setup X+{:#x}, X+0x10000]",
                                end, h.in.kernel.setup_size),
                    {h.base + end});
    return pass(fmt::format("CAN_USE_HEAP set, heap X+{:#x}..X+{:#x}", h.in.kernel.setup_size, end),
                {h.base + h.in.kernel.setup_size, h.base + end});
}

Outcome cmdline_placement(const Handoff& h) {
    const std::uint64_t ptr = h.cmdline_address();
    if (ptr == 0) return fail("cmd_line_ptr is 0");
    const auto cmdline = h.cmdline();
    if (!cmdline)
        return fail(
            fmt::format("no NUL within cmdline_size+1 = {} bytes of {:#x} (or not in RAM)", h.cmdline_limit() + 1, ptr),
            {ptr});
    const std::uint64_t end = ptr + cmdline->size() + 1;
    if (is16(h)) {
        const std::uint64_t low = h.base + heap_end(h);
        if (ptr < low || end > LOW_MEMORY_LIMIT)
            return fail(
                fmt::format("command line [{:#x}, {:#x}) is not between the heap end {:#x} and 0xA0000", ptr, end, low),
                {ptr, end});
    } else if (end > 4 * bzboot::GiB && h.field(bp::BP_EXT_CMD_LINE_PTR) == 0) {
        return fail(fmt::format("command line [{:#x}, {:#x}) is not below 4 GiB", ptr, end), {ptr, end});
    }
    return pass(fmt::format("command line [{:#x}, {:#x}), {} of at most {} bytes, NUL-terminated", ptr, end,
                            cmdline->size(), h.cmdline_limit()),
                {ptr, end});
}

// The words of a command line as the kernel splits them (lib/cmdline.c
// next_arg()): at spaces, except inside double quotes.
std::vector<std::string> cmdline_words(const std::string& line) {
    std::vector<std::string> words;
    std::string word;
    bool quoted = false;
    for (char c : line) {
        if (c == '"') quoted = !quoted;
        if (!quoted && (c == ' ' || c == '\t' || c == '\n')) {
            if (!word.empty()) words.push_back(std::move(word));
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty()) words.push_back(std::move(word));
    return words;
}

// boot.rst "Special Command Line Options": the options some loaders add to the
// user's command line (BOOT_IMAGE=<file>, auto), and initrd=<file>, which the
// user's line may carry and loaders that load the initrd themselves write.
bool starts_with(const std::string& word, const char* prefix) { return word.rfind(prefix, 0) == 0; }
bool recommended_first(const std::string& word) { return starts_with(word, "BOOT_IMAGE=") || word == "auto"; }
bool loader_may_add(const std::string& word) { return recommended_first(word) || starts_with(word, "initrd="); }

Outcome cmdline_content(const Handoff& h) {
    const auto cmdline = h.cmdline();
    if (!cmdline) return fail("no readable command line", {h.cmdline_address()});
    const std::vector<std::uint64_t> at = {h.cmdline_address()};
    if (*cmdline == *h.in.cmdline) return pass(fmt::format("command line is \"{}\"", *cmdline), at);

    // The user's words, whole and in order, with only words a loader may add around them.
    const auto actual = cmdline_words(*cmdline), expected = cmdline_words(*h.in.cmdline);
    std::optional<std::size_t> user_at;
    for (std::size_t first = 0; !user_at && first + expected.size() <= actual.size(); ++first) {
        const auto user_begin = actual.begin() + static_cast<std::ptrdiff_t>(first);
        const auto user_end = user_begin + static_cast<std::ptrdiff_t>(expected.size());
        if (std::equal(expected.begin(), expected.end(), user_begin) &&
            std::all_of(actual.begin(), user_begin, loader_may_add) &&
            std::all_of(user_end, actual.end(), loader_may_add))
            user_at = first;
    }
    if (!user_at)
        return fail(fmt::format("command line is \"{}\", expected \"{}\" (a loader may add only BOOT_IMAGE=, auto "
                                "and initrd= words)",
                                *cmdline, *h.in.cmdline),
                    at);
    const auto user_end = *user_at + expected.size();
    std::vector<std::string> added, late;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        if (i >= *user_at && i < user_end) continue;
        const bool after = i >= user_end;
        added.push_back(fmt::format("{} ({})", actual[i], after ? "after the user's words" : "first"));
        if (after && recommended_first(actual[i])) late.push_back(actual[i]);
    }
    const std::string message =
        added.empty() ? fmt::format("command line \"{}\" has the expected words", *cmdline)
                      : fmt::format("command line \"{}\": the loader added {}", *cmdline, fmt::join(added, ", "));
    if (!late.empty())
        return tolerated(fmt::format("{}; boot.rst recommends {} first (\"init=/bin/sh\" gets confused by \"auto\" "
                                     "after it)",
                                     message, fmt::join(late, ", ")),
                         at);
    return pass(message, at);
}

Outcome loader_type(const Handoff& h) {
    const auto type = h.field(bp::HDR_TYPE_OF_LOADER);
    if (type == 0) return fail("type_of_loader is 0", {h.base + bp::HDR_TYPE_OF_LOADER});
    return pass(fmt::format("type_of_loader = {:#04x}", type), {h.base + bp::HDR_TYPE_OF_LOADER});
}

Outcome kernel_identical(const Handoff& h) {
    const std::uint64_t size = kernel_payload_size(h);
    const auto ram = h.snap.read_phys(h.load_address, size);
    if (!ram)
        return fail(fmt::format("[{:#x}, {:#x}) is not all RAM", h.load_address, h.load_address + size),
                    {h.load_address});
    const auto& file = h.in.kernel.bytes;
    const auto mismatch =
        std::mismatch(ram->begin(), ram->end(), file.begin() + static_cast<std::ptrdiff_t>(h.in.kernel.setup_size));
    if (mismatch.first != ram->end()) {
        const std::uint64_t at = h.load_address + static_cast<std::uint64_t>(mismatch.first - ram->begin());
        return fail(fmt::format("protected-mode kernel at {:#x} differs from the file at {:#x}", h.load_address, at),
                    {h.load_address, at});
    }
    return pass(
        fmt::format("protected-mode kernel [{:#x}, {:#x}) matches the file", h.load_address, h.load_address + size),
        {h.load_address, h.load_address + size});
}

Outcome initrd_identical(const Handoff& h) {
    const std::uint64_t addr = h.initrd_address();
    if (h.in.no_initrd) {
        if (addr != 0 || h.initrd_size() != 0)
            return fail(fmt::format("--no-initrd, yet ramdisk_image {:#x} size {:#x}", addr, h.initrd_size()), {addr});
        return pass("--no-initrd: ramdisk_image and ramdisk_size are 0");
    }
    if (!h.in.initrd) return not_applicable("no --initrd given");
    const auto& file = *h.in.initrd;
    if (h.initrd_size() != file.size())
        return fail(fmt::format("ramdisk_size is {:#x}, the file has {:#x} bytes", h.initrd_size(), file.size()),
                    {addr});
    const auto ram = h.snap.read_phys(addr, file.size());
    if (!ram) return fail(fmt::format("initrd [{:#x}, {:#x}) is not all RAM", addr, addr + file.size()), {addr});
    if (*ram != file) return fail(fmt::format("initrd at {:#x} differs from the file", addr), {addr});
    return pass(fmt::format("initrd [{:#x}, {:#x}) matches the file", addr, addr + file.size()),
                {addr, addr + file.size()});
}

Outcome initrd_aligned(const Handoff& h) {
    const std::uint64_t addr = h.initrd_address();
    if (addr % INITRD_ALIGN != 0) return fail(fmt::format("initrd at {:#x} is not page aligned", addr), {addr});
    return pass(fmt::format("initrd at {:#x} is page aligned", addr), {addr});
}

Outcome initrd_usable(const Handoff& h) {
    const std::uint64_t addr = h.initrd_address(), size = h.initrd_size();
    if (!h.usable_ram.contains(addr, size))
        return fail(fmt::format("initrd [{:#x}, {:#x}) is not all in usable RAM", addr, addr + size),
                    {addr, addr + size});
    return pass(fmt::format("initrd [{:#x}, {:#x}) lies in usable RAM", addr, addr + size), {addr, addr + size});
}

Outcome initrd_below_max(const Handoff& h) {
    const std::uint64_t last = h.initrd_address() + h.initrd_size() - 1;
    const std::uint64_t max = h.field(bp::HDR_INITRD_ADDR_MAX);
    if (h.initrd_size() > 0 && last > max) {
        const std::string message = fmt::format("initrd's last byte {:#x} is above initrd_addr_max {:#x}", last, max);
        if (h.field(bp::HDR_XLOADFLAGS) & bp::XLF_CAN_BE_LOADED_ABOVE_4G)
            return tolerated(fmt::format("{}; the kernel sets XLF_CAN_BE_LOADED_ABOVE_4G (\"kernel/boot_params/cmdline/"
                                         "ramdisk can be above 4G\"): it reads the initrd wherever it lies",
                                         message),
                             {last, max});
        return fail(message, {last, max});
    }
    return pass(fmt::format("initrd's last byte {:#x} <= initrd_addr_max {:#x}", last, max), {last, max});
}

Outcome initrd_outside_decompression(const Handoff& h) {
    const std::uint64_t addr = h.initrd_address(), size = h.initrd_size();
    const std::uint64_t init_size = h.in.kernel.init_size;
    for (const std::uint64_t start : {h.load_address, h.in.kernel.pref_address}) {
        if (overlaps(addr, size, start, init_size))
            return fail(fmt::format("initrd [{:#x}, {:#x}) overlaps the decompression window [{:#x}, {:#x})", addr,
                                    addr + size, start, start + init_size),
                        {addr, start});
    }
    return pass(fmt::format("initrd clear of [{:#x}, +{:#x}) and [{:#x}, +{:#x})", h.load_address, init_size,
                            h.in.kernel.pref_address, init_size),
                {addr});
}

Outcome no_overlaps(const Handoff& h) {
    const auto objects = placed_objects(h, true);
    for (std::size_t i = 0; i < objects.size(); ++i)
        for (std::size_t j = i + 1; j < objects.size(); ++j)
            if (overlaps(objects[i].start, objects[i].size, objects[j].start, objects[j].size))
                return fail(fmt::format("{} [{:#x}, {:#x}) overlaps {} [{:#x}, {:#x})", objects[i].name,
                                        objects[i].start, objects[i].start + objects[i].size, objects[j].name,
                                        objects[j].start, objects[j].start + objects[j].size),
                            {objects[i].start, objects[j].start});
    return pass(fmt::format("{} placed objects, no two overlap", objects.size()));
}

bool flat(const Segment& s) { return s.base == 0 && s.limit == FLAT_LIMIT; }

Outcome segments(const Handoff& h) {
    const CpuState& cpu = h.snap.cpu;
    std::vector<std::string> wrong;
    if (is16(h)) {
        const std::uint64_t seg = h.base >> 4;
        const std::uint64_t entry_cs = seg + (bp::SETUP_ENTRY_OFFSET >> 4);
        if (cpu.cs.selector != entry_cs || (cpu.rip & 0xffff) != 0)
            wrong.push_back(fmt::format("CS:IP is {:04x}:{:04x}, expected {:04x}:0000", cpu.cs.selector,
                                        cpu.rip & 0xffff, entry_cs));
        for (auto [name, reg] : {std::pair{"DS", &cpu.ds}, {"ES", &cpu.es}, {"SS", &cpu.ss}})
            if (reg->selector != seg)
                wrong.push_back(fmt::format("{} = {:#x}, expected X>>4 = {:#x}", name, reg->selector, seg));
    } else {
        if (cpu.cs.selector != bp::BOOT_CS)
            wrong.push_back(fmt::format("CS = {:#x}, expected {:#x}", cpu.cs.selector, bp::BOOT_CS));
        if (!(cpu.cs.flags & SEG_CODE) || !(cpu.cs.flags & SEG_READ_WRITE)) wrong.push_back("CS is not execute/read");
        if (is64(h) && !(cpu.cs.flags & SEG_LONG)) wrong.push_back("CS is not a 64-bit (L) segment");
        if (!is64(h) && (!(cpu.cs.flags & SEG_DB) || !flat(cpu.cs))) wrong.push_back("CS is not a flat 32-bit segment");
        for (auto [name, reg] : {std::pair{"DS", &cpu.ds}, {"ES", &cpu.es}, {"SS", &cpu.ss}}) {
            if (reg->selector != bp::BOOT_DS)
                wrong.push_back(fmt::format("{} = {:#x}, expected {:#x}", name, reg->selector, bp::BOOT_DS));
            if ((reg->flags & SEG_CODE) || !(reg->flags & SEG_READ_WRITE))
                wrong.push_back(fmt::format("{} is not read/write data", name));
            if (!is64(h) && !flat(*reg)) wrong.push_back(fmt::format("{} is not 4 GiB flat", name));
        }
    }
    if (!wrong.empty())
        return fail(fmt::format("{} hand-off: {}", handoff_name(h.kind), fmt::join(wrong, "; ")),
                    {cpu.cs.base + cpu.rip});
    return pass(fmt::format("{} hand-off: CS={:#x} DS={:#x} ES={:#x} SS={:#x}, entry {:#x}", handoff_name(h.kind),
                            cpu.cs.selector, cpu.ds.selector, cpu.es.selector, cpu.ss.selector, cpu.cs.base + cpu.rip),
                {cpu.cs.base + cpu.rip});
}

Outcome registers(const Handoff& h) {
    const CpuState& cpu = h.snap.cpu;
    if (is16(h)) {
        if (!h.header_found) return no_header(h);
        const std::uint64_t sp = (cpu.rsp & 0xffff) == 0 ? SETUP_SEGMENT_SIZE : (cpu.rsp & 0xffff);
        const bool can_use_heap = h.field(bp::HDR_LOADFLAGS) & bp::CAN_USE_HEAP;
        const std::uint64_t top = can_use_heap ? heap_end(h) : SETUP_SEGMENT_SIZE;
        if (cpu.ss.base != h.base || sp <= h.in.kernel.setup_size || sp > top)
            return fail(fmt::format("SS:SP = {:04x}:{:04x} is not inside the heap/stack area X+{:#x}..X+{:#x}",
                                    cpu.ss.selector, cpu.rsp & 0xffff, h.in.kernel.setup_size, top),
                        {cpu.ss.base + (cpu.rsp & 0xffff)});
        return pass(fmt::format("SP = {:#x} inside the heap/stack area X+{:#x}..X+{:#x}", cpu.rsp & 0xffff,
                                h.in.kernel.setup_size, top),
                    {h.base + sp});
    }
    if (!h.header_found)
        return fail(fmt::format("{} does not point at a boot_params with \"HdrS\"", is64(h) ? "RSI" : "ESI"), {h.base});
    if (!is64(h)) {
        std::vector<std::string> nonzero;
        for (auto [name, value] : {std::pair{"EBP", cpu.rbp}, {"EDI", cpu.rdi}, {"EBX", cpu.rbx}})
            if ((value & 0xffffffff) != 0) nonzero.push_back(fmt::format("{} = {:#x}", name, value));
        if (!nonzero.empty()) return fail(fmt::format("must be zero: {}", fmt::join(nonzero, ", ")), {h.base});
        return pass(fmt::format("ESI = {:#x} (boot_params), EBP = EDI = EBX = 0", h.base), {h.base});
    }
    return pass(fmt::format("RSI = {:#x} (boot_params)", h.base), {h.base});
}

Outcome cpu_mode(const Handoff& h) {
    const CpuState& cpu = h.snap.cpu;
    std::vector<std::string> wrong;
    const bool interrupts_on = cpu.rflags & RFLAGS_IF;
    if (interrupts_on && !is16(h)) wrong.push_back("interrupts are enabled (IF = 1)");
    switch (h.kind) {
        case HandoffKind::real16:
            if (cpu.cr0 & CR0_PE) wrong.push_back("CR0.PE is set (not real mode)");
            break;
        case HandoffKind::prot32:
            if (!(cpu.cr0 & CR0_PE)) wrong.push_back("CR0.PE is clear");
            if (cpu.cr0 & CR0_PG) wrong.push_back("paging is enabled");
            break;
        case HandoffKind::long64:
            if (!(cpu.efer & EFER_LMA) || !(cpu.cr0 & CR0_PG)) wrong.push_back("not in 64-bit mode with paging");
            break;
        case HandoffKind::unknown: wrong.push_back("unknown hand-off kind"); break;
    }
    if (!wrong.empty()) return fail(fmt::format("{}", fmt::join(wrong, "; ")));
    if (interrupts_on)
        return tolerated(
            fmt::format("real mode, but interrupts are enabled (RFLAGS {:#x}): the setup code calls the "
                        "BIOS with interrupts on and disables them itself before protected mode "
                        "(realmode_switch_hook)",
                        cpu.rflags));
    return pass(fmt::format("{} mode as required, interrupts disabled (CR0 {:#x}, EFER {:#x}, RFLAGS {:#x})",
                            handoff_name(h.kind), cpu.cr0, cpu.efer, cpu.rflags));
}

Outcome sentinel(const Handoff& h) {
    const auto value = h.field(bp::BP_SENTINEL);
    if (value != 0)
        return fail(fmt::format("sentinel is {:#x}: boot_params was not zeroed before the header was copied", value),
                    {h.base + bp::BP_SENTINEL});
    return pass("sentinel is 0", {h.base + bp::BP_SENTINEL});
}

Outcome e820_valid(const Handoff& h) {
    const auto count = h.field(bp::BP_E820_ENTRIES);
    if (count > bp::E820_MAX_ENTRIES_ZP)
        return fail(fmt::format("e820_entries = {} > {}", count, bp::E820_MAX_ENTRIES_ZP));
    const auto entries = h.e820_entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.size == 0 || e.addr + e.size < e.addr || e.type == 0)
            return fail(fmt::format("entry {} [{:#x}, +{:#x}) type {} is invalid", i, e.addr, e.size, e.type),
                        {e.addr});
    }
    for (std::size_t i = 1; i < entries.size(); ++i)
        if (entries[i].addr < entries[i - 1].addr + entries[i - 1].size)
            return tolerated(fmt::format("entry {} at {:#x} is unsorted or overlaps entry {}: the kernel sorts and "
                                         "merges the table itself (e820__update_table)",
                                         i, entries[i].addr, i - 1),
                             {entries[i].addr});
    return pass(fmt::format("{} entries, sorted, non-overlapping", entries.size()));
}

Outcome e820_consistent(const Handoff& h) {
    RangeSet dumped;
    for (const auto& range : h.snap.ram) dumped.add(range.phys, range.end());
    for (const auto& e : h.e820_entries())
        if (e.type == bp::E820_TYPE_RAM && !dumped.contains(e.addr, e.size))
            return fail(fmt::format("E820 RAM [{:#x}, {:#x}) is not RAM in the snapshot", e.addr, e.addr + e.size),
                        {e.addr});
    return pass("every E820 RAM entry is RAM in the snapshot");
}

Outcome identity_map(const Handoff& h) {
    if (!h.walk) return fail("no page tables");
    const std::uint64_t init_size = h.in.kernel.init_size;
    std::vector<Placed> needed = {{"kernel [load, +init_size)", h.load_address, init_size},
                                  {"[pref_address, +init_size)", h.in.kernel.pref_address, init_size},
                                  {"zero page", h.base, bp::BP_SIZE}};
    if (const auto cmdline = h.cmdline()) needed.push_back({"command line", h.cmdline_address(), cmdline->size() + 1});
    for (const auto& range : needed)
        if (!identity_mapped(h.walk->mappings, range.start, range.size))
            return fail(fmt::format("{} [{:#x}, {:#x}) is not identity mapped", range.name, range.start,
                                    range.start + range.size),
                        {range.start});
    return pass(fmt::format("identity map covers kernel, pref_address window, zero page and command line ({} levels)",
                            h.walk->levels),
                {h.load_address, h.in.kernel.pref_address, h.base});
}

Outcome trampoline(const Handoff& h) {
    const std::uint64_t at = trampoline_address(h);
    for (const auto& object : placed_objects(h, true))
        if (overlaps(object.start, object.size, at, bp::TRAMPOLINE_RESERVE))
            return fail(
                fmt::format("{} [{:#x}, {:#x}) lies in the decompressor's trampoline [{:#x}, {:#x})", object.name,
                            object.start, object.start + object.size, at, at + bp::TRAMPOLINE_RESERVE),
                {object.start, at});
    return pass(
        fmt::format("trampoline area [{:#x}, {:#x}) holds nothing of the loader's", at, at + bp::TRAMPOLINE_RESERVE),
        {at});
}

// zero-page.rst: acpi_rsdp_addr. Set, it must lead the kernel to the RSDP: the
// kernel takes it over its own search (arch/x86/boot/compressed/acpi.c).
Outcome acpi_rsdp(const Handoff& h) {
    const std::uint64_t at = h.field(bp::BP_ACPI_RSDP_ADDR);
    if (at == 0) return not_applicable("acpi_rsdp_addr is 0: the kernel looks for the RSDP itself");
    const auto checksum_ok = [](const std::vector<std::uint8_t>& bytes) {
        return std::accumulate(bytes.begin(), bytes.end(), std::uint8_t{0},
                               [](std::uint8_t sum, std::uint8_t b) { return std::uint8_t(sum + b); }) == 0;
    };
    const auto v1 = h.snap.read_phys(at, RSDP_V1_SIZE);
    if (!v1) return fail(fmt::format("acpi_rsdp_addr {:#x} is not in RAM", at), {at});
    if (!std::equal(RSDP_SIGNATURE, RSDP_SIGNATURE + RSDP_SIGNATURE_SIZE, v1->begin()))
        return fail(fmt::format("no \"{}\" signature at acpi_rsdp_addr {:#x}", RSDP_SIGNATURE, at), {at});
    if (!checksum_ok(*v1)) return fail(fmt::format("RSDP at {:#x}: checksum of its first 20 bytes is not 0", at), {at});
    const std::uint8_t revision = (*v1)[RSDP_REVISION];
    if (revision >= RSDP_FIRST_EXTENDED_REVISION) {
        const std::uint64_t length = h.snap.u32(at + RSDP_LENGTH).value_or(0);
        const auto whole =
            length >= RSDP_V2_SIZE && length <= RSDP_MAX_SIZE ? h.snap.read_phys(at, length) : std::nullopt;
        if (!whole || !checksum_ok(*whole))
            return fail(
                fmt::format("RSDP at {:#x}, revision {}: length {} or extended checksum wrong", at, revision, length),
                {at});
    }
    return pass(fmt::format("acpi_rsdp_addr {:#x}: RSDP revision {}, checksums valid", at, revision), {at});
}

// --- the table -------------------------------------------------------------------

constexpr AppliesTo all(unsigned needs = 0) { return {ALL_KINDS, "", needs}; }
constexpr AppliesTo only(unsigned kinds, const char* otherwise, unsigned needs = 0) {
    return {kinds, otherwise, needs};
}
constexpr unsigned HEADER = NEEDS_HEADER, CMDLINE = NEEDS_CMDLINE, INITRD = NEEDS_INITRD, E820 = NEEDS_E820;
constexpr const char* BOOT_RST = "boot.rst";
constexpr const char* ZERO_PAGE_RST = "zero-page.rst";
constexpr Grade FAIL = Grade::fail, WARN = Grade::warn;

// id, name, applies to, the statement checked, its document, the grade of a
// departure and the sentence it rests on, the function.
const std::vector<Rule> RULES = {
    {"R01", "header-magic", all(HEADER),
     "header: Contains the magic number \"HdrS\"; version: protocol 2.02 or later for a bzImage", BOOT_RST, FAIL,
     "header: \"Contains the magic number 'HdrS' (0x53726448)\"; boot_flag: \"Contains 0xAA55\"", header_magic},
    {"R02", "setup-unmodified", all(HEADER),
     "The real-mode kernel (boot sector + setup) is loaded unmodified; the loader writes only the fields marked "
     "write/modify",
     BOOT_RST, FAIL,
     "\"some are information from the kernel to the bootloader ('read'), some are expected to be filled out by the "
     "bootloader ('write')\"; the kernel reads its own fields back from the header",
     setup_identical},
    {"R03", "setup-base", only(K16, "the real-mode setup is not used by a 32/64-bit hand-off"),
     "X as low as possible (16-byte aligned, at least 0x10000); the setup, heap, command line and stack below the top "
     "of low memory; when loading at 0x90000, avoid using memory above 0x9a000",
     BOOT_RST, FAIL,
     "\"This needs to be done in the real-mode accessible memory in bottom megabyte.\" ... \"When loading at 0x90000, "
     "avoid using memory above 0x9a000.\"",
     setup_base},
    {"R04", "heap-end", only(K16, "the setup heap is used only by the 16-bit entry", HEADER),
     "heap_end_ptr: offset of the end of the setup stack/heap minus 0x200; set CAN_USE_HEAP when it is valid", BOOT_RST,
     FAIL,
     "heap_end_ptr, write (obligatory): \"Set this field to the offset (from the beginning of the real-mode code) of "
     "the end of the setup stack/heap, minus 0x0200.\"",
     heap},
    {"R05", "cmdline-placement", all(HEADER),
     "The command line is NUL-terminated, at most cmdline_size bytes; between the heap end and 0xA0000 (16-bit) or "
     "below 4 GiB",
     BOOT_RST, FAIL,
     "\"The kernel command line can be located anywhere between the end of the setup heap and 0xA0000\"; \"The kernel "
     "command line is a null-terminated string.\"",
     cmdline_placement},
    {"R06", "cmdline-content", all(CMDLINE | HEADER),
     "cmd_line_ptr: the kernel command line the loader was asked to pass, its words whole and in order; a loader may "
     "add BOOT_IMAGE=<file> and auto (recommended first) and initrd=<file>",
     BOOT_RST, FAIL,
     "\"They should normally not be deleted from the kernel command line\"; added options: \"it is highly recommended "
     "that they are located *first*\"",
     cmdline_content},
    {"R07", "loader-type", all(HEADER), "type_of_loader: obligatory; a loader without an assigned id writes 0xFF",
     BOOT_RST, FAIL,
     "type_of_loader, write (obligatory): \"Otherwise, enter 0xFF here.\"; the kernel ignores the initrd when it is 0 "
     "(reserve_initrd)",
     loader_type},
    {"R08", "kernel-identical", all(HEADER),
     "The protected-mode kernel is loaded at its load address (code32_start / the entry), byte-identical", BOOT_RST,
     FAIL,
     "\"The 32-bit (non-real-mode) kernel starts at offset (setup_sects+1)*512 in the kernel file\"; it runs from "
     "where it was loaded",
     kernel_identical},
    {"R09", "initrd-identical", all(HEADER), "ramdisk_image/ramdisk_size: the initial ramdisk as loaded", BOOT_RST,
     FAIL, "ramdisk_image, write (obligatory): \"The 32-bit linear address of the initial ramdisk or ramfs.\"",
     initrd_identical},
    {"R10", "initrd-aligned", all(HEADER | INITRD), "The initrd starts at a page boundary, as loaders place it",
     BOOT_RST, WARN,
     "boot.rst sets no alignment for ramdisk_image; loaders page-align it, and the kernel reserves and frees the "
     "initrd in whole pages (reserve_initrd: PAGE_ALIGN)",
     initrd_aligned},
    {"R11", "initrd-usable", all(HEADER | INITRD),
     "The initrd lies in memory the BIOS reports usable (E820 / base memory)", BOOT_RST, FAIL,
     "mem=: \"an initrd should be placed near end of memory\"; memory the BIOS reserves is not the kernel's to read",
     initrd_usable},
    {"R12", "initrd-below-max", all(HEADER | INITRD),
     "initrd_addr_max: the maximum address that may be occupied by the initial ramdisk", BOOT_RST, FAIL,
     "initrd_addr_max: \"The maximum address that may be occupied by the initial ramdisk/ramfs contents.\"",
     initrd_below_max},
    {"R13", "initrd-outside-decompression", all(HEADER | INITRD),
     "init_size: linear memory the kernel needs from its start address for decompression; keep the initrd out of it",
     BOOT_RST, FAIL,
     "init_size: \"the amount of linear contiguous memory starting at the kernel runtime start address that the kernel "
     "needs before it is capable of examining its memory map\"",
     initrd_outside_decompression},
    {"R14", "no-overlaps", all(HEADER),
     "The setup/boot_params, command line, kernel, initrd and page tables do not overlap", BOOT_RST, FAIL,
     "each object is where its field says; an overlap means one of them was overwritten", no_overlaps},
    {"R15", "segments", all(),
     "16-bit: CS = (X>>4)+0x20, IP = 0, DS = ES = SS = X>>4; 32/64-bit: CS = __BOOT_CS (0x10), DS = ES = SS = "
     "__BOOT_DS "
     "(0x18), 4G flat",
     BOOT_RST, FAIL,
     "\"CS must be __BOOT_CS and DS, ES, SS must be __BOOT_DS\"; 16-bit: \"jump to the kernel entry point, which is "
     "located at *segment* offset 0x20 from the start of the real mode kernel\"",
     segments},
    {"R16", "registers", all(),
     "16-bit: SP inside the heap/stack; 32-bit: %esi = boot_params, %ebp = %edi = %ebx = 0; 64-bit: %rsi = boot_params",
     BOOT_RST, FAIL,
     "\"%esi must hold the base address of the struct boot_params; %ebp, %edi and %ebx must be zero\"; 16-bit: \"sp "
     "should be set up properly, normally pointing to the top of the heap\"",
     registers},
    {"R17", "cpu-mode", all(),
     "Interrupts disabled; real mode / 32-bit protected mode with paging off / 64-bit mode with paging on", BOOT_RST,
     FAIL,
     "\"At entry, the CPU must be in 32-bit protected mode with paging disabled\"; \"interrupt must be disabled\"",
     cpu_mode},
    {"R18", "sentinel", only(K32 | K64, "the 16-bit entry builds boot_params itself", HEADER),
     "sentinel: zero in a boot_params the loader zeroed before copying the setup header", BOOT_RST, WARN,
     "\"The memory for struct boot_params should be allocated and initialized to all zero.\"; with sentinel set the "
     "kernel clears what a loader left (sanitize_boot_params)",
     sentinel},
    {"R19", "e820-valid", only(K32 | K64, "boot_params carries no E820 table", E820),
     "e820_table: e820_entries valid entries, sorted, non-overlapping", BOOT_RST, FAIL,
     "e820_entries: \"Number of entries in e820_table\"; the table holds at most 128", e820_valid},
    {"R20", "e820-ram-present", only(K32 | K64, "boot_params carries no E820 table", E820),
     "The E820 RAM entries exist as RAM", BOOT_RST, FAIL, "the kernel takes E820 RAM as memory it may use",
     e820_consistent},
    {"R21", "identity-map", only(K64, "only the 64-bit entry runs with paging", HEADER),
     "64-bit: the range with init_size from the kernel's start, the zero page and the command line are identity mapped",
     BOOT_RST, FAIL,
     "\"The range with setup_header.init_size from start address of loaded kernel and zero page and command line "
     "buffer get ident mapping\"",
     identity_map},
    {"R22", "trampoline-clear", only(K32 | K64, "the 16-bit entry's E820 table is not known at the hand-off", HEADER),
     "Nothing the kernel still needs lies where the decompressor places its 32-bit trampoline (below the EBDA)",
     BOOT_RST, FAIL,
     "the decompressor copies its trampoline below the EBDA without asking the loader (find_trampoline_placement)",
     trampoline},
    {"R23", "acpi-rsdp", only(K32 | K64, "the 16-bit entry builds boot_params itself", HEADER),
     "acpi_rsdp_addr: ACPI RSDP table address", ZERO_PAGE_RST, FAIL,
     "acpi_rsdp_addr: \"ACPI RSDP table address\"; the kernel takes it over its own search", acpi_rsdp},
};

unsigned kind_bit(HandoffKind kind) {
    switch (kind) {
        case HandoffKind::real16: return K16;
        case HandoffKind::prot32: return K32;
        case HandoffKind::long64: return K64;
        case HandoffKind::unknown: break;
    }
    return 0;
}

// The row's applicability, then the rule's function.
Outcome check(const Rule& rule, const Handoff& h) {
    const AppliesTo& applies = rule.applies;
    if (applies.kinds != ALL_KINDS && !(applies.kinds & kind_bit(h.kind))) return not_applicable(applies.otherwise);
    if ((applies.needs & NEEDS_CMDLINE) && !h.in.cmdline) return not_applicable("no --cmdline given");
    if ((applies.needs & NEEDS_E820) && !h.has_e820()) return not_applicable("boot_params carries no E820 table");
    if ((applies.needs & NEEDS_HEADER) && !h.header_found) return no_header(h);
    if (applies.needs & NEEDS_INITRD) {
        if (h.in.no_initrd) return not_applicable("--no-initrd (R09 checks that none was loaded)");
        if (!h.in.initrd) return not_applicable("no --initrd given");
    }
    return rule.check(h);
}

// The rule's function, its "does not hold" graded by the rule's row.
RuleResult run(const Rule& rule, const Handoff& h) {
    Outcome outcome = check(rule, h);
    const Status status = outcome.status == Status::fail && rule.grade == Grade::warn ? Status::warn : outcome.status;
    return RuleResult{
        rule.id,       rule.name,     status,    rule.grade, std::move(outcome.addresses), std::move(outcome.message),
        rule.citation, rule.document, rule.basis};
}

}  // namespace

const char* status_name(Status status) {
    switch (status) {
        case Status::pass: return "PASS";
        case Status::warn: return "WARN";
        case Status::fail: return "FAIL";
        case Status::not_applicable: break;
    }
    return "N/A";
}

const char* grade_name(Grade grade) { return grade == Grade::warn ? "WARN" : "FAIL"; }

bool any_status(const std::vector<RuleResult>& results, Status status) {
    return std::any_of(results.begin(), results.end(), [&](const RuleResult& r) { return r.status == status; });
}

Status overall(const std::vector<RuleResult>& results) {
    if (any_status(results, Status::fail)) return Status::fail;
    if (any_status(results, Status::warn)) return Status::warn;
    return Status::pass;
}

bool rejected(const std::vector<RuleResult>& results, bool strict) {
    const Status verdict = overall(results);
    return verdict == Status::fail || (strict && verdict == Status::warn);
}

std::string applies_to_text(const AppliesTo& applies) {
    std::string text;
    if (applies.kinds == ALL_KINDS) {
        text = "all";
    } else {
        std::vector<const char*> kinds;
        for (auto [bit, name] : {std::pair{K16, "16"}, {K32, "32"}, {K64, "64"}})
            if (applies.kinds & bit) kinds.push_back(name);
        text = fmt::format("{}", fmt::join(kinds, ", "));
    }
    if (applies.needs & NEEDS_E820) text += " with E820";
    if (applies.needs & NEEDS_INITRD) text += ", with `--initrd`";
    if (applies.needs & NEEDS_CMDLINE) text += ", with `--cmdline`";
    return text;
}

const std::vector<Rule>& rules() { return RULES; }

std::vector<RuleResult> verify(const Handoff& handoff) {
    std::vector<RuleResult> results;
    for (const Rule& rule : RULES) results.push_back(run(rule, handoff));
    return results;
}

std::vector<RuleResult> verify(const Snapshot& snap, const VerifyInputs& in) { return verify(analyse(snap, in)); }

RuleResult check_rule(const std::string& id, const Handoff& handoff) {
    for (const Rule& rule : RULES)
        if (id == rule.id) return run(rule, handoff);
    throw std::out_of_range("no rule " + id);
}

}  // namespace bzcheck
