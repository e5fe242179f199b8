// The boot code compiled into bzinstall: the generated mbr_bin.cpp and stage2_bin.cpp
// hold the bytes of build/bin/mbr.bin and stage2.bin (see CMakeLists.txt).
#include "boot_code.h"

extern const unsigned char bz_mbr_bin[];
extern const std::size_t bz_mbr_bin_size;
extern const unsigned char bz_stage2_bin[];
extern const std::size_t bz_stage2_bin_size;

namespace bzinstall {

BootCode embedded_boot_code() {
    return BootCode{Bytes(bz_mbr_bin, bz_mbr_bin + bz_mbr_bin_size),
                    Bytes(bz_stage2_bin, bz_stage2_bin + bz_stage2_bin_size)};
}

}  // namespace bzinstall
