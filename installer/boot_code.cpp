#include "boot_code.h"

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"

namespace bzinstall {
namespace df = diskformat;
using bzboot::put;

std::uint64_t stage2_sectors(const BootCode& code) { return code.stage2.size() / bootproto::SECTOR_SIZE; }

void check_boot_code(const BootCode& code) {
    if (code.mbr.size() != df::MBR_BOOTCODE_SIZE) {
        throw BrokenBuild(fmt::format("mbr.bin is {} bytes, expected {}", code.mbr.size(), df::MBR_BOOTCODE_SIZE));
    }
    if (ByteView(code.mbr).field(df::MBR_PARAM_MAGIC_OFF) != df::MBR_PARAM_MAGIC) {
        throw BrokenBuild(fmt::format("mbr.bin has no \"BZMB\" parameter block at 0x{:X}", df::MBR_PARAM_MAGIC_OFF));
    }
    const std::uint64_t sectors = stage2_sectors(code);
    if (code.stage2.size() % bootproto::SECTOR_SIZE != 0 || sectors == 0 || sectors > df::STAGE2_MAX_SECTORS) {
        throw BrokenBuild(fmt::format("stage2.bin is {} bytes, expected 1 to {} whole sectors", code.stage2.size(),
                                      df::STAGE2_MAX_SECTORS));
    }
    if (ByteView(code.stage2).field(df::S2_PARAM_MAGIC_OFF) != df::S2_PARAM_MAGIC) {
        throw BrokenBuild(fmt::format("stage2.bin has no \"BZS2\" parameter block at 0x{:X}", df::S2_PARAM_MAGIC_OFF));
    }
}

Bytes patched_mbr_code(const BootCode& code, const BootCodeFlags& flags) {
    Bytes mbr = code.mbr;
    put(mbr, df::MBR_PARAM_STAGE2_LBA, df::STAGE2_LBA);
    put(mbr, df::MBR_PARAM_STAGE2_SECTS, stage2_sectors(code));
    put(mbr, df::MBR_PARAM_FLAGS, flags.debug_disk_chs ? df::MBR_FLAG_DEBUG_CHS : 0);
    return mbr;
}

Bytes patched_stage2(const BootCode& code, std::uint64_t payload_lba, const BootCodeFlags& flags) {
    Bytes stage2 = code.stage2;
    put(stage2, df::S2_PARAM_PAYLOAD_LBA, payload_lba);
    put(stage2, df::S2_PARAM_SECTORS, stage2_sectors(code));
    put(stage2, df::S2_PARAM_FLAGS,
        (flags.debug_disk_chs ? df::S2_FLAG_DEBUG_CHS : 0) | (flags.debug_disk_int13 ? df::S2_FLAG_DEBUG_INT13 : 0));
    return stage2;
}

}  // namespace bzinstall
