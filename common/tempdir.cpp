#include "common/tempdir.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <stdlib.h>  // mkdtemp (POSIX)

namespace bzboot {

TempDir::TempDir(const std::string& prefix) {
    std::error_code error;
    std::filesystem::path base = std::filesystem::temp_directory_path(error);  // $TMPDIR, else /tmp
    if (error) base = "/tmp";
    std::string pattern = (base / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("cannot create a temporary directory " + pattern + ": " + std::strerror(errno));
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace bzboot
