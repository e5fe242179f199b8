// placement_map.h - `bzcheck verify --map`: the placement at the hand-off as a
// plain-text picture, in the style of boot.rst's "Memory Layout of The
// Real-Mode Code".
//
// Two ladders, "low megabyte" and "above 1 MiB", highest address on top. The
// starts and ends of everything placed (setup and stack/heap or boot_params,
// command line, kernel, initrd, page tables in RAM) and of the BIOS areas (IVT and
// BDA, EBDA, VGA memory, ROMs) cut memory into pieces; each piece is one box
// naming what lies there ("a + b" where objects overlap, "(free, N KiB)" where
// nothing does) and its size, between two boundary lines that carry the
// addresses. The kernel's init_size windows show where no object lies. Points
// (SS:SP, a heap end inside the setup) annotate a boundary or get a dotted line.
//
// Every rule that complains (any status but PASS and N/A) marks "<-- R05 FAIL"
// on the piece each of its addresses lies in and on a point at that address;
// an address that closes an object another of its addresses lies in is that
// object's end and marks nothing more; one in free memory marks the object
// ending there, else gets a line of its own.
#pragma once

#include "handoff.h"
#include "rules.h"

#include <string>
#include <vector>

namespace bzcheck {

std::string placement_map(const Handoff& h, const std::vector<RuleResult>& results);

}  // namespace bzcheck
