// boot_code.h - the MBR boot code and stage 2 that bzinstall writes, and the
// parameter blocks it patches into them (diskformat.inc MBR_PARAM_*, S2_PARAM_*).
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"

namespace bzinstall {

using bzboot::Bytes;
using bzboot::ByteView;

struct BootCode {
    Bytes mbr;     // exactly MBR_BOOTCODE_SIZE bytes
    Bytes stage2;  // whole sectors, at most STAGE2_MAX_SECTORS
};

// The copies of build/bin/mbr.bin and stage2.bin compiled into bzinstall.
BootCode embedded_boot_code();

// Throws BrokenBuild saying why `code` is unusable (wrong size, missing magic).
void check_boot_code(const BootCode& code);

std::uint64_t stage2_sectors(const BootCode& code);

// What the boot code is told besides where things are: debug switches for tests.
struct BootCodeFlags {
    bool debug_disk_chs = false;    // MBR and stage 2 read with CHS as if AH=41h said "no extensions"
    bool debug_disk_int13 = false;  // stage 2 reads through INT 13h only: no IDE bus-master DMA
};

// The 440 boot-code bytes with the stage 2 location (and the MBR_FLAG_* byte) filled in.
Bytes patched_mbr_code(const BootCode& code, const BootCodeFlags& flags = {});

// Stage 2 with the payload partition's first sector (and the S2_FLAG_* word) filled in.
Bytes patched_stage2(const BootCode& code, std::uint64_t payload_lba, const BootCodeFlags& flags = {});

}  // namespace bzinstall
