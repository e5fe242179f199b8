// tempdir.h - a fresh private directory, removed with everything in it.
#pragma once

#include <filesystem>
#include <string>

namespace bzboot {

class TempDir {
public:
    // Creates $TMPDIR/<prefix>.XXXXXX (or under /tmp), mode 0700, with mkdtemp.
    // Throws std::runtime_error naming the reason when it cannot.
    explicit TempDir(const std::string& prefix = "bzboot");
    ~TempDir();  // removes the directory and its contents; never throws
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // `name` inside the directory (not created).
    std::filesystem::path file(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

}  // namespace bzboot
