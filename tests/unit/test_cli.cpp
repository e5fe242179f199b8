// bzinstall's command line: exit codes 0 / 1 (refused, one line) / 2 (usage, unreadable input).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"
#include "installer_test_support.h"

using namespace bztest;
namespace bp = bootproto;

namespace {

struct CliWorkspace {
    TempDir dir;
    fs::path kernel = dir.path("vmlinuz");
    fs::path image = dir.path("disk.img");

    explicit CliWorkspace(const FakeKernel& fake = FakeKernel{}) { write_file(kernel, fake.bytes()); }

    CommandResult install(const std::string& options) const {
        return run_bzinstall(fmt::format("--kernel {} {} {}", quoted(kernel.string()), options,
                                         quoted(image.string())));
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
    CHECK(bzinstall::ByteView(disk).u32(header + diskformat::PH_FLAGS) ==
          (diskformat::PF_HANDOFF64 | diskformat::PF_LA57));

    fs::remove(ws.image);
    REQUIRE(ws.install("").exit_code == 0);  // default handoff: 64, 4-level
    CHECK(bzinstall::ByteView(read_file(ws.image)).u32(header + diskformat::PH_FLAGS) == diskformat::PF_HANDOFF64);

    fs::remove(ws.image);
    REQUIRE(ws.install("--handoff 16").exit_code == 0);
    CHECK(bzinstall::ByteView(read_file(ws.image)).u32(header + diskformat::PH_FLAGS) == 0u);
}

TEST_CASE("cli: usage errors exit 2", "[cli]") {
    CliWorkspace ws;
    CHECK(ws.install("--handoff 32").exit_code == 2);
    CHECK(ws.install("--size 12345").exit_code == 2);  // not whole sectors
    CHECK(ws.install("--size lots").exit_code == 2);
    CHECK(ws.install("--size 0").exit_code == 2);
    CHECK(ws.install("--no-such-option").exit_code == 2);
    CHECK(run_bzinstall(quoted(ws.image.string())).exit_code == 2);  // no --kernel
    CHECK(run_bzinstall("--kernel " + quoted(ws.kernel.string())).exit_code == 2);  // no IMAGE
    CHECK_FALSE(fs::exists(ws.image));
    CHECK(run_bzinstall("--help").exit_code == 0);
}

TEST_CASE("cli: unreadable input files exit 2", "[cli]") {
    CliWorkspace ws;
    CHECK(run_bzinstall("--kernel " + quoted(ws.dir.path("missing").string()) + " " +
                        quoted(ws.image.string())).exit_code == 2);
    CHECK(ws.install("--initrd " + quoted(ws.dir.path("missing-initrd").string())).exit_code == 2);
    CommandResult directory = run_bzinstall("--kernel " + quoted(ws.dir.path("").string()) + " " +
                                            quoted(ws.image.string()));
    CHECK(directory.exit_code == 2);
    CHECK_THAT(directory.output, Catch::Contains("directory"));
    CHECK_FALSE(fs::exists(ws.image));
    // IMAGE in a directory that does not exist cannot be created.
    CHECK(run_bzinstall("--kernel " + quoted(ws.kernel.string()) + " " +
                        quoted(ws.dir.path("no-such-dir/disk.img").string())).exit_code == 2);
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
    CHECK(r.output == fmt::format("bzinstall: refused: {}: boot protocol 2.01 is older than 2.02\n",
                                  ws.kernel.string()));
    CHECK_FALSE(fs::exists(ws.image));
}

TEST_CASE("cli: request problems are refusals (exit 1) and create nothing", "[cli]") {
    FakeKernel fake;
    fake.xloadflags = 0;
    fake.cmdline_size = 10;
    CliWorkspace ws(fake);
    const fs::path empty_initrd = ws.dir.path("empty.img");
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
