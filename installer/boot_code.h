// boot_code.h - the MBR boot code and stage 2 that bzinstall writes, and the
// parameter blocks it patches into them (diskformat.inc MBR_PARAM_*, S2_PARAM_*).
#pragma once

#include <cstdint>
#include <string>

#include "bytes.h"

namespace bzinstall {

struct BootCode {
    Bytes mbr;     // exactly MBR_BOOTCODE_SIZE bytes
    Bytes stage2;  // whole sectors, at most STAGE2_MAX_SECTORS
};

// The copies of build/bin/mbr.bin and stage2.bin compiled into bzinstall.
BootCode embedded_boot_code();

// Why `code` is unusable (wrong size, missing magic), or "" when it is fine.
std::string check_boot_code(const BootCode& code);

std::uint64_t stage2_sectors(const BootCode& code);

// The 440 boot-code bytes with the stage 2 location filled in.
Bytes patched_mbr_code(const BootCode& code);

// Stage 2 with the payload partition's first sector filled in.
Bytes patched_stage2(const BootCode& code, std::uint64_t payload_lba);

}  // namespace bzinstall
