// bios_facts.h - the facts of include/bios.inc the harness reads, in bios.h's
// names (namespace bios). The generated build/gen/bios.h is their source, but it
// does not compile yet: cmake/constants.py declares EDD_DAP::size twice (the
// member .size and the struc's size). Until it does, they stand here, and a unit
// test (test_constants.cpp) checks them against NASM's values in
// build/gen/constants.json; then this header becomes `#include "bios.h"`.
#pragma once

#include "field.h"

#include <cstdint>

namespace bios {
inline constexpr std::uint64_t BDA_EBDA_SEG = 0x40E;      // u16 segment of the extended BIOS data area (0: none)
inline constexpr std::uint64_t BDA_BASE_MEM_KIB = 0x413;  // u16 KiB of base memory below the EBDA
namespace E820_ENTRY {
inline constexpr bzboot::Field base{0x0, 8};
inline constexpr bzboot::Field length{0x8, 8};
inline constexpr bzboot::Field type{0x10, 4};
inline constexpr std::uint64_t size = 0x14;
}  // namespace E820_ENTRY
}  // namespace bios
