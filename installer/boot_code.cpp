#include "boot_code.h"

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"

namespace bzinstall {
namespace df = diskformat;

std::uint64_t stage2_sectors(const BootCode& code) {
    return code.stage2.size() / bootproto::SECTOR_SIZE;
}

std::string check_boot_code(const BootCode& code) {
    if (code.mbr.size() != df::MBR_BOOTCODE_SIZE) {
        return fmt::format("mbr.bin is {} bytes, expected {}", code.mbr.size(), df::MBR_BOOTCODE_SIZE);
    }
    if (ByteView(code.mbr).u32(df::MBR_PARAM_MAGIC_OFF) != df::MBR_PARAM_MAGIC) {
        return fmt::format("mbr.bin has no \"BZMB\" parameter block at 0x{:X}", df::MBR_PARAM_MAGIC_OFF);
    }
    const std::uint64_t sectors = stage2_sectors(code);
    if (code.stage2.size() % bootproto::SECTOR_SIZE != 0 || sectors == 0 ||
        sectors > df::STAGE2_MAX_SECTORS) {
        return fmt::format("stage2.bin is {} bytes, expected 1 to {} whole sectors", code.stage2.size(),
                           df::STAGE2_MAX_SECTORS);
    }
    if (ByteView(code.stage2).u32(df::S2_PARAM_MAGIC_OFF) != df::S2_PARAM_MAGIC) {
        return fmt::format("stage2.bin has no \"BZS2\" parameter block at 0x{:X}", df::S2_PARAM_MAGIC_OFF);
    }
    return "";
}

Bytes patched_mbr_code(const BootCode& code, const BootCodeFlags& flags) {
    Bytes mbr = code.mbr;
    put_u32(mbr, df::MBR_PARAM_STAGE2_LBA, df::STAGE2_LBA);
    put_u16(mbr, df::MBR_PARAM_STAGE2_SECTS, stage2_sectors(code));
    put_u8(mbr, df::MBR_PARAM_FLAGS, flags.debug_disk_chs ? df::MBR_FLAG_DEBUG_CHS : 0);
    return mbr;
}

Bytes patched_stage2(const BootCode& code, std::uint64_t payload_lba, const BootCodeFlags& flags) {
    Bytes stage2 = code.stage2;
    put_u32(stage2, df::S2_PARAM_PAYLOAD_LBA, payload_lba);
    put_u16(stage2, df::S2_PARAM_SECTORS, stage2_sectors(code));
    put_u16(stage2, df::S2_PARAM_FLAGS, flags.debug_disk_chs ? df::S2_FLAG_DEBUG_CHS : 0);
    return stage2;
}

}  // namespace bzinstall
