// image_file.h - the disk image on the host: reading it, and writing a plan to it
// in the crash-safe order (payload, stage 2, MBR last, with fsync between).
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "install_plan.h"

namespace bzinstall {

using bzboot::Bytes;
using bzboot::ByteView;

class ImageFile {
public:
    // An existing image (regular file or block device), opened read-write. Throws BadInput.
    static ImageFile open_existing(const std::string& path);
    // A new zero-filled file of `size_bytes`; fails if `path` exists. Throws BadInput when
    // the file cannot be created, WriteFailure when it cannot be sized.
    static ImageFile create(const std::string& path, std::uint64_t size_bytes);

    ImageFile(ImageFile&& other) noexcept;
    ImageFile& operator=(ImageFile&&) = delete;
    ImageFile(const ImageFile&) = delete;
    ~ImageFile();

    std::uint64_t size() const { return size_; }
    // Up to `count` bytes at `offset` (fewer at the end of the image). Throws BadInput.
    Bytes read_at(std::uint64_t offset, std::size_t count) const;
    // Throw WriteFailure on any error.
    void write_at(std::uint64_t offset, ByteView bytes);
    void sync();

    // The view planning needs (it refers to this object, which must outlive it).
    ExistingImage as_existing() const;

private:
    ImageFile(int fd, std::string path, std::uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
    int fd_;
    std::string path_;
    std::uint64_t size_;
};

// Carry out `plan`: the payload header, kernel and initrd (with zeroed padding), fsync;
// stage 2, fsync; sector 0, fsync. Until the last step the old boot code still works.
void write_plan(ImageFile& image, const InstallPlan& plan, const InstallRequest& request);

// The whole content of a file. Throws BadInput naming `path` when it cannot be read.
Bytes read_whole_file(const std::string& path);

}  // namespace bzinstall
