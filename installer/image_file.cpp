#include "image_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bootproto.h"
#include "diskformat.h"
#include "errors.h"

namespace bzinstall {
using bzboot::round_up;

namespace {

constexpr mode_t kNewImageMode = 0644;

std::string last_error() { return std::strerror(errno); }

}  // namespace

ImageFile ImageFile::open_existing(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        throw BadInput(fmt::format("cannot open {}: {}", path, last_error()));
    }
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
        std::string why = last_error();
        ::close(fd);
        throw BadInput(fmt::format("cannot find the size of {}: {}", path, why));
    }
    return ImageFile(fd, path, static_cast<std::uint64_t>(end));
}

ImageFile ImageFile::create(const std::string& path, std::uint64_t size_bytes) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, kNewImageMode);
    if (fd < 0) {
        throw BadInput(fmt::format("cannot create {}: {}", path, last_error()));
    }
    // ftruncate leaves a sparse, zero-filled file: the "zeroed image" without writing zeros.
    if (::ftruncate(fd, static_cast<off_t>(size_bytes)) != 0) {
        std::string why = last_error();
        ::close(fd);
        ::unlink(path.c_str());
        throw WriteFailure(fmt::format("cannot size {} to {} bytes: {}", path, size_bytes, why));
    }
    return ImageFile(fd, path, size_bytes);
}

ImageFile::ImageFile(ImageFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)), size_(other.size_) {
    other.fd_ = -1;
}

ImageFile::~ImageFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Bytes ImageFile::read_at(std::uint64_t offset, std::size_t count) const {
    Bytes bytes(count);
    std::size_t done = 0;
    while (done < count) {
        ssize_t n = ::pread(fd_, bytes.data() + done, count - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw BadInput(fmt::format("cannot read {} at byte {}: {}", path_, offset + done, last_error()));
        }
        if (n == 0) {
            break;  // end of the image
        }
        done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

void ImageFile::write_at(std::uint64_t offset, ByteView bytes) {
    std::size_t done = 0;
    while (done < bytes.size) {
        ssize_t n = ::pwrite(fd_, bytes.data + done, bytes.size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw WriteFailure(fmt::format("cannot write {} at byte {}: {}", path_, offset + done,
                                           n < 0 ? last_error() : "no progress"));
        }
        done += static_cast<std::size_t>(n);
    }
}

void ImageFile::sync() {
    if (::fsync(fd_) != 0) {
        throw WriteFailure(fmt::format("cannot fsync {}: {}", path_, last_error()));
    }
}

ExistingImage ImageFile::as_existing() const {
    return ExistingImage{size_, [this](std::uint64_t offset, std::size_t count) { return read_at(offset, count); }};
}

void write_plan(ImageFile& image, const InstallPlan& plan, const InstallRequest& request) {
    const std::uint64_t sector = bootproto::SECTOR_SIZE;
    const std::uint64_t base = plan.payload_lba * sector;
    const PayloadLayout& layout = plan.layout;

    // 1. The payload. Padding is zeroed so a re-install leaves no stale bytes between pieces.
    image.write_at(base, plan.payload_header);
    image.write_at(base + layout.kernel_offset, request.kernel);
    std::uint64_t written_end = layout.kernel_offset + layout.kernel_size;
    if (layout.initrd_size > 0) {
        image.write_at(base + written_end, Bytes(layout.initrd_offset - written_end, 0));
        image.write_at(base + layout.initrd_offset, request.initrd);
        written_end = layout.initrd_offset + layout.initrd_size;
    }
    const std::uint64_t sector_end = round_up(written_end, sector);
    image.write_at(base + written_end, Bytes(sector_end - written_end, 0));
    image.sync();

    // 2. Stage 2 in the gap, before sector 0, so the new MBR never runs without it.
    image.write_at(diskformat::STAGE2_LBA * sector, plan.stage2);
    image.sync();

    // 3. Sector 0 last: from here on the new boot code runs.
    image.write_at(0, plan.mbr_sector);
    image.sync();
}

Bytes read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw BadInput(fmt::format("cannot read {}: {}", path, last_error()));
    }
    Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw BadInput(fmt::format("cannot read {}: {}", path, last_error()));
    }
    return bytes;
}

}  // namespace bzinstall
