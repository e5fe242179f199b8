// snapshot.cpp - reader and writer of the ELF64 core snapshot (see snapshot.h).
//
// Every read from the file goes through SnapshotBytes::at(), which checks the
// range against the file size first, and every read inside what it returned
// through a bzboot::ByteView (common/bytes.h): the reader is fuzzed.
#include "snapshot.h"

#include "common/bytes.h"

#include <elf.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bzcheck {
namespace {

using bzboot::ByteView;
using bzboot::Field;

// --- the notes QEMU writes (target/i386/arch_dump.c) ---------------------------
constexpr char CORE_NOTE_NAME[] = "CORE";
constexpr char QEMU_NOTE_NAME[] = "QEMU";
constexpr char BZCHECK_NOTE_NAME[] = "BZCHECK";
constexpr std::uint32_t QEMU_NOTE_TYPE = 0;
constexpr std::uint32_t BZCHECK_NOTE_TYPE = 1;
constexpr std::uint32_t BZCHECK_NOTE_FORMAT = 1;
constexpr std::uint64_t NOTE_ALIGN = 4;
// Elf64_Nhdr: n_namesz, n_descsz, n_type.
constexpr std::uint64_t NOTE_HEADER_SIZE = sizeof(Elf64_Nhdr);
constexpr Field NOTE_NAMESZ{0, 4}, NOTE_DESCSZ{4, 4}, NOTE_TYPE{8, 4};

// QEMUCPUState, version 1: u32 version, u32 size, 18 u64 registers, 10 segments
// of 24 bytes, cr0..cr4, then (size permitting) kernel_gs_base.
constexpr std::uint32_t QEMU_CPU_STATE_VERSION = 1;
constexpr Field QEMU_CPU_VERSION{0, 4}, QEMU_CPU_SIZE{4, 4};
constexpr unsigned QEMU_CPU_REG_WIDTH = 8;  // the registers and cr0..cr4
constexpr std::uint64_t QEMU_CPU_REGS = 8;
constexpr std::uint64_t QEMU_CPU_SEGMENTS = QEMU_CPU_REGS + 18 * 8;
constexpr std::uint64_t QEMU_SEGMENT_SIZE = 24;
// QEMUCPUSegment: u32 selector, limit, flags, pad; u64 base.
constexpr Field QEMU_SEGMENT_SELECTOR{0, 4}, QEMU_SEGMENT_LIMIT{4, 4}, QEMU_SEGMENT_FLAGS{8, 4},
    QEMU_SEGMENT_BASE{16, 8};
constexpr std::uint64_t QEMU_SEGMENT_COUNT = 10;
constexpr std::uint64_t QEMU_CPU_CRS = QEMU_CPU_SEGMENTS + QEMU_SEGMENT_COUNT * QEMU_SEGMENT_SIZE;
constexpr std::uint64_t QEMU_CPU_CR_COUNT = 5;
constexpr std::uint64_t QEMU_CPU_KERNEL_GS_BASE = QEMU_CPU_CRS + QEMU_CPU_CR_COUNT * 8;
constexpr std::uint64_t QEMU_CPU_STATE_SIZE = QEMU_CPU_KERNEL_GS_BASE + QEMU_CPU_REG_WIDTH;  // 440

// NT_PRSTATUS descriptors: x86_64_elf_prstatus (long mode) and x86_elf_prstatus.
// pr_pid is an int in both; the registers are 8 bytes wide in one, 4 in the other.
constexpr std::uint64_t PRSTATUS64_SIZE = 336;
constexpr Field PRSTATUS64_PID{32, 4};
constexpr std::uint64_t PRSTATUS64_REGS = 112;
constexpr unsigned PRSTATUS64_REG_WIDTH = 8;
constexpr std::uint64_t PRSTATUS32_SIZE = 144;
constexpr Field PRSTATUS32_PID{24, 4};
constexpr std::uint64_t PRSTATUS32_REGS = 72;
constexpr unsigned PRSTATUS32_REG_WIDTH = 4;

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

// The segment registers in QEMUCPUState order.
std::vector<Segment*> segments_of(CpuState& cpu) {
    return {&cpu.cs, &cpu.ds, &cpu.es, &cpu.fs, &cpu.gs, &cpu.ss, &cpu.ldt, &cpu.tr, &cpu.gdt, &cpu.idt};
}
std::vector<const Segment*> segments_of(const CpuState& cpu) {
    return {&cpu.cs, &cpu.ds, &cpu.es, &cpu.fs, &cpu.gs, &cpu.ss, &cpu.ldt, &cpu.tr, &cpu.gdt, &cpu.idt};
}
// The general registers in QEMUCPUState order.
std::vector<std::uint64_t*> registers_of(CpuState& cpu) {
    return {&cpu.rax, &cpu.rbx, &cpu.rcx, &cpu.rdx, &cpu.rsi, &cpu.rdi, &cpu.rsp, &cpu.rbp, &cpu.r8,
            &cpu.r9,  &cpu.r10, &cpu.r11, &cpu.r12, &cpu.r13, &cpu.r14, &cpu.r15, &cpu.rip, &cpu.rflags};
}

// --- reading --------------------------------------------------------------------

// Where the snapshot's bytes come from: a buffer in memory (its RAM copied
// out), or a file mapped read-only (its RAM left in the mapping: pages are read
// only when a rule or the page walk touches them).
class SnapshotBytes {
public:
    virtual ~SnapshotBytes() = default;
    virtual ByteView whole() const = 0;
    std::uint64_t size() const { return whole().size; }

    // Bytes [offset, offset+len), or SnapshotError naming `what` if they are not all in the file.
    ByteView at(std::uint64_t offset, std::uint64_t len, const std::string& what) const {
        const auto part = whole().sub(offset, len);
        if (!part)
            throw SnapshotError(
                fmt::format("truncated: {} (bytes {:#x}+{:#x}) lies past the end of the file ({:#x} bytes)", what,
                            offset, len, size()));
        return *part;
    }
    // The RAM range at guest-physical `phys` held at [offset, offset+len).
    virtual RamRange ram_range(std::uint64_t phys, std::uint64_t offset, std::uint64_t len,
                               const std::string& what) const = 0;
};

class MemoryBytes : public SnapshotBytes {
public:
    explicit MemoryBytes(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}
    ByteView whole() const override { return ByteView(bytes_); }
    // Copied: the caller's buffer may go before the Snapshot does.
    RamRange ram_range(std::uint64_t phys, std::uint64_t offset, std::uint64_t len,
                       const std::string& what) const override {
        return RamRange{phys, at(offset, len, what).copy()};
    }

private:
    const std::vector<std::uint8_t>& bytes_;
};

// A file mapped read-only, unmapped when the last RAM range that uses it goes.
class Mapping {
public:
    explicit Mapping(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw SnapshotError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            throw SnapshotError(fmt::format("{}: cannot read (not a regular file?)", path));
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            void* at = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (at == MAP_FAILED) {
                const int error = errno;
                ::close(fd);
                throw SnapshotError(fmt::format("{}: cannot map: {}", path, std::strerror(error)));
            }
            data_ = static_cast<const std::uint8_t*>(at);
        }
        ::close(fd);  // the mapping keeps the file
    }
    ~Mapping() {
        if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ByteView view() const { return ByteView(data_, size_); }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

class FileBytes : public SnapshotBytes {
public:
    explicit FileBytes(const std::string& path) : mapping_(std::make_shared<const Mapping>(path)) {}
    ByteView whole() const override { return mapping_->view(); }
    RamRange ram_range(std::uint64_t phys, std::uint64_t offset, std::uint64_t len,
                       const std::string& what) const override {
        return RamRange::mapped(phys, at(offset, len, what), mapping_);
    }

private:
    std::shared_ptr<const Mapping> mapping_;
};

// The value of `f` in the structure at `base` of `bytes`, which the caller has checked
// is long enough: should it not be after all, a SnapshotError naming `what`, never a
// read past the end.
std::uint64_t read_field(ByteView bytes, Field f, std::uint64_t base, const char* what) {
    const auto value = bytes.field(f, base);
    if (!value)
        throw SnapshotError(fmt::format("truncated: {} (bytes {:#x}+{:#x}) lies past its end ({:#x} bytes)", what,
                                        base + f.offset, f.width, bytes.size));
    return *value;
}

Segment parse_qemu_segment(ByteView desc, std::uint64_t at) {
    constexpr const char* what = "QEMU CPU-state segment";
    Segment seg;
    seg.selector = static_cast<std::uint32_t>(read_field(desc, QEMU_SEGMENT_SELECTOR, at, what));
    seg.limit = static_cast<std::uint32_t>(read_field(desc, QEMU_SEGMENT_LIMIT, at, what));
    seg.flags = static_cast<std::uint32_t>(read_field(desc, QEMU_SEGMENT_FLAGS, at, what)) & SEGMENT_FLAGS_MASK;
    seg.base = read_field(desc, QEMU_SEGMENT_BASE, at, what);
    return seg;
}

CpuState parse_qemu_cpu_state(ByteView desc) {
    // Everything up to kernel_gs_base must be there; read_field() would only catch
    // it register by register.
    if (desc.size < QEMU_CPU_KERNEL_GS_BASE)
        throw SnapshotError(fmt::format("QEMU CPU-state note too short ({} bytes)", desc.size));
    constexpr const char* what = "QEMU CPU-state register";
    const auto reg_at = [&](std::uint64_t offset) {
        return read_field(desc, Field{offset, QEMU_CPU_REG_WIDTH}, 0, what);
    };
    const std::uint64_t version = read_field(desc, QEMU_CPU_VERSION, 0, what);
    const std::uint64_t size = read_field(desc, QEMU_CPU_SIZE, 0, what);
    if (version != QEMU_CPU_STATE_VERSION)
        throw SnapshotError(
            fmt::format("QEMU CPU-state note has version {}, expected {}", version, QEMU_CPU_STATE_VERSION));
    CpuState cpu;
    std::uint64_t offset = QEMU_CPU_REGS;
    for (std::uint64_t* reg : registers_of(cpu)) {
        *reg = reg_at(offset);
        offset += QEMU_CPU_REG_WIDTH;
    }
    offset = QEMU_CPU_SEGMENTS;
    for (Segment* seg : segments_of(cpu)) {
        *seg = parse_qemu_segment(desc, offset);
        offset += QEMU_SEGMENT_SIZE;
    }
    std::uint64_t* crs[] = {&cpu.cr0, &cpu.cr1, &cpu.cr2, &cpu.cr3, &cpu.cr4};
    for (std::uint64_t i = 0; i < QEMU_CPU_CR_COUNT; ++i) *crs[i] = reg_at(QEMU_CPU_CRS + i * QEMU_CPU_REG_WIDTH);
    if (size >= QEMU_CPU_STATE_SIZE && desc.size >= QEMU_CPU_STATE_SIZE)
        cpu.kernel_gs_base = reg_at(QEMU_CPU_KERNEL_GS_BASE);
    return cpu;
}

std::uint64_t parse_hex(const nlohmann::json& value, const char* field) {
    if (!value.is_string()) throw SnapshotError(fmt::format("BZCHECK note: {} is not a hex string", field));
    const std::string text = value.get<std::string>();
    std::size_t used = 0;
    std::uint64_t number = 0;
    try {
        number = std::stoull(text, &used, 16);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size())
        throw SnapshotError(fmt::format("BZCHECK note: {} \"{}\" is not a hex number", field, text));
    return number;
}

void parse_bzcheck_note(ByteView desc, Snapshot& snap) {
    const auto note = nlohmann::json::parse(desc.data, desc.data + desc.size, nullptr, /*allow_exceptions=*/false);
    if (!note.is_object()) throw SnapshotError("BZCHECK note is not a JSON object");
    // Compared as JSON values: value("format", 0) would throw for a string and convert
    // a huge float to int, which is undefined.
    const auto format = note.find("format");
    if (format == note.end() || *format != BZCHECK_NOTE_FORMAT)
        throw SnapshotError(fmt::format("BZCHECK note: unsupported format (expected {})", BZCHECK_NOTE_FORMAT));
    const auto handoff = note.find("handoff");
    if (handoff == note.end() || !handoff->is_number_unsigned()) throw SnapshotError("BZCHECK note: handoff missing");
    switch (handoff->get<std::uint64_t>()) {
        case 0: snap.handoff = HandoffKind::unknown; break;
        case 16: snap.handoff = HandoffKind::real16; break;
        case 32: snap.handoff = HandoffKind::prot32; break;
        case 64: snap.handoff = HandoffKind::long64; break;
        default: throw SnapshotError("BZCHECK note: handoff is not 0, 16, 32 or 64");
    }
    if (note.contains("stop")) {
        if (note["stop"] != "running" && note["stop"] != "handoff")
            throw SnapshotError("BZCHECK note: stop is not \"handoff\" or \"running\"");
        snap.running_kernel = note["stop"] == "running";
    }
    if (!note.contains("efer")) throw SnapshotError("BZCHECK note: efer missing");
    snap.cpu.efer = parse_hex(note["efer"], "efer");
    snap.efer_known = true;
    if (note.contains("emulator")) {
        if (!note["emulator"].is_string()) throw SnapshotError("BZCHECK note: emulator is not a string");
        snap.emulator = note["emulator"].get<std::string>();
    }
    if (note.contains("args")) {
        const auto& args = note["args"];
        if (!args.is_array()) throw SnapshotError("BZCHECK note: args is not an array");
        for (const auto& arg : args) {
            if (!arg.is_string()) throw SnapshotError("BZCHECK note: args holds a non-string");
            snap.emulator_args.push_back(arg.get<std::string>());
        }
    }
    snap.has_bzcheck_note = true;
}

// Walks the notes of one PT_NOTE segment; the first QEMU note is the boot CPU.
void parse_notes(ByteView notes, Snapshot& snap, bool& have_cpu) {
    constexpr const char* what = "ELF note header";
    std::uint64_t offset = 0;
    while (notes.contains(offset, NOTE_HEADER_SIZE)) {
        const std::uint64_t name_size = read_field(notes, NOTE_NAMESZ, offset, what);
        const std::uint64_t desc_size = read_field(notes, NOTE_DESCSZ, offset, what);
        const std::uint64_t type = read_field(notes, NOTE_TYPE, offset, what);
        // offset lies in a buffer in memory and the sizes are 32-bit: no sum below wraps.
        const std::uint64_t name_at = offset + NOTE_HEADER_SIZE;
        const std::uint64_t desc_at = name_at + align_up(name_size, NOTE_ALIGN);
        const std::uint64_t next = desc_at + align_up(desc_size, NOTE_ALIGN);
        const auto desc = notes.sub(desc_at, desc_size);
        const auto name_bytes = notes.sub(name_at, name_size);  // inside if desc is
        if (!desc || !name_bytes)
            throw SnapshotError(
                fmt::format("truncated: ELF note at {:#x} of the note segment runs past its end", offset));
        // Names are NUL-terminated; compare without the terminator.
        std::string name(name_bytes->data, name_bytes->data + name_bytes->size);
        name = name.substr(0, name.find('\0'));

        if (name == QEMU_NOTE_NAME && type == QEMU_NOTE_TYPE && !have_cpu) {
            const std::uint64_t efer = snap.cpu.efer;  // the BZCHECK note may come first
            snap.cpu = parse_qemu_cpu_state(*desc);
            snap.cpu.efer = efer;
            have_cpu = true;
        } else if (name == BZCHECK_NOTE_NAME && type == BZCHECK_NOTE_TYPE) {
            parse_bzcheck_note(*desc, snap);
        }
        if (next >= notes.size) break;
        offset = next;
    }
}

Snapshot parse(const SnapshotBytes& file) {
    const auto ehdr_bytes = file.at(0, sizeof(Elf64_Ehdr), "ELF header");
    if (std::memcmp(ehdr_bytes.data, ELFMAG, SELFMAG) != 0) throw SnapshotError("not an ELF file (bad magic)");
    if (ehdr_bytes.data[EI_CLASS] != ELFCLASS64) throw SnapshotError("not an ELF64 file (expected QEMU's 64-bit core)");
    if (ehdr_bytes.data[EI_DATA] != ELFDATA2LSB) throw SnapshotError("not a little-endian ELF file");
    Elf64_Ehdr ehdr;
    std::memcpy(&ehdr, ehdr_bytes.data, sizeof ehdr);
    if (ehdr.e_type != ET_CORE) throw SnapshotError(fmt::format("not a core file (e_type {})", ehdr.e_type));
    if (ehdr.e_machine != EM_X86_64 && ehdr.e_machine != EM_386)
        throw SnapshotError(fmt::format("foreign core: e_machine {} is not x86", ehdr.e_machine));
    if (ehdr.e_phentsize != sizeof(Elf64_Phdr))
        throw SnapshotError(fmt::format("bad program header size {}", ehdr.e_phentsize));

    // With more than 0xfffe segments the count lives in section header 0.
    std::uint64_t phnum = ehdr.e_phnum;
    if (phnum == PN_XNUM) {
        const auto shdr_bytes = file.at(ehdr.e_shoff, sizeof(Elf64_Shdr), "section header 0");
        Elf64_Shdr shdr;
        std::memcpy(&shdr, shdr_bytes.data, sizeof shdr);
        phnum = shdr.sh_info;
    }
    if (phnum > file.size() / sizeof(Elf64_Phdr)) throw SnapshotError("truncated: program header table");
    const auto phdr_bytes = file.at(ehdr.e_phoff, phnum * sizeof(Elf64_Phdr), "program header table");
    std::vector<Elf64_Phdr> phdrs(phnum);
    if (phnum > 0) std::memcpy(phdrs.data(), phdr_bytes.data, phdr_bytes.size);

    Snapshot snap;
    bool have_cpu = false;
    std::uint64_t load_bytes = 0;
    for (const auto& phdr : phdrs) {
        if (phdr.p_type == PT_NOTE) {
            parse_notes(file.at(phdr.p_offset, phdr.p_filesz, "note segment"), snap, have_cpu);
        } else if (phdr.p_type == PT_LOAD && phdr.p_filesz > 0) {
            if (phdr.p_paddr > std::numeric_limits<std::uint64_t>::max() - phdr.p_filesz)
                throw SnapshotError(fmt::format("RAM segment at {:#x} wraps around the address space", phdr.p_paddr));
            load_bytes += phdr.p_filesz;
            if (load_bytes > file.size())
                throw SnapshotError("truncated: RAM segments claim more bytes than the file holds");
        }
    }
    if (!have_cpu) throw SnapshotError("no QEMU CPU-state note (not a QEMU dump-guest-memory core)");
    if (!snap.efer_known && ehdr.e_machine == EM_X86_64) snap.cpu.efer = EFER_LME | EFER_LMA;

    for (const auto& phdr : phdrs) {
        if (phdr.p_type != PT_LOAD || phdr.p_filesz == 0) continue;
        const std::string what = fmt::format("RAM segment at physical {:#x}", phdr.p_paddr);
        snap.ram.push_back(file.ram_range(phdr.p_paddr, phdr.p_offset, phdr.p_filesz, what));
    }
    std::sort(snap.ram.begin(), snap.ram.end(), [](const RamRange& a, const RamRange& b) { return a.phys < b.phys; });
    for (std::size_t i = 1; i < snap.ram.size(); ++i)
        if (snap.ram[i].phys < snap.ram[i - 1].end())
            throw SnapshotError(
                fmt::format("RAM segments at {:#x} and {:#x} overlap", snap.ram[i - 1].phys, snap.ram[i].phys));
    return snap;
}

// --- writing --------------------------------------------------------------------

void append_note(std::vector<std::uint8_t>& out, const char* name, std::uint32_t type,
                 const std::vector<std::uint8_t>& desc) {
    const std::uint32_t name_size = static_cast<std::uint32_t>(std::strlen(name) + 1);
    bzboot::append_le(out, NOTE_NAMESZ.width, name_size);
    bzboot::append_le(out, NOTE_DESCSZ.width, desc.size());
    bzboot::append_le(out, NOTE_TYPE.width, type);
    out.insert(out.end(), name, name + name_size);
    out.resize(align_up(out.size(), NOTE_ALIGN), 0);
    out.insert(out.end(), desc.begin(), desc.end());
    out.resize(align_up(out.size(), NOTE_ALIGN), 0);
}

// NT_PRSTATUS as QEMU writes it: the x86_64 layout in long mode, else the i386 one.
std::vector<std::uint8_t> prstatus_desc(const CpuState& cpu, bool long_mode) {
    constexpr std::uint32_t boot_cpu_pid = 1;  // QEMU numbers CPUs from 1
    if (long_mode) {
        std::vector<std::uint8_t> desc(PRSTATUS64_SIZE, 0);
        bzboot::put(desc, PRSTATUS64_PID, boot_cpu_pid);
        const std::uint64_t regs[] = {
            cpu.r15,         cpu.r14,         cpu.r13,         cpu.r12,     cpu.rbp,     cpu.rbx,
            cpu.r11,         cpu.r10,         cpu.r9,          cpu.r8,      cpu.rax,     cpu.rcx,
            cpu.rdx,         cpu.rsi,         cpu.rdi,         cpu.rax,     cpu.rip,     cpu.cs.selector,
            cpu.rflags,      cpu.rsp,         cpu.ss.selector, cpu.fs.base, cpu.gs.base, cpu.ds.selector,
            cpu.es.selector, cpu.fs.selector, cpu.gs.selector};
        for (std::size_t i = 0; i < std::size(regs); ++i)
            bzboot::write_le(desc, PRSTATUS64_REGS + i * PRSTATUS64_REG_WIDTH, PRSTATUS64_REG_WIDTH, regs[i]);
        return desc;
    }
    std::vector<std::uint8_t> desc(PRSTATUS32_SIZE, 0);
    bzboot::put(desc, PRSTATUS32_PID, boot_cpu_pid);
    const std::uint64_t regs[] = {cpu.rbx, cpu.rcx,         cpu.rdx,         cpu.rsi,         cpu.rdi,         cpu.rbp,
                                  cpu.rax, cpu.ds.selector, cpu.es.selector, cpu.fs.selector, cpu.gs.selector, cpu.rax,
                                  cpu.rip, cpu.cs.selector, cpu.rflags,      cpu.rsp,         cpu.ss.selector};
    for (std::size_t i = 0; i < std::size(regs); ++i)
        bzboot::write_le(desc, PRSTATUS32_REGS + i * PRSTATUS32_REG_WIDTH, PRSTATUS32_REG_WIDTH,
                         regs[i]);  // the low half
    return desc;
}

std::vector<std::uint8_t> qemu_cpu_state_desc(const CpuState& cpu_in) {
    CpuState cpu = cpu_in;
    std::vector<std::uint8_t> desc(QEMU_CPU_STATE_SIZE, 0);
    bzboot::put(desc, QEMU_CPU_VERSION, QEMU_CPU_STATE_VERSION);
    bzboot::put(desc, QEMU_CPU_SIZE, QEMU_CPU_STATE_SIZE);
    const auto put_reg = [&](std::uint64_t offset, std::uint64_t value) {
        bzboot::write_le(desc, offset, QEMU_CPU_REG_WIDTH, value);
    };
    std::uint64_t offset = QEMU_CPU_REGS;
    for (const std::uint64_t* reg : registers_of(cpu)) {
        put_reg(offset, *reg);
        offset += QEMU_CPU_REG_WIDTH;
    }
    offset = QEMU_CPU_SEGMENTS;
    for (const Segment* seg : segments_of(cpu_in)) {
        bzboot::put(desc, QEMU_SEGMENT_SELECTOR, seg->selector, offset);
        bzboot::put(desc, QEMU_SEGMENT_LIMIT, seg->limit, offset);
        bzboot::put(desc, QEMU_SEGMENT_FLAGS, seg->flags, offset);
        bzboot::put(desc, QEMU_SEGMENT_BASE, seg->base, offset);
        offset += QEMU_SEGMENT_SIZE;
    }
    const std::uint64_t crs[] = {cpu.cr0, cpu.cr1, cpu.cr2, cpu.cr3, cpu.cr4};
    for (std::uint64_t i = 0; i < QEMU_CPU_CR_COUNT; ++i) put_reg(QEMU_CPU_CRS + i * QEMU_CPU_REG_WIDTH, crs[i]);
    put_reg(QEMU_CPU_KERNEL_GS_BASE, cpu.kernel_gs_base);
    return desc;
}

std::vector<std::uint8_t> bzcheck_desc(const Snapshot& snap) {
    const nlohmann::json note = {
        {"format", BZCHECK_NOTE_FORMAT},
        {"handoff", static_cast<std::uint32_t>(snap.handoff)},
        {"stop", snap.running_kernel ? "running" : "handoff"},
        {"efer", fmt::format("{:#x}", snap.cpu.efer)},
        {"emulator", snap.emulator},
        {"args", snap.emulator_args},
    };
    const std::string text = note.dump();
    return std::vector<std::uint8_t>(text.begin(), text.end());
}

}  // namespace

// --- Snapshot ---------------------------------------------------------------------

RamRange RamRange::mapped(std::uint64_t phys, bzboot::ByteView window, std::shared_ptr<const void> mapping) {
    RamRange range;
    range.phys = phys;
    range.window_ = window;
    range.mapping_ = std::move(mapping);
    return range;
}

std::vector<std::uint8_t>& RamRange::owned_bytes() {
    if (mapping_) throw std::logic_error("a RAM range mapped from a snapshot file is read-only");
    return owned_;
}

namespace {
// The range holding addr, or ram.end().
std::vector<RamRange>::const_iterator range_holding(const std::vector<RamRange>& ram, std::uint64_t addr) {
    auto it =
        std::upper_bound(ram.begin(), ram.end(), addr, [](std::uint64_t a, const RamRange& r) { return a < r.phys; });
    if (it == ram.begin()) return ram.end();
    --it;
    return addr < it->end() ? it : ram.end();
}
}  // namespace

bool Snapshot::in_ram(std::uint64_t addr, std::uint64_t len) const {
    auto it = range_holding(ram, addr);
    if (it == ram.end()) return false;
    // Follow ranges that continue exactly where the previous one ends.
    std::uint64_t cursor = addr;
    std::uint64_t left = len;
    for (;;) {
        const std::uint64_t here = std::min(left, it->end() - cursor);
        left -= here;
        cursor += here;
        if (left == 0) return true;
        ++it;
        if (it == ram.end() || it->phys != cursor) return false;
    }
}

std::optional<std::vector<std::uint8_t>> Snapshot::read_phys(std::uint64_t addr, std::uint64_t len) const {
    if (!in_ram(addr, len)) return std::nullopt;
    std::vector<std::uint8_t> out;
    out.reserve(len);
    auto it = range_holding(ram, addr);  // in_ram guarantees there is one
    std::uint64_t cursor = addr;
    while (out.size() < len) {
        const std::uint64_t here = std::min<std::uint64_t>(len - out.size(), it->end() - cursor);
        const std::uint8_t* first = it->bytes().data + (cursor - it->phys);
        out.insert(out.end(), first, first + here);
        cursor += here;
        ++it;
    }
    return out;
}

namespace {
template <typename T>
std::optional<T> read_scalar(const Snapshot& snap, std::uint64_t addr) {
    const auto bytes = snap.read_phys(addr, sizeof(T));
    if (!bytes) return std::nullopt;
    const auto value = ByteView(*bytes).read_le(0, sizeof(T));
    if (!value) return std::nullopt;
    return static_cast<T>(*value);
}
}  // namespace

std::optional<std::uint8_t> Snapshot::u8(std::uint64_t addr) const { return read_scalar<std::uint8_t>(*this, addr); }
std::optional<std::uint16_t> Snapshot::u16(std::uint64_t addr) const { return read_scalar<std::uint16_t>(*this, addr); }
std::optional<std::uint32_t> Snapshot::u32(std::uint64_t addr) const { return read_scalar<std::uint32_t>(*this, addr); }
std::optional<std::uint64_t> Snapshot::u64(std::uint64_t addr) const { return read_scalar<std::uint64_t>(*this, addr); }

std::optional<std::string> Snapshot::c_string(std::uint64_t addr, std::uint64_t max_len) const {
    std::string text;
    for (std::uint64_t i = 0; i <= max_len; ++i) {
        if (addr > std::numeric_limits<std::uint64_t>::max() - i) return std::nullopt;
        const auto byte = u8(addr + i);
        if (!byte) return std::nullopt;
        if (*byte == 0) return text;
        text.push_back(static_cast<char>(*byte));
    }
    return std::nullopt;
}

std::uint64_t Snapshot::ram_bytes() const {
    std::uint64_t total = 0;
    for (const auto& range : ram) total += range.size();
    return total;
}

const char* handoff_name(HandoffKind kind) {
    switch (kind) {
        case HandoffKind::real16: return "16-bit";
        case HandoffKind::prot32: return "32-bit";
        case HandoffKind::long64: return "64-bit";
        case HandoffKind::unknown: break;
    }
    return "unknown";
}

// --- entry points -------------------------------------------------------------------

Snapshot parse_snapshot(const std::vector<std::uint8_t>& file) { return parse(MemoryBytes(file)); }

Snapshot read_snapshot(const std::string& path) {
    try {
        return parse(FileBytes(path));
    } catch (const SnapshotError& error) {
        const std::string message = error.what();
        if (message.rfind(path + ":", 0) == 0) throw;
        throw SnapshotError(fmt::format("{}: {}", path, message));
    } catch (const std::bad_alloc&) {
        throw SnapshotError(fmt::format("{}: too large to load", path));
    }
}

namespace {
// The RAM ranges in address order; throws for overlapping ones.
std::vector<const RamRange*> sorted_ranges(const Snapshot& snap) {
    std::vector<const RamRange*> ranges;
    for (const auto& range : snap.ram) ranges.push_back(&range);
    std::sort(ranges.begin(), ranges.end(), [](const RamRange* a, const RamRange* b) { return a->phys < b->phys; });
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i]->phys < ranges[i - 1]->end()) throw SnapshotError("cannot write overlapping RAM ranges");
    return ranges;
}

// The ELF header, program headers and notes: everything before the RAM ranges,
// which follow it back to back in `ranges`' order.
std::vector<std::uint8_t> core_prefix(const Snapshot& snap, const std::vector<const RamRange*>& ranges) {
    const bool long_mode = (snap.cpu.efer & EFER_LMA) != 0;
    std::vector<std::uint8_t> notes;
    append_note(notes, CORE_NOTE_NAME, NT_PRSTATUS, prstatus_desc(snap.cpu, long_mode));
    append_note(notes, QEMU_NOTE_NAME, QEMU_NOTE_TYPE, qemu_cpu_state_desc(snap.cpu));
    append_note(notes, BZCHECK_NOTE_NAME, BZCHECK_NOTE_TYPE, bzcheck_desc(snap));

    const std::uint64_t phnum = 1 + ranges.size();
    if (phnum >= PN_XNUM) throw SnapshotError("too many RAM ranges");
    const std::uint64_t notes_offset = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);

    Elf64_Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_CORE;
    ehdr.e_machine = long_mode ? EM_X86_64 : EM_386;  // as QEMU: EM_X86_64 only in long mode
    ehdr.e_version = EV_CURRENT;
    ehdr.e_phoff = sizeof(Elf64_Ehdr);
    ehdr.e_ehsize = sizeof(Elf64_Ehdr);
    ehdr.e_phentsize = sizeof(Elf64_Phdr);
    ehdr.e_phnum = static_cast<Elf64_Half>(phnum);

    std::vector<Elf64_Phdr> phdrs;
    Elf64_Phdr note_phdr{};
    note_phdr.p_type = PT_NOTE;
    note_phdr.p_offset = notes_offset;
    note_phdr.p_filesz = note_phdr.p_memsz = notes.size();
    phdrs.push_back(note_phdr);
    std::uint64_t data_offset = notes_offset + notes.size();
    for (const RamRange* range : ranges) {
        Elf64_Phdr load{};
        load.p_type = PT_LOAD;
        load.p_offset = data_offset;
        load.p_paddr = range->phys;
        load.p_filesz = load.p_memsz = range->size();
        phdrs.push_back(load);
        data_offset += range->size();
    }

    std::vector<std::uint8_t> prefix(reinterpret_cast<const std::uint8_t*>(&ehdr),
                                     reinterpret_cast<const std::uint8_t*>(&ehdr) + sizeof ehdr);
    const auto* phdr_bytes = reinterpret_cast<const std::uint8_t*>(phdrs.data());
    prefix.insert(prefix.end(), phdr_bytes, phdr_bytes + phdrs.size() * sizeof(Elf64_Phdr));
    prefix.insert(prefix.end(), notes.begin(), notes.end());
    return prefix;
}

// A block of the file written as a hole when it is all zero (a guest's untouched
// RAM): the file reads back the same, and takes only the blocks that hold data.
constexpr std::size_t SPARSE_BLOCK = 4096;

bool all_zero(const std::uint8_t* data, std::size_t size) {
    static const std::uint8_t zeros[SPARSE_BLOCK] = {};
    return size <= SPARSE_BLOCK && std::memcmp(data, zeros, size) == 0;  // memcmp: the fast compare
}

// Writes size bytes at fd's position, whole.
void write_all(int fd, const std::uint8_t* data, std::size_t size, const std::string& path) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) throw SnapshotError(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
        data += written;
        size -= static_cast<std::size_t>(written);
    }
}

// Writes a RAM range at fd's position, its all-zero blocks skipped (holes).
void write_sparse(int fd, ByteView bytes, const std::string& path) {
    for (std::size_t at = 0; at < bytes.size;) {
        const std::size_t block = std::min(SPARSE_BLOCK, bytes.size - at);
        if (all_zero(bytes.data + at, block)) {
            if (::lseek(fd, static_cast<off_t>(block), SEEK_CUR) < 0)
                throw SnapshotError(fmt::format("{}: seek failed: {}", path, std::strerror(errno)));
        } else {
            write_all(fd, bytes.data + at, block, path);
        }
        at += block;
    }
}
}  // namespace

std::vector<std::uint8_t> serialize_snapshot(const Snapshot& snap) {
    const auto ranges = sorted_ranges(snap);
    std::vector<std::uint8_t> out = core_prefix(snap, ranges);
    for (const RamRange* range : ranges) {
        const ByteView bytes = range->bytes();
        out.insert(out.end(), bytes.data, bytes.data + bytes.size);
    }
    return out;
}

void write_snapshot(const std::string& path, const Snapshot& snap) {
    const auto ranges = sorted_ranges(snap);
    const auto prefix = core_prefix(snap, ranges);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw SnapshotError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
    try {
        write_all(fd, prefix.data(), prefix.size(), path);
        off_t end = static_cast<off_t>(prefix.size());
        for (const RamRange* range : ranges) {
            write_sparse(fd, range->bytes(), path);
            end += static_cast<off_t>(range->size());
        }
        // A trailing hole needs the size set: the file ends where the last range does.
        if (::ftruncate(fd, end) != 0)
            throw SnapshotError(fmt::format("{}: cannot set its size: {}", path, std::strerror(errno)));
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) throw SnapshotError(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
}

}  // namespace bzcheck
