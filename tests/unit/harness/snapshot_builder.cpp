// snapshot_builder.cpp - see snapshot_builder.h.
#include "snapshot_builder.h"

#include "bios.h"
#include "bootproto.h"
#include "common/bytes.h"
#include "common/testing/fake_kernel.h"

#include <fmt/format.h>

#include <stdexcept>

namespace bzcheck::testing {
namespace bp = bootproto;

namespace {
constexpr std::uint16_t HEAP_END_PTR = 0xFE00;
constexpr std::uint64_t FLAT_LIMIT = 0xffffffff;
constexpr std::uint32_t SEG_S = 1u << 12;  // code/data (not system) descriptor
constexpr std::uint32_t CODE_FLAGS = SEG_CODE | SEG_READ_WRITE | SEG_PRESENT | SEG_S;
constexpr std::uint32_t DATA_FLAGS = SEG_READ_WRITE | SEG_PRESENT | SEG_S;
constexpr std::uint64_t PTE_P_RW = 0x3;
constexpr std::uint64_t PTE_PS = 0x80;
constexpr std::uint64_t RFLAGS_RESERVED = 0x2;

using bzboot::put;  // a field of the includes, by its declared width

// The loader's share of the setup header: what a correct loader writes.
void write_loader_fields(std::vector<std::uint8_t>& hdr, std::uint64_t cmdline, bool heap) {
    put(hdr, bp::HDR_TYPE_OF_LOADER, bp::TYPE_OF_LOADER_UNDEF);
    put(hdr, bp::HDR_LOADFLAGS, bp::LOADED_HIGH | (heap ? bp::CAN_USE_HEAP : 0));
    put(hdr, bp::HDR_HEAP_END_PTR, heap ? HEAP_END_PTR : 0);
    put(hdr, bp::HDR_CMD_LINE_PTR, cmdline);
    put(hdr, bp::HDR_RAMDISK_IMAGE, INITRD_ADDR);
    put(hdr, bp::HDR_RAMDISK_SIZE, INITRD_SIZE);
    put(hdr, bp::HDR_VID_MODE, bp::VID_MODE_NORMAL);
}

void place_common(Snapshot& snap, const VerifyInputs& in) {
    const auto& k = in.kernel.bytes;
    poke(snap, KERNEL_LOAD,
         std::vector<std::uint8_t>(k.begin() + static_cast<std::ptrdiff_t>(in.kernel.setup_size), k.end()));
    poke(snap, INITRD_ADDR, *in.initrd);
}

// An ACPI 2.0 RSDP: "RSD PTR ", checksum, OEM id, revision 2, RSDT address,
// length 36, XSDT address, extended checksum.
std::vector<std::uint8_t> make_rsdp() {
    constexpr std::size_t V1 = 20, V2 = 36, CHECKSUM = 8, OEM_ID = 9, REVISION = 15, LENGTH = 20, EXT_CHECKSUM = 32;
    std::vector<std::uint8_t> rsdp(V2, 0);
    const std::string signature = "RSD PTR ", oem = "BZBOOT";
    std::copy(signature.begin(), signature.end(), rsdp.begin());
    std::copy(oem.begin(), oem.end(), rsdp.begin() + OEM_ID);
    rsdp[REVISION] = 2;
    bzboot::put_u32(rsdp, LENGTH, V2);
    const auto sum = [&](std::size_t n) {
        std::uint8_t s = 0;
        for (std::size_t i = 0; i < n; ++i) s = std::uint8_t(s + rsdp[i]);
        return std::uint8_t(-s);
    };
    rsdp[CHECKSUM] = sum(V1);
    rsdp[EXT_CHECKSUM] = sum(V2);
    return rsdp;
}

// boot_params for the 32/64-bit entries: zeroed, header copied, loader
// fields, E820 table matching empty_machine()'s RAM.
void place_boot_params(Snapshot& snap, const VerifyInputs& in) {
    std::vector<std::uint8_t> zero_page(bp::BP_SIZE, 0);
    std::copy(in.kernel.bytes.begin() + bp::BP_HDR,
              in.kernel.bytes.begin() + static_cast<std::ptrdiff_t>(in.kernel.header_end),
              zero_page.begin() + bp::BP_HDR);
    write_loader_fields(zero_page, CMDLINE_32_64, false);
    put(zero_page, bp::HDR_CODE32_START, KERNEL_LOAD);
    const std::uint64_t e820[][3] = {{0, BASE_MEMORY_KIB * 1024, bp::E820_TYPE_RAM},
                                     {0xF0000, 0x10000, bp::E820_TYPE_RESERVED},
                                     {0x100000, RAM_TOP - 0x100000, bp::E820_TYPE_RAM}};
    put(zero_page, bp::BP_E820_ENTRIES, std::size(e820));
    for (std::size_t i = 0; i < std::size(e820); ++i) {
        const std::uint64_t at = bp::BP_E820_TABLE + i * bios::E820_ENTRY_size;
        put(zero_page, bios::E820_ENTRY::base, e820[i][0], at);
        put(zero_page, bios::E820_ENTRY::length, e820[i][1], at);
        put(zero_page, bios::E820_ENTRY::type, e820[i][2], at);
    }
    put(zero_page, bp::BP_ACPI_RSDP_ADDR, RSDP_ADDR);
    poke(snap, BOOT_PARAMS, zero_page);
    poke(snap, RSDP_ADDR, make_rsdp());
    poke_string(snap, CMDLINE_32_64, *in.cmdline);
    place_common(snap, in);
}

Segment flat(std::uint32_t selector, std::uint32_t flags) { return Segment{selector, FLAT_LIMIT, flags, 0}; }
}  // namespace

bzboot::testing::FakeKernel fake_kernel() {
    bzboot::testing::FakeKernel k;  // bzinstall's tests' kernel, with the sizes and places above
    k.setup_sects = KERNEL_SETUP_SECTS;
    k.protected_mode_bytes = KERNEL_PAYLOAD_SIZE;
    k.code32_start = KERNEL_LOAD;
    k.pref_address = KERNEL_PREF_ADDRESS;
    k.init_size = KERNEL_INIT_SIZE;
    return k;
}

std::vector<std::uint8_t> make_initrd_file() {
    std::vector<std::uint8_t> initrd(INITRD_SIZE);
    for (std::size_t i = 0; i < initrd.size(); ++i) initrd[i] = static_cast<std::uint8_t>(i * 13 + 1);
    return initrd;
}

VerifyInputs make_inputs() {
    VerifyInputs in;
    in.kernel = parse_kernel(fake_kernel().bytes());
    in.initrd = make_initrd_file();
    in.cmdline = CMDLINE;
    return in;
}

const VerifyInputs& inputs() {
    static const VerifyInputs in = make_inputs();
    return in;
}

Snapshot empty_machine() {
    Snapshot snap;
    snap.ram.push_back(RamRange{0, std::vector<std::uint8_t>(LOW_RAM_TOP, 0)});
    snap.ram.push_back(RamRange{0x100000, std::vector<std::uint8_t>(RAM_TOP - 0x100000, 0)});
    poke16(snap, bios::BDA_BASE_MEM_KIB, BASE_MEMORY_KIB);
    poke16(snap, bios::BDA_EBDA_SEG, EBDA_SEGMENT);
    snap.has_bzcheck_note = true;
    snap.efer_known = true;
    snap.emulator = "synthetic";
    return snap;
}

Snapshot make_handoff16(const VerifyInputs& in) {
    Snapshot snap = empty_machine();
    snap.handoff = HandoffKind::real16;
    std::vector<std::uint8_t> setup(in.kernel.bytes.begin(),
                                    in.kernel.bytes.begin() + static_cast<std::ptrdiff_t>(in.kernel.setup_size));
    const std::uint64_t cmdline = SETUP_X + bp::SETUP_CMDLINE_OFFSET;
    write_loader_fields(setup, cmdline, true);
    poke(snap, SETUP_X, setup);
    poke_string(snap, cmdline, *in.cmdline);
    place_common(snap, in);

    CpuState& cpu = snap.cpu;
    const std::uint32_t seg = SETUP_X >> 4;
    cpu.cs = Segment{seg + (bp::SETUP_ENTRY_OFFSET >> 4), 0xffff, CODE_FLAGS, SETUP_X + bp::SETUP_ENTRY_OFFSET};
    cpu.ds = cpu.es = cpu.ss = cpu.fs = cpu.gs = Segment{seg, 0xffff, DATA_FLAGS, SETUP_X};
    cpu.rip = 0;
    cpu.rsp = HEAP_END_PTR;
    cpu.rflags = RFLAGS_RESERVED;
    cpu.cr0 = 0x10;  // ET only: real mode
    return snap;
}

Snapshot make_handoff32(const VerifyInputs& in) {
    Snapshot snap = empty_machine();
    snap.handoff = HandoffKind::prot32;
    place_boot_params(snap, in);
    CpuState& cpu = snap.cpu;
    cpu.cs = flat(bp::BOOT_CS, CODE_FLAGS | SEG_DB);
    cpu.ds = cpu.es = cpu.ss = flat(bp::BOOT_DS, DATA_FLAGS | SEG_DB);
    cpu.rsi = BOOT_PARAMS;
    cpu.rip = KERNEL_LOAD;
    cpu.rflags = RFLAGS_RESERVED;
    cpu.cr0 = CR0_PE | 0x10;
    return snap;
}

Snapshot make_handoff64(const VerifyInputs& in, bool la57) {
    Snapshot snap = empty_machine();
    snap.handoff = HandoffKind::long64;
    place_boot_params(snap, in);
    // Identity map of the first GiB with 2 MiB pages: PML4 -> PDPT -> PD.
    const std::uint64_t pdpt = PML4_ADDR + PAGE_4K, pd = PML4_ADDR + 2 * PAGE_4K;
    poke64(snap, PML4_ADDR, pdpt | PTE_P_RW);
    poke64(snap, pdpt, pd | PTE_P_RW);
    for (std::uint64_t i = 0; i < 512; ++i) poke64(snap, pd + i * 8, (i * PAGE_2M) | PTE_P_RW | PTE_PS);
    if (la57) poke64(snap, PML5_ADDR, PML4_ADDR | PTE_P_RW);

    CpuState& cpu = snap.cpu;
    cpu.cs = flat(bp::BOOT_CS, CODE_FLAGS | SEG_LONG);
    cpu.ds = cpu.es = cpu.ss = flat(bp::BOOT_DS, DATA_FLAGS | SEG_DB);
    cpu.rsi = BOOT_PARAMS;
    cpu.rip = KERNEL_LOAD + bp::ENTRY_64_OFFSET;
    cpu.rflags = RFLAGS_RESERVED;
    cpu.cr0 = CR0_PE | CR0_PG | 0x10;
    cpu.cr3 = la57 ? PML5_ADDR : PML4_ADDR;
    cpu.cr4 = CR4_PAE | (la57 ? CR4_LA57 : 0);
    cpu.efer = EFER_LME | EFER_LMA;
    return snap;
}

void poke(Snapshot& snap, std::uint64_t addr, const std::vector<std::uint8_t>& bytes) {
    for (auto& range : snap.ram) {
        if (addr >= range.phys && addr + bytes.size() <= range.end()) {
            std::copy(bytes.begin(), bytes.end(),
                      range.owned_bytes().begin() + static_cast<std::ptrdiff_t>(addr - range.phys));
            return;
        }
    }
    throw std::logic_error("poke outside the synthetic RAM");
}
void poke8(Snapshot& snap, std::uint64_t addr, std::uint8_t value) { poke(snap, addr, {value}); }
namespace {
// `value` as `width` little-endian bytes at addr.
void poke_le(Snapshot& snap, std::uint64_t addr, unsigned width, std::uint64_t value) {
    bzboot::Bytes b;
    bzboot::append_le(b, width, value);
    poke(snap, addr, b);
}
}  // namespace
void poke16(Snapshot& snap, std::uint64_t addr, std::uint16_t value) { poke_le(snap, addr, 2, value); }
void poke32(Snapshot& snap, std::uint64_t addr, std::uint32_t value) { poke_le(snap, addr, 4, value); }
void poke64(Snapshot& snap, std::uint64_t addr, std::uint64_t value) { poke_le(snap, addr, 8, value); }
void poke_string(Snapshot& snap, std::uint64_t addr, const std::string& text) {
    std::vector<std::uint8_t> b(text.begin(), text.end());
    b.push_back(0);
    poke(snap, addr, b);
}

RuleResult rule_result(const std::string& id, const Snapshot& snap, const VerifyInputs& in) {
    return check_rule(id, analyse(snap, in));
}
Status rule_status(const std::string& id, const Snapshot& snap, const VerifyInputs& in) {
    return rule_result(id, snap, in).status;
}

Snapshot relocated16(const VerifyInputs& in, std::uint64_t x, std::uint16_t heap_end_ptr, std::uint32_t cmdline,
                     std::uint16_t sp) {
    Snapshot snap = make_handoff16(in);
    const auto setup = snap.read_phys(SETUP_X, in.kernel.setup_size);
    if (!setup) throw std::logic_error("the 16-bit hand-off has no setup at SETUP_X");
    poke(snap, x, *setup);
    poke16(snap, x + bp::HDR_HEAP_END_PTR, heap_end_ptr);
    poke32(snap, x + bp::HDR_CMD_LINE_PTR, cmdline);
    poke_string(snap, cmdline, CMDLINE);
    CpuState& cpu = snap.cpu;
    const auto seg = static_cast<std::uint32_t>(x >> 4);
    cpu.cs.selector = seg + (bp::SETUP_ENTRY_OFFSET >> 4);
    cpu.cs.base = x + bp::SETUP_ENTRY_OFFSET;
    for (Segment* s : {&cpu.ds, &cpu.es, &cpu.ss, &cpu.fs, &cpu.gs}) s->selector = seg, s->base = x;
    cpu.rsp = sp;
    return snap;
}

Snapshot grub_linux16(const VerifyInputs& in, std::uint16_t heap_end_ptr) {
    return relocated16(in, GRUB_X, heap_end_ptr, GRUB_CMDLINE, GRUB_SP);
}

// --- the miniature running kernel ----------------------------------------------------

namespace {
constexpr std::uint64_t MINI_TABLES = MINI_PML4 + 2 * PAGE_4K;  // after the PML4 and its PTI user copy's place
constexpr std::uint64_t MINI_TABLES_END = 0x90000;
constexpr std::uint64_t KERNEL_TEXT_MAP = 0xffffffff80000000;
constexpr std::uint64_t USER_HALF_END = 0x0000800000000000;
// Physical places of the miniature kernel's objects.
constexpr std::uint64_t MINI_RODATA_PHYS = MINI_IMAGE_PHYS + 0x200000, MINI_DATA_PHYS = MINI_IMAGE_PHYS + 0x400000;
constexpr std::uint64_t MINI_E820_PHYS = MINI_DATA_PHYS + 0x1000, MINI_CMDLINE_PHYS = MINI_DATA_PHYS + 0x2000;
constexpr std::uint64_t MINI_TRAMPOLINE = 0x98000, MINI_TRAMPOLINE_TEXT = 0x99000, MINI_TRAMPOLINE_RO_END = 0x9a800;
constexpr std::uint64_t MINI_TRAMPOLINE_END = MINI_TRAMPOLINE + 0x7000;
// Each variable's offset in the data section (the System.map below says the same).
constexpr std::uint64_t VAR_PAGE_OFFSET = 0x00, VAR_VMALLOC = 0x08, VAR_VMEMMAP = 0x10, VAR_PHYS_BASE = 0x18,
                        VAR_MAX_PFN = 0x20, VAR_E820 = 0x28, VAR_REAL_MODE = 0x30, VAR_CMDLINE = 0x38, VAR_L5 = 0x40;
constexpr std::uint64_t PAGE_TABLE_FLAGS = PTE_P | PTE_RW;

std::uint64_t table_entry(Snapshot& snap, std::uint64_t table, std::uint64_t index) {
    return snap.u64(table + index * 8).value_or(0);
}
}  // namespace

void map_page(MiniKernel& k, std::uint64_t virt, std::uint64_t phys, std::uint64_t flags) {
    const bool large = flags & PTE_LARGE;
    // A user page needs US at every level (the vsyscall page: set_vsyscall_pgtable_user_bits()).
    const std::uint64_t user = virt < USER_HALF_END || (flags & PTE_US) ? PTE_US : 0;
    std::uint64_t table = k.snap.cpu.cr3 & ~0xfffull;
    for (int shift = 39; shift > (large ? 21 : 12); shift -= 9) {
        const std::uint64_t index = (virt >> shift) & 511;
        std::uint64_t entry = table_entry(k.snap, table, index);
        if (!(entry & PTE_P)) {
            if (k.next_table >= MINI_TABLES_END) throw std::logic_error("the miniature kernel ran out of table pages");
            entry = k.next_table | PAGE_TABLE_FLAGS | user;
            k.next_table += PAGE_4K;
            poke64(k.snap, table + index * 8, entry);
        } else if (user && !(entry & PTE_US)) {
            entry |= PTE_US;
            poke64(k.snap, table + index * 8, entry);
        }
        table = entry & 0x000ffffffffff000ull;
    }
    poke64(k.snap, table + ((virt >> (large ? 21 : 12)) & 511) * 8, phys | flags);
}

MiniKernel make_mini_kernel() {
    MiniKernel k;
    k.snap = empty_machine();
    k.snap.running_kernel = true;
    k.next_table = MINI_TABLES;
    CpuState& cpu = k.snap.cpu;
    cpu.cs = flat(0x10, CODE_FLAGS | SEG_LONG);  // __KERNEL_CS
    cpu.ss = flat(0x18, DATA_FLAGS);
    cpu.rip = MINI_TEXT + 0x1234;
    cpu.rflags = RFLAGS_RESERVED | RFLAGS_IF;
    cpu.cr0 = CR0_PE | CR0_PG | 0x10 | (1u << 16);  // ET, WP
    cpu.cr3 = MINI_PML4;
    cpu.cr4 = CR4_PAE | (1u << 7);  // PGE
    cpu.efer = EFER_LME | EFER_LMA | EFER_NXE;

    const std::uint64_t G = PTE_G, NX = PTE_NX, P = PTE_P, RW = PTE_RW, PS = PTE_LARGE;
    // The kernel image: text RO+x, rodata RO, data RW, each one 2 MiB page.
    map_page(k, MINI_TEXT, MINI_IMAGE_PHYS, P | G | PS);
    map_page(k, MINI_RODATA, MINI_RODATA_PHYS, P | G | NX | PS);
    map_page(k, MINI_DATA, MINI_DATA_PHYS, P | RW | G | NX | PS);
    // The direct map of all RAM; the real-mode trampoline as set_real_mode_permissions() leaves it.
    for (std::uint64_t phys = 0; phys < LOW_RAM_TOP; phys += PAGE_4K) {
        std::uint64_t flags = P | RW | G | NX;
        if (phys >= MINI_TRAMPOLINE && phys < MINI_TRAMPOLINE_RO_END) flags &= ~RW;
        if (phys >= MINI_TRAMPOLINE_TEXT && phys < MINI_TRAMPOLINE_RO_END) flags &= ~NX;
        map_page(k, MINI_PAGE_OFFSET + phys, phys, flags);
    }
    for (std::uint64_t phys = 0x100000; phys < PAGE_2M; phys += PAGE_4K)
        map_page(k, MINI_PAGE_OFFSET + phys, phys, P | RW | G | NX);
    for (std::uint64_t phys = PAGE_2M; phys < RAM_TOP; phys += PAGE_2M) {
        const bool image_alias = phys >= MINI_IMAGE_PHYS && phys < MINI_DATA_PHYS;  // text and rodata: RO
        map_page(k, MINI_PAGE_OFFSET + phys, phys, P | G | NX | PS | (image_alias ? 0 : RW));
    }
    map_page(k, MINI_VMALLOC, 0x1800000, P | RW | G | NX);
    map_page(k, MINI_VMEMMAP, 0x1a00000, P | RW | G | NX | PS);
    map_page(k, 0xfffffe0000000000, 0x1c00000, P | G | NX);        // cpu_entry_area: the IDT
    map_page(k, 0xffffffffc0000000, 0x1c01000, P | G);             // a module's text
    map_page(k, 0xffffffffff5fc000, 0xfec00000, P | RW | G | NX | 0x18);  // fixmap: the IO-APIC, PWT|PCD
    map_page(k, 0x400000, 0x1c02000, P | PTE_US);                  // the current process's text

    // The kernel's variables, and what they point at (through the direct map).
    const auto var = [&](std::uint64_t offset, std::uint64_t value) { poke64(k.snap, MINI_DATA_PHYS + offset, value); };
    var(VAR_PAGE_OFFSET, MINI_PAGE_OFFSET);
    var(VAR_VMALLOC, MINI_VMALLOC);
    var(VAR_VMEMMAP, MINI_VMEMMAP);
    var(VAR_PHYS_BASE, MINI_IMAGE_PHYS - (MINI_TEXT - KERNEL_TEXT_MAP));  // negative: the image moved down
    var(VAR_MAX_PFN, RAM_TOP / PAGE_4K);
    var(VAR_E820, MINI_PAGE_OFFSET + MINI_E820_PHYS);
    var(VAR_REAL_MODE, MINI_PAGE_OFFSET + MINI_TRAMPOLINE);
    var(VAR_CMDLINE, MINI_PAGE_OFFSET + MINI_CMDLINE_PHYS);
    poke32(k.snap, MINI_DATA_PHYS + VAR_L5, 0);
    const std::uint64_t e820[][3] = {
        {0, PAGE_4K, 2}, {PAGE_4K, BASE_MEMORY_KIB * 1024 - PAGE_4K, 1}, {0x100000, RAM_TOP - 0x100000, 1}};
    poke32(k.snap, MINI_E820_PHYS, static_cast<std::uint32_t>(std::size(e820)));
    for (std::size_t i = 0; i < std::size(e820); ++i) {
        poke64(k.snap, MINI_E820_PHYS + 4 + i * 20, e820[i][0]);
        poke64(k.snap, MINI_E820_PHYS + 12 + i * 20, e820[i][1]);
        poke32(k.snap, MINI_E820_PHYS + 20 + i * 20, static_cast<std::uint32_t>(e820[i][2]));
    }
    poke32(k.snap, MINI_TRAMPOLINE, static_cast<std::uint32_t>(MINI_TRAMPOLINE_TEXT));  // real_mode_header
    poke32(k.snap, MINI_TRAMPOLINE + 4, static_cast<std::uint32_t>(MINI_TRAMPOLINE_RO_END));
    poke_string(k.snap, MINI_CMDLINE_PHYS, "console=ttyS0 bzboot.hold");
    poke_string(k.snap, MINI_RODATA_PHYS + 0x100, MINI_BANNER);

    const std::uint64_t data = MINI_TEXT_LINK + 0x400000;
    const std::pair<std::uint64_t, const char*> symbols[] = {
        {MINI_TEXT_LINK, "T _text"},
        {MINI_TEXT_LINK + 0x1fff00, "T _etext"},
        {MINI_TEXT_LINK + 0x200000, "D __start_rodata"},
        {MINI_TEXT_LINK + 0x200100, "D linux_banner"},
        {MINI_TEXT_LINK + 0x400000, "D __end_rodata"},
        {data, "D _sdata"},
        {data + VAR_PAGE_OFFSET, "D page_offset_base"},
        {data + VAR_VMALLOC, "D vmalloc_base"},
        {data + VAR_VMEMMAP, "D vmemmap_base"},
        {data + VAR_PHYS_BASE, "D phys_base"},
        {data + VAR_MAX_PFN, "B max_pfn"},
        {data + VAR_E820, "D e820_table"},
        {data + VAR_REAL_MODE, "B real_mode_header"},
        {data + VAR_CMDLINE, "B saved_command_line"},
        {data + VAR_L5, "D __pgtable_l5_enabled"},
        {data + 0x100000, "D real_mode_blob"},
        {data + 0x100000 + (MINI_TRAMPOLINE_END - MINI_TRAMPOLINE) - 0x10, "D real_mode_blob_end"},
        {MINI_TEXT_LINK + 0x600000, "B _end"},
    };
    for (const auto& [address, rest] : symbols) k.system_map += fmt::format("{:016x} {}\n", address, rest);
    k.config =
        "# Linux/x86 6.1.0 Kernel Configuration\n"
        "CONFIG_RANDOMIZE_BASE=y\nCONFIG_RANDOMIZE_MEMORY=y\nCONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING=0xa\n"
        "CONFIG_PHYSICAL_ALIGN=0x200000\nCONFIG_MODIFY_LDT_SYSCALL=y\n# CONFIG_X86_16BIT is not set\n"
        "CONFIG_LEGACY_VSYSCALL_NONE=y\nCONFIG_STRICT_KERNEL_RWX=y\n# CONFIG_KASAN is not set\n"
        "# CONFIG_KFENCE is not set\n";
    return k;
}

}  // namespace bzcheck::testing
