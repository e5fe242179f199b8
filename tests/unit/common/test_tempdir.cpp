// common/tempdir.h: a private directory that disappears with its contents.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "common/tempdir.h"

namespace fs = std::filesystem;

TEST_CASE("a TempDir is a fresh private directory, removed with its contents", "[tempdir]") {
    fs::path kept;
    {
        bzboot::TempDir a("bzboot-test");
        bzboot::TempDir b("bzboot-test");
        kept = a.path();
        CHECK(a.path() != b.path());
        CHECK(fs::is_directory(a.path()));
        CHECK(fs::is_empty(a.path()));
        CHECK(a.path().filename().string().rfind("bzboot-test.", 0) == 0);
        struct stat st {};
        REQUIRE(::stat(a.path().c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0700);

        CHECK(a.file("x.img") == a.path() / "x.img");
        fs::create_directory(a.file("sub"));
        std::ofstream(a.file("sub/data")) << "bytes";
    }
    CHECK_FALSE(fs::exists(kept));
}
