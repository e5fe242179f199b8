// test_uapi.cpp - the constants of include/*.inc against the kernel's own UAPI headers
// (<asm/bootparam.h>, <asm/e820.h>, <linux/screen_info.h> from Debian's linux-libc-dev).
//
// Everything here is a static_assert: a wrong offset, width or value in bootproto.inc
// stops this file from compiling, and so `make test`. The one Catch2 case only makes
// the test visible in ctest. Constants the UAPI does not define carry, in
// bootproto.inc, the name of the kernel source file that defines them.
#include <cstddef>

// The UAPI #defines names bootproto.h declares too (LOADED_HIGH, CAN_USE_HEAP, ...):
// take their values into differently named constants, then #undef the macros.
#include <asm/bootparam.h>
#include <asm/e820.h>

namespace uapi {
constexpr unsigned long long loaded_high = LOADED_HIGH;
constexpr unsigned long long kaslr_flag = KASLR_FLAG;
constexpr unsigned long long quiet_flag = QUIET_FLAG;
constexpr unsigned long long keep_segments = KEEP_SEGMENTS;
constexpr unsigned long long can_use_heap = CAN_USE_HEAP;
constexpr unsigned long long xlf_kernel_64 = XLF_KERNEL_64;
constexpr unsigned long long xlf_can_be_loaded_above_4g = XLF_CAN_BE_LOADED_ABOVE_4G;
constexpr unsigned long long e820map = E820MAP;
constexpr unsigned long long e820nr = E820NR;
constexpr unsigned long long e820max = E820MAX;
constexpr unsigned long long e820_max_entries_zeropage = E820_MAX_ENTRIES_ZEROPAGE;
constexpr unsigned long long e820_ram = E820_RAM;
constexpr unsigned long long e820_reserved = E820_RESERVED;
constexpr unsigned long long e820_acpi = E820_ACPI;
constexpr unsigned long long e820_nvs = E820_NVS;
constexpr unsigned long long e820_unusable = E820_UNUSABLE;
}  // namespace uapi
#undef LOADED_HIGH
#undef KASLR_FLAG
#undef QUIET_FLAG
#undef KEEP_SEGMENTS
#undef CAN_USE_HEAP
#undef XLF_KERNEL_64
#undef XLF_CAN_BE_LOADED_ABOVE_4G

#include "bios.h"
#include "bootproto.h"

#include <catch2/catch.hpp>

namespace bp = bootproto;

namespace {
// The offset of a setup_header member in boot_params (and in the kernel file).
#define HDR_OFFSET(member) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, member))
#define HDR_WIDTH(member) sizeof(((struct setup_header*)nullptr)->member)
#define BP_WIDTH(member) sizeof(((struct boot_params*)nullptr)->member)
#define SI_WIDTH(member) sizeof(((struct screen_info*)nullptr)->member)

// A field of bootproto.inc is the member at the same offset with the same width.
#define CHECK_HDR(field, member) \
    static_assert(bp::field.offset == HDR_OFFSET(member) && bp::field.width == HDR_WIDTH(member), #field)
#define CHECK_BP(field, member)                                                                                    \
    static_assert(bp::field.offset == offsetof(struct boot_params, member) && bp::field.width == BP_WIDTH(member), \
                  #field)
#define CHECK_SI(field, member)                                                                                    \
    static_assert(bp::field.offset == offsetof(struct screen_info, member) && bp::field.width == SI_WIDTH(member), \
                  #field)

// --- struct setup_header: every field bootproto.inc declares -----------------
CHECK_HDR(HDR_SETUP_SECTS, setup_sects);
CHECK_HDR(HDR_ROOT_FLAGS, root_flags);
CHECK_HDR(HDR_SYSSIZE, syssize);
CHECK_HDR(HDR_RAM_SIZE, ram_size);
CHECK_HDR(HDR_VID_MODE, vid_mode);
CHECK_HDR(HDR_ROOT_DEV, root_dev);
CHECK_HDR(HDR_BOOT_FLAG, boot_flag);
CHECK_HDR(HDR_JUMP, jump);
CHECK_HDR(HDR_HEADER, header);
CHECK_HDR(HDR_VERSION, version);
CHECK_HDR(HDR_REALMODE_SWTCH, realmode_swtch);
CHECK_HDR(HDR_START_SYS_SEG, start_sys_seg);
CHECK_HDR(HDR_KERNEL_VERSION, kernel_version);
CHECK_HDR(HDR_TYPE_OF_LOADER, type_of_loader);
CHECK_HDR(HDR_LOADFLAGS, loadflags);
CHECK_HDR(HDR_SETUP_MOVE_SIZE, setup_move_size);
CHECK_HDR(HDR_CODE32_START, code32_start);
CHECK_HDR(HDR_RAMDISK_IMAGE, ramdisk_image);
CHECK_HDR(HDR_RAMDISK_SIZE, ramdisk_size);
CHECK_HDR(HDR_BOOTSECT_KLUDGE, bootsect_kludge);
CHECK_HDR(HDR_HEAP_END_PTR, heap_end_ptr);
CHECK_HDR(HDR_EXT_LOADER_VER, ext_loader_ver);
CHECK_HDR(HDR_EXT_LOADER_TYPE, ext_loader_type);
CHECK_HDR(HDR_CMD_LINE_PTR, cmd_line_ptr);
CHECK_HDR(HDR_INITRD_ADDR_MAX, initrd_addr_max);
CHECK_HDR(HDR_KERNEL_ALIGNMENT, kernel_alignment);
CHECK_HDR(HDR_RELOCATABLE_KERNEL, relocatable_kernel);
CHECK_HDR(HDR_MIN_ALIGNMENT, min_alignment);
CHECK_HDR(HDR_XLOADFLAGS, xloadflags);
CHECK_HDR(HDR_CMDLINE_SIZE, cmdline_size);
CHECK_HDR(HDR_HARDWARE_SUBARCH, hardware_subarch);
CHECK_HDR(HDR_HW_SUBARCH_DATA, hardware_subarch_data);
CHECK_HDR(HDR_PAYLOAD_OFFSET, payload_offset);
CHECK_HDR(HDR_PAYLOAD_LENGTH, payload_length);
CHECK_HDR(HDR_SETUP_DATA, setup_data);
CHECK_HDR(HDR_PREF_ADDRESS, pref_address);
CHECK_HDR(HDR_INIT_SIZE, init_size);
CHECK_HDR(HDR_HANDOVER_OFFSET, handover_offset);
CHECK_HDR(HDR_KERNEL_INFO_OFFSET, kernel_info_offset);
static_assert(bp::BP_HDR == offsetof(struct boot_params, hdr), "BP_HDR");
// The header ends where kernel_info_offset ends: nothing bootproto.inc reads lies beyond.
static_assert(bp::HDR_KERNEL_INFO_OFFSET.end() == offsetof(struct boot_params, hdr) + sizeof(struct setup_header),
              "the setup header's end");

// --- struct boot_params --------------------------------------------------------
static_assert(bp::BP_SIZE == sizeof(struct boot_params), "BP_SIZE");
static_assert(bp::BP_SCREEN_INFO == offsetof(struct boot_params, screen_info), "BP_SCREEN_INFO");
CHECK_BP(BP_ACPI_RSDP_ADDR, acpi_rsdp_addr);
CHECK_BP(BP_EXT_RAMDISK_IMAGE, ext_ramdisk_image);
CHECK_BP(BP_EXT_RAMDISK_SIZE, ext_ramdisk_size);
CHECK_BP(BP_EXT_CMD_LINE_PTR, ext_cmd_line_ptr);
CHECK_BP(BP_E820_ENTRIES, e820_entries);
CHECK_BP(BP_SENTINEL, sentinel);
static_assert(bp::BP_E820_TABLE == offsetof(struct boot_params, e820_table), "BP_E820_TABLE");
static_assert(bp::BP_E820_TABLE == uapi::e820map, "E820MAP");
static_assert(bp::BP_E820_ENTRIES == uapi::e820nr, "E820NR");
static_assert(bp::E820_MAX_ENTRIES_ZP == uapi::e820max, "E820MAX");
static_assert(bp::E820_MAX_ENTRIES_ZP == uapi::e820_max_entries_zeropage, "E820_MAX_ENTRIES_ZEROPAGE");
static_assert(bp::E820_ENTRY_SIZE == sizeof(struct boot_e820_entry), "E820_ENTRY_SIZE");
CHECK_BP(BP_EFI_LOADER_SIGNATURE, efi_info.efi_loader_signature);

// --- struct boot_e820_entry: bios.inc's E820_ENTRY, as the BIOS and boot_params hold it ---
#define E820_WIDTH(member) sizeof(((struct boot_e820_entry*)nullptr)->member)
#define CHECK_E820(field, member)                                                               \
    static_assert(bios::E820_ENTRY::field.offset == offsetof(struct boot_e820_entry, member) && \
                      bios::E820_ENTRY::field.width == E820_WIDTH(member),                      \
                  "E820_ENTRY." #field)
CHECK_E820(base, addr);
CHECK_E820(length, size);
CHECK_E820(type, type);
static_assert(bios::E820_ENTRY_size == sizeof(struct boot_e820_entry), "E820_ENTRY_size");

// --- flags and E820 types -----------------------------------------------------------
#define SAME_VALUE(ours, kernel) static_assert(bp::ours == uapi::kernel, #ours)
SAME_VALUE(LOADED_HIGH, loaded_high);
SAME_VALUE(KASLR_FLAG, kaslr_flag);
SAME_VALUE(QUIET_FLAG, quiet_flag);
SAME_VALUE(KEEP_SEGMENTS, keep_segments);
SAME_VALUE(CAN_USE_HEAP, can_use_heap);
SAME_VALUE(XLF_KERNEL_64, xlf_kernel_64);
SAME_VALUE(XLF_CAN_BE_LOADED_ABOVE_4G, xlf_can_be_loaded_above_4g);
SAME_VALUE(E820_TYPE_RAM, e820_ram);
SAME_VALUE(E820_TYPE_RESERVED, e820_reserved);
SAME_VALUE(E820_TYPE_ACPI, e820_acpi);
SAME_VALUE(E820_TYPE_NVS, e820_nvs);
SAME_VALUE(E820_TYPE_UNUSABLE, e820_unusable);

// --- struct screen_info ----------------------------------------------------------------
CHECK_SI(SI_ORIG_X, orig_x);
CHECK_SI(SI_ORIG_Y, orig_y);
CHECK_SI(SI_ORIG_VIDEO_PAGE, orig_video_page);
CHECK_SI(SI_ORIG_VIDEO_MODE, orig_video_mode);
CHECK_SI(SI_ORIG_VIDEO_COLS, orig_video_cols);
CHECK_SI(SI_ORIG_VIDEO_EGA_BX, orig_video_ega_bx);
CHECK_SI(SI_ORIG_VIDEO_LINES, orig_video_lines);
CHECK_SI(SI_ORIG_VIDEO_ISVGA, orig_video_isVGA);
CHECK_SI(SI_ORIG_VIDEO_POINTS, orig_video_points);
}  // namespace

TEST_CASE("bootproto.inc agrees with the kernel's UAPI headers (checked when this file compiles)") {
    // The checks are the static_asserts above; this only reports that they held.
    CHECK(bp::BP_SIZE == sizeof(struct boot_params));
    CHECK(bp::HDR_CMD_LINE_PTR.offset == HDR_OFFSET(cmd_line_ptr));
}
