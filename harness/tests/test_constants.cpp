// The facts of include/bios.inc that harness/bios_facts.h states until the
// generated bios.h compiles are NASM's values (build/gen/constants.json).
#include "bios_facts.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

TEST_CASE("bios_facts.h says what NASM makes of include/bios.inc", "[constants]") {
    std::ifstream file(BZ_GEN_DIR "/constants.json");
    REQUIRE(file);
    const nlohmann::json bios = nlohmann::json::parse(file).at("bios");
    CHECK(bios.at("BDA_EBDA_SEG").at("value") == bios::BDA_EBDA_SEG);
    CHECK(bios.at("BDA_BASE_MEM_KIB").at("value") == bios::BDA_BASE_MEM_KIB);
    CHECK(bios.at("E820_ENTRY_size").at("value") == bios::E820_ENTRY::size);
    for (auto [name, field] : {std::pair{"base", bios::E820_ENTRY::base}, {"length", bios::E820_ENTRY::length},
                               {"type", bios::E820_ENTRY::type}}) {
        INFO(name);
        const auto& member = bios.at(std::string("E820_ENTRY.") + name);
        CHECK(member.at("value") == field.offset);
        CHECK(member.at("width") == field.width);
    }
}
