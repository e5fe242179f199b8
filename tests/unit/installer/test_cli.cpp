// bzinstall's command line: exit codes 0 / 1 (refused, one line) / 2 (usage, unreadable input).
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"
#include "installer_test_support.h"

using namespace bztest;
namespace bp = bootproto;

namespace {

struct CliWorkspace {
    TempDir dir;
    fs::path kernel = dir.file("vmlinuz");
    fs::path image = dir.file("disk.img");

    explicit CliWorkspace(const FakeKernel& fake = FakeKernel{}) { write_file(kernel, fake.bytes()); }

    CommandResult install(const std::string& options) const {
        return run_bzinstall(
            fmt::format("--kernel {} {} {}", quoted(kernel.string()), options, quoted(image.string())));
    }
};

}  // namespace

TEST_CASE("cli: --la57 with the 16-bit handoff is a usage error", "[cli]") {
    CliWorkspace ws;
    CommandResult r = ws.install("--la57 --handoff 16");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("--la57"));
    CHECK_FALSE(fs::exists(ws.image));

    CHECK(ws.install("--la57").exit_code == 0);  // the default hand-off is 64-bit
}

TEST_CASE("cli: the handoff and LA57 choices end up in the payload flags", "[cli]") {
    CliWorkspace ws;
    REQUIRE(ws.install("--handoff 64 --la57").exit_code == 0);
    const Bytes disk = read_file(ws.image);
    const std::uint64_t header = diskformat::BZ_PART_ALIGN_SECTORS * bp::SECTOR_SIZE;
    CHECK(bzboot::ByteView(disk).u32(header + diskformat::PH_FLAGS) ==
          (diskformat::PF_HANDOFF64 | diskformat::PF_LA57));

    fs::remove(ws.image);
    REQUIRE(ws.install("").exit_code == 0);  // default handoff: 64, 4-level
    CHECK(bzboot::ByteView(read_file(ws.image)).u32(header + diskformat::PH_FLAGS) == diskformat::PF_HANDOFF64);

    fs::remove(ws.image);
    REQUIRE(ws.install("--handoff 16").exit_code == 0);
    CHECK(bzboot::ByteView(read_file(ws.image)).u32(header + diskformat::PH_FLAGS) == 0u);
}

TEST_CASE("cli: usage errors exit 2", "[cli]") {
    CliWorkspace ws;
    CHECK(ws.install("--handoff 32").exit_code == 2);
    CHECK(ws.install("--size 12345").exit_code == 2);  // not whole sectors
    CHECK(ws.install("--size lots").exit_code == 2);
    CHECK(ws.install("--size 0").exit_code == 2);
    CHECK(ws.install("--no-such-option").exit_code == 2);
    CHECK(run_bzinstall(quoted(ws.image.string())).exit_code == 2);                 // no --kernel
    CHECK(run_bzinstall("--kernel " + quoted(ws.kernel.string())).exit_code == 2);  // no IMAGE
    CHECK_FALSE(fs::exists(ws.image));
    CHECK(run_bzinstall("--help").exit_code == 0);
}

TEST_CASE("cli: unreadable input files exit 2", "[cli]") {
    CliWorkspace ws;
    CHECK(run_bzinstall("--kernel " + quoted(ws.dir.file("missing").string()) + " " + quoted(ws.image.string()))
              .exit_code == 2);
    CHECK(ws.install("--initrd " + quoted(ws.dir.file("missing-initrd").string())).exit_code == 2);
    CommandResult directory =
        run_bzinstall("--kernel " + quoted(ws.dir.file("").string()) + " " + quoted(ws.image.string()));
    CHECK(directory.exit_code == 2);
    CHECK_THAT(directory.output, Catch::Contains("directory"));
    CHECK_FALSE(fs::exists(ws.image));
    // IMAGE in a directory that does not exist cannot be created.
    CHECK(run_bzinstall("--kernel " + quoted(ws.kernel.string()) + " " +
                        quoted(ws.dir.file("no-such-dir/disk.img").string()))
              .exit_code == 2);
}

TEST_CASE("cli: --size with an existing image is a usage error, image unchanged", "[cli]") {
    CliWorkspace ws;
    REQUIRE(ws.install("").exit_code == 0);
    const Bytes before = read_file(ws.image);
    CHECK(ws.install("--size 16M").exit_code == 2);
    CHECK(difference(read_file(ws.image), before) == "");
}

TEST_CASE("cli: a refused kernel exits 1 with one line naming file and problem", "[cli]") {
    FakeKernel old;
    old.protocol = 0x0201;
    CliWorkspace ws(old);
    CommandResult r = ws.install("");
    CHECK(r.exit_code == 1);
    CHECK(r.output ==
          fmt::format("bzinstall: refused: {}: boot protocol 2.01 is older than 2.02\n", ws.kernel.string()));
    CHECK_FALSE(fs::exists(ws.image));
}

TEST_CASE("cli: by default a kernel without a 64-bit entry gets the 16-bit hand-off, with a note", "[cli]") {
    FakeKernel fake;
    fake.xloadflags = 0;
    CliWorkspace ws(fake);
    CommandResult r = ws.install("");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("XLF_KERNEL_64") && Catch::Contains("16-bit"));
    const std::uint64_t header = diskformat::BZ_PART_ALIGN_SECTORS * bp::SECTOR_SIZE;
    CHECK(bzboot::ByteView(read_file(ws.image)).u32(header + diskformat::PH_FLAGS) == 0u);
}

TEST_CASE("cli: request problems are refusals (exit 1) and create nothing", "[cli]") {
    FakeKernel fake;
    fake.xloadflags = 0;
    fake.cmdline_size = 10;
    CliWorkspace ws(fake);
    const fs::path empty_initrd = ws.dir.file("empty.img");
    write_file(empty_initrd, Bytes{});

    CHECK(ws.install("--cmdline 0123456789").exit_code == 0);
    fs::remove(ws.image);

    CommandResult too_long = ws.install("--cmdline 0123456789a");
    CHECK(too_long.exit_code == 1);
    CHECK_THAT(too_long.output, Catch::Contains("cmdline_size"));

    CommandResult no64 = ws.install("--handoff 64");
    CHECK(no64.exit_code == 1);
    CHECK_THAT(no64.output, Catch::Contains("XLF_KERNEL_64"));

    CommandResult empty = ws.install("--initrd " + quoted(empty_initrd.string()));
    CHECK(empty.exit_code == 1);
    CHECK_THAT(empty.output, Catch::Contains(empty_initrd.string() + ": initrd is empty"));
    CHECK_FALSE(fs::exists(ws.image));
}

TEST_CASE("cli: --debug-memory puts stage 2's memory-map debug flags in the payload header", "[cli]") {
    CliWorkspace ws;
    const std::uint64_t flags_at = diskformat::BZ_PART_ALIGN_SECTORS * bp::SECTOR_SIZE + diskformat::PH_FLAGS;
    auto flags_after = [&](const std::string& options) {
        fs::remove(ws.image);
        CommandResult r = ws.install(options);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        return bzboot::ByteView(read_file(ws.image)).u32(flags_at);
    };
    CHECK(flags_after("") == diskformat::PF_HANDOFF64);
    CHECK(flags_after("--debug-memory e801") == (diskformat::PF_HANDOFF64 | diskformat::PF_DEBUG_NO_E820));
    CHECK(flags_after("--debug-memory 88") ==
          (diskformat::PF_HANDOFF64 | diskformat::PF_DEBUG_NO_E820 | diskformat::PF_DEBUG_NO_E801));
    CHECK(flags_after("--debug-memory 88 --handoff 16") ==
          (diskformat::PF_DEBUG_NO_E820 | diskformat::PF_DEBUG_NO_E801));

    fs::remove(ws.image);
    CHECK(ws.install("--debug-memory e820").exit_code == 2);  // E820 is the normal case, no flag
    CHECK_FALSE(fs::exists(ws.image));
    CHECK_THAT(run_bzinstall("--help").output, Catch::Contains("--debug-memory"));
}

TEST_CASE("cli: --debug-disk takes only chs and int13, and --help names it as a test/debug option", "[cli]") {
    CliWorkspace ws;
    CHECK(ws.install("--debug-disk lba").exit_code == 2);  // the extensions are the normal case
    CHECK(ws.install("--debug-disk dma").exit_code == 2);  // so is DMA, where the machine has it
    CHECK(ws.install("--debug-disk").exit_code == 2);
    CHECK_FALSE(fs::exists(ws.image));
    REQUIRE(ws.install("--debug-disk chs").exit_code == 0);
    CHECK(read_file(ws.image).at(diskformat::MBR_PARAM_FLAGS) == diskformat::MBR_FLAG_DEBUG_CHS);
    fs::remove(ws.image);
    REQUIRE(ws.install("--debug-disk int13").exit_code == 0);
    const Bytes image = read_file(ws.image);
    CHECK(image.at(diskformat::MBR_PARAM_FLAGS) == 0);
    CHECK(image.at(diskformat::STAGE2_LBA * bootproto::SECTOR_SIZE + diskformat::S2_PARAM_FLAGS) ==
          diskformat::S2_FLAG_DEBUG_INT13);
    const std::string help = run_bzinstall("--help").output;
    CHECK_THAT(help, Catch::Contains("--debug-disk") && Catch::Contains("test/debug only") &&
                         Catch::Contains("int13"));
}

namespace {

// A kernel (or initrd) that bzinstall must refuse, and what the one line must say.
struct BadInput {
    std::string what;
    Bytes kernel;
    std::string options;  // besides --kernel and --initrd
    bool big_initrd;      // pass the initrd that does not fit instead of the good one
    std::string message;  // in the line, after "bzinstall: refused: <the file>: "
};

FakeKernel with(void (*change)(FakeKernel&)) {
    FakeKernel fake;
    change(fake);
    return fake;
}

}  // namespace

TEST_CASE("cli: each bad input is refused with one line, and an existing image stays byte for byte", "[cli][refuse]") {
    CliWorkspace ws;
    const fs::path initrd = ws.dir.file("initrd.img");
    const fs::path big_initrd = ws.dir.file("big-initrd.img");
    const fs::path bad_kernel = ws.dir.file("bad-vmlinuz");
    const std::uint32_t small_initrd_addr_max = 0x100FFF;  // 4 KiB of room above 1 MiB
    write_file(initrd, pattern_bytes(4096, 7));
    write_file(big_initrd, pattern_bytes(4097, 8));
    REQUIRE(ws.install("--initrd " + quoted(initrd.string()) + " --cmdline good").exit_code == 0);
    const Bytes before = read_file(ws.image);
    const Bytes good = FakeKernel{}.bytes();
    const std::size_t setup_bytes = 5 * bp::SECTOR_SIZE;  // FakeKernel's 4 setup sectors + boot sector

    const std::vector<BadInput> cases = {
        {"truncated inside the protected-mode part", Bytes(good.begin(), good.end() - 1000), "", false,
         "truncated: protected-mode part is"},
        {"truncated inside the setup", Bytes(good.begin(), good.begin() + setup_bytes), "", false,
         "truncated: file is"},
        {"shorter than a boot sector", Bytes(good.begin(), good.begin() + 100), "", false,
         "file is 100 bytes, too short for a kernel boot sector"},
        {"not a bzImage at all", pattern_bytes(100000, 9), "", false, "no boot flag 0xAA55 at 0x1FE"},
        {"boot protocol 2.01", with([](FakeKernel& k) { k.protocol = 0x0201; }).bytes(), "", false,
         "boot protocol 2.01 is older than 2.02"},
        {"a zImage", with([](FakeKernel& k) { k.loadflags = 0; }).bytes(), "", false,
         "LOADED_HIGH is clear in loadflags"},
        {"absurd setup_sects", with([](FakeKernel& k) { k.setup_sects = 200; }).bytes(), "", false,
         "setup_sects 200 exceeds 63"},
        {"a command line longer than cmdline_size", with([](FakeKernel& k) { k.cmdline_size = 10; }).bytes(),
         "--cmdline 0123456789a", false, "command line is 11 bytes, the kernel accepts at most 10"},
        {"an initrd that does not fit below initrd_addr_max",
         [&] {
             FakeKernel k;
             k.initrd_addr_max = small_initrd_addr_max;
             return k.bytes();
         }(),
         "", true, "initrd is 4097 bytes, more than the 4096 bytes between 1 MiB and initrd_addr_max"},
    };
    for (const BadInput& bad : cases) {
        INFO(bad.what);
        write_file(bad_kernel, bad.kernel);
        const fs::path& named = bad.big_initrd ? big_initrd : bad_kernel;
        for (const fs::path& target : {ws.image, ws.dir.file("new.img")}) {
            CommandResult r = run_bzinstall(fmt::format("--kernel {} --initrd {} {} {}", quoted(bad_kernel.string()),
                                                        quoted((bad.big_initrd ? big_initrd : initrd).string()),
                                                        bad.options, quoted(target.string())));
            INFO(r.output);
            CHECK(r.exit_code == 1);
            CHECK_THAT(r.output, Catch::StartsWith("bzinstall: refused: " + named.string() + ": ") &&
                                     Catch::Contains(bad.message));
            CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
        }
        CHECK(difference(read_file(ws.image), before) == "");
        CHECK_FALSE(fs::exists(ws.dir.file("new.img")));
    }
}

TEST_CASE("cli: an existing blank image too small for the payload is refused and unchanged", "[cli][refuse]") {
    CliWorkspace ws;
    const std::uint64_t one_mib = 1024 * 1024;  // the MBR and the gap, no room for a payload
    write_file(ws.image, Bytes(one_mib, 0));
    CommandResult r = ws.install("");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::StartsWith("bzinstall: refused: ") && Catch::Contains("needs"));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(difference(read_file(ws.image), Bytes(one_mib, 0)) == "");
}
