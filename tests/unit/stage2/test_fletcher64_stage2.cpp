// Stage 2's checksum loop (stage2/fletcher64.inc, assembled for x86-64 in
// fletcher64_x64.asm) against the installer's fletcher64(): random data of random sizes,
// whole and in the pieces stage 2 adds (whole words, the last piece any length), at
// addresses below 4 GiB as the loop's 32-bit addressing needs, ending just before a page
// it must not touch.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/bytes.h"
#include "fletcher64.h"

extern "C" void bz_fletcher64_add(std::uint32_t sums[2], std::uint32_t address, std::uint32_t bytes);

namespace {

// Memory below 4 GiB (MAP_32BIT: below 2 GiB) with an inaccessible page right after
// `size` bytes: a loop that reads past the end faults.
class LowBuffer {
public:
    explicit LowBuffer(std::size_t size) : size_(size) {
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t data_pages = (size + page - 1) / page;
        mapped_ = (data_pages + 1) * page;
        void* base = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        REQUIRE(base != MAP_FAILED);
        base_ = static_cast<std::uint8_t*>(base);
        REQUIRE(mprotect(base_ + data_pages * page, page, PROT_NONE) == 0);
        data_ = base_ + data_pages * page - size;  // the bytes end at the guard page
    }
    ~LowBuffer() { munmap(base_, mapped_); }
    LowBuffer(const LowBuffer&) = delete;
    LowBuffer& operator=(const LowBuffer&) = delete;

    std::uint8_t* data() const { return data_; }
    std::uint32_t address() const { return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(data_)); }
    bzboot::ByteView view() const { return bzboot::ByteView(data_, size_); }

private:
    std::size_t size_;
    std::size_t mapped_ = 0;
    std::uint8_t* base_ = nullptr;
    std::uint8_t* data_ = nullptr;
};

std::uint64_t value(const std::uint32_t sums[2]) { return std::uint64_t{sums[1]} << 32 | sums[0]; }

// Stage 2's loop over the buffer in one call.
std::uint64_t stage2_whole(const LowBuffer& buffer, std::size_t size) {
    std::uint32_t sums[2] = {0, 0};
    bz_fletcher64_add(sums, buffer.address(), static_cast<std::uint32_t>(size));
    return value(sums);
}

// ... and in random pieces of whole words, the last one whatever is left.
std::uint64_t stage2_pieces(const LowBuffer& buffer, std::size_t size, std::mt19937& rng) {
    std::uint32_t sums[2] = {0, 0};
    std::uniform_int_distribution<std::size_t> words(0, 300);
    std::size_t at = 0;
    while (size - at >= 4) {
        const std::size_t piece = std::min(4 * words(rng), (size - at) / 4 * 4);
        bz_fletcher64_add(sums, buffer.address() + static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(piece));
        at += piece;
    }
    bz_fletcher64_add(sums, buffer.address() + static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(size - at));
    return value(sums);
}

void fill_random(const LowBuffer& buffer, std::size_t size, std::mt19937& rng) {
    std::uniform_int_distribution<unsigned> byte(0, 0xFF);
    for (std::size_t i = 0; i < size; ++i) buffer.data()[i] = static_cast<std::uint8_t>(byte(rng));
}

}  // namespace

TEST_CASE("stage 2's loop and the installer agree on random data of random sizes", "[fletcher64_stage2]") {
    std::mt19937 rng(4242);
    std::uniform_int_distribution<std::size_t> kib(0, 8192);
    std::vector<std::size_t> sizes;
    for (std::size_t size = 0; size <= 300; ++size) sizes.push_back(size);  // every tail and pass count
    for (int i = 0; i < 300; ++i) sizes.push_back(kib(rng));
    for (std::size_t mib : {1, 2, 5}) {
        for (std::size_t extra : {0, 1, 2, 3}) sizes.push_back((mib << 20) + extra);
    }
    for (std::size_t size : sizes) {
        LowBuffer buffer(size);
        fill_random(buffer, size, rng);
        INFO("size " << size << " at 0x" << std::hex << buffer.address());
        const std::uint64_t installer = bzinstall::fletcher64(buffer.view());
        CHECK(stage2_whole(buffer, size) == installer);
        CHECK(stage2_pieces(buffer, size, rng) == installer);
    }
}

TEST_CASE("stage 2's loop on known answers and extreme words", "[fletcher64_stage2]") {
    const char* digits = "123456789";
    LowBuffer buffer(9);
    std::memcpy(buffer.data(), digits, 9);
    CHECK(stage2_whole(buffer, 9) == 0x0d0803366c6a689fu);

    // All ones: the sums wrap many times (2^32 - 1 per word).
    LowBuffer ones(1 << 20);
    std::memset(ones.data(), 0xFF, 1 << 20);
    CHECK(stage2_whole(ones, 1 << 20) == bzinstall::fletcher64(ones.view()));
}
