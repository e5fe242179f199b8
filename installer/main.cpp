// bzinstall - write bzboot, a kernel, an initrd and a command line onto a disk image.
//
//   bzinstall --kernel K [--initrd I] [--cmdline C] [--handoff 16|64] [--la57] [--size SIZE] IMAGE
//             [--debug-memory e801|88]   (tests: make stage 2 skip E820, or E820 and E801)
//             [--debug-disk chs|int13]   (tests: MBR and stage 2 read with CHS, not the extensions;
//                                         stage 2 reads through INT 13h only, no IDE DMA)
//
// Exit codes: 0 installed, 1 refused (one line naming the problem), 2 usage error or
// unreadable input. Nothing is written unless every check passes.
#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bootproto.h"
#include "common/size.h"
#include "diskformat.h"
#include "errors.h"
#include "image_file.h"
#include "install_plan.h"
#include "kernel_header.h"

namespace {

using namespace bzinstall;

constexpr int kHandoff16 = 16;               // enter the kernel's real-mode setup code
constexpr int kHandoff64 = 64;               // enter the 64-bit entry point directly
constexpr int kDefaultHandoff = kHandoff64;  // boot.rst "64-bit Boot Protocol"

// --debug-memory: the first memory-map method stage 2 may use (the payload's debug flags).
constexpr const char* kDebugMemoryE801 = "e801";  // skip INT 15h E820h
constexpr const char* kDebugMemory88 = "88";      // skip E820h and E801h
// --debug-disk: the disk method the MBR and stage 2 must use (their parameter blocks' flags).
constexpr const char* kDebugDiskChs = "chs";      // as if INT 13h AH=41h said "no extensions" (so no DMA either)
constexpr const char* kDebugDiskInt13 = "int13";  // stage 2 reads through INT 13h, never by IDE bus-master DMA

struct Options {
    std::string kernel_path;
    std::string initrd_path;
    std::string cmdline;
    int handoff = kDefaultHandoff;
    bool handoff_given = false;  // --handoff on the command line, not the default
    bool la57 = false;
    std::uint64_t size_bytes = 0;  // 0: fitted to the payload
    std::string debug_memory;      // "", kDebugMemoryE801 or kDebugMemory88
    std::string debug_disk;        // "", kDebugDiskChs or kDebugDiskInt13
    std::string image_path;
};

std::uint32_t fresh_disk_signature() {
    std::random_device entropy;
    std::uniform_int_distribution<std::uint32_t> any_nonzero(1, UINT32_MAX);
    return any_nonzero(entropy);
}

// `check()`'s result; a Refusal it throws is thrown again naming `path`, the file it is about.
template <typename Check>
auto about_file(const std::string& path, Check check) {
    try {
        return check();
    } catch (const Refusal& e) {
        throw Refusal(fmt::format("{}: {}", path, e.what()));
    }
}

// Read the files and check them against each other and the kernel header.
InstallRequest prepare_request(const Options& options, const BootCode& boot_code) {
    InstallRequest request;
    request.boot_code = boot_code;
    request.cmdline = options.cmdline;
    request.kernel = read_whole_file(options.kernel_path);

    const KernelHeader kernel = about_file(options.kernel_path, [&] { return parse_kernel_header(request.kernel); });
    BootRequest boot;
    boot.cmdline = options.cmdline;
    boot.handoff64 = options.handoff == kHandoff64;
    // The default suits every kernel: one without a 64-bit entry gets the 16-bit
    // hand-off, as stage 2 would do anyway. An explicit --handoff 64 is refused.
    if (boot.handoff64 && !options.handoff_given && !options.la57 && !(kernel.xloadflags & bootproto::XLF_KERNEL_64)) {
        fmt::print("bzinstall: {}: no 64-bit entry (XLF_KERNEL_64), using the 16-bit hand-off\n", options.kernel_path);
        boot.handoff64 = false;
    }
    boot.la57 = options.la57;
    about_file(options.kernel_path, [&] { check_boot_request(kernel, boot); });
    if (!options.initrd_path.empty()) {
        request.initrd = read_whole_file(options.initrd_path);
        about_file(options.initrd_path, [&] { check_initrd(kernel, request.initrd.size()); });
    }
    request.payload_flags = (boot.handoff64 ? diskformat::PF_HANDOFF64 : 0) | (boot.la57 ? diskformat::PF_LA57 : 0);
    if (options.debug_memory == kDebugMemoryE801) {
        request.payload_flags |= diskformat::PF_DEBUG_NO_E820;
    } else if (options.debug_memory == kDebugMemory88) {
        request.payload_flags |= diskformat::PF_DEBUG_NO_E820 | diskformat::PF_DEBUG_NO_E801;
    }
    request.boot_code_flags.debug_disk_chs = options.debug_disk == kDebugDiskChs;
    request.boot_code_flags.debug_disk_int13 = options.debug_disk == kDebugDiskInt13;
    return request;
}

int install(const Options& options) {
    const BootCode boot_code = embedded_boot_code();
    check_boot_code(boot_code);
    const InstallRequest request = prepare_request(options, boot_code);

    const bool image_exists = std::filesystem::exists(options.image_path);
    if (image_exists && options.size_bytes != 0) {
        fmt::print(stderr, "bzinstall: --size applies only when creating IMAGE, and {} exists\n", options.image_path);
        return kExitUsage;
    }
    if (image_exists) {
        ImageFile image = ImageFile::open_existing(options.image_path);
        const InstallPlan plan = plan_existing_image(request, image.as_existing(), fresh_disk_signature());
        write_plan(image, plan, request);
        fmt::print("bzinstall: {}: {} payload partition {} at sector {} ({} sectors)\n", options.image_path,
                   plan.replaces_previous ? "replaced" : "added", plan.slot + 1, plan.payload_lba,
                   plan.payload_sectors);
        return kExitOk;
    }

    const InstallPlan plan = plan_new_image(request, options.size_bytes, fresh_disk_signature());
    ImageFile image = ImageFile::create(options.image_path, plan.image_bytes);
    try {
        write_plan(image, plan, request);
    } catch (const WriteFailure&) {
        std::filesystem::remove(options.image_path);  // a half-written new image is of no use
        throw;
    }
    fmt::print("bzinstall: {}: created, {} bytes, payload partition 1 at sector {} ({} sectors)\n", options.image_path,
               plan.image_bytes, plan.payload_lba, plan.payload_sectors);
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bzinstall - install bzboot, a Linux kernel, an initrd and a command line on a disk image"};
    Options options;
    app.add_option("--kernel", options.kernel_path, "bzImage to boot")->required()->check(CLI::ExistingFile);
    app.add_option("--initrd", options.initrd_path, "initrd / initramfs to load")->check(CLI::ExistingFile);
    app.add_option("--cmdline", options.cmdline, "kernel command line");
    app.add_option("--handoff", options.handoff, "enter the kernel through its 16-bit or 64-bit entry")
        ->check(CLI::IsMember({kHandoff16, kHandoff64}))
        ->capture_default_str();
    app.add_flag("--la57", options.la57, "use 5-level paging when the CPU has it (needs --handoff 64)");
    app.add_option("--size", options.size_bytes, "size of a new image, e.g. 64M (default: fitted)")
        ->transform(
            [](const std::string& text) {
                try {
                    return std::to_string(bzboot::parse_size(text));  // bytes without a unit
                } catch (const std::invalid_argument& e) {
                    throw CLI::ValidationError(e.what());
                }
            },
            "SIZE");
    app.add_option("--debug-memory", options.debug_memory,
                   "test/debug only: stage 2 skips E820 (e801), or E820 and E801 (88), for its "
                   "memory map")
        ->check(CLI::IsMember({kDebugMemoryE801, kDebugMemory88}));
    app.add_option("--debug-disk", options.debug_disk,
                   "test/debug only: the MBR and stage 2 read the disk with CHS (chs), as if the "
                   "BIOS had no INT 13h extensions; stage 2 reads through INT 13h only, never by "
                   "IDE bus-master DMA (int13; chs implies it)")
        ->check(CLI::IsMember({kDebugDiskChs, kDebugDiskInt13}));
    app.add_option("IMAGE", options.image_path, "disk image to create or install into")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int cli_code = app.exit(e);  // prints help, or the error and a hint
        return cli_code == 0 ? kExitOk : kExitUsage;
    }
    options.handoff_given = app.count("--handoff") > 0;
    if (options.la57 && options.handoff != kHandoff64) {
        fmt::print(stderr, "bzinstall: --la57 needs --handoff 64\n");
        return kExitUsage;
    }
    if (app.count("--size") > 0 && options.size_bytes == 0) {
        fmt::print(stderr, "bzinstall: --size must be more than 0\n");
        return kExitUsage;
    }
    if (options.size_bytes % bootproto::SECTOR_SIZE != 0) {
        fmt::print(stderr, "bzinstall: --size {} is not a multiple of {} bytes\n", options.size_bytes,
                   bootproto::SECTOR_SIZE);
        return kExitUsage;
    }

    try {
        return install(options);
    } catch (const Failure& e) {
        fmt::print(stderr, "bzinstall: {}{}\n", e.lead, e.what());
        return e.exit_code;
    } catch (const std::exception& e) {
        fmt::print(stderr, "bzinstall: {}\n", e.what());
        return kExitRefused;
    }
}
