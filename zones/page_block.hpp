#pragma once
// A block of memory for a read-mostly table that queries touch at random
// (a zone's name index and name arena, a GeoIP search tree). Past a size
// it is an anonymous mapping aligned to 2 MiB with MADV_HUGEPAGE, so that
// transparent huge pages can back it: with 4 KiB pages nearly every random
// read of such a table also misses the TLB, which in a VM costs a
// two-dimensional page walk (perf, 10,000-name zone at 30,000 q/s: the
// index slot and entry loads were ~75% of the hot answer's samples).
// Smaller blocks come from the heap: a huge page for them would waste most
// of its 2 MiB, and a few 4 KiB pages stay in the TLB anyway.
// Header-only: geo/ uses it too, and geo/ sits below zones/.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

namespace meridian {

class PageBlock {
 public:
  static constexpr std::size_t kHuge = std::size_t{2} << 20;
  // From this size on a block is mapped for huge pages (at most 4x its size
  // in address space, and less once it is a few pages).
  static constexpr std::size_t kHugeFrom = kHuge / 4;

  PageBlock() = default;
  // `bytes` of uninitialised memory (untouched pages cost nothing until
  // written). Throws std::bad_alloc when there is none.
  explicit PageBlock(std::size_t bytes) : size_(bytes) {
    if (bytes == 0) return;
    if (bytes >= kHugeFrom) {
      const std::size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
      void* p = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        // Trim the over-allocation so the block starts on a 2 MiB boundary:
        // only aligned 2 MiB ranges can become huge pages.
        auto* base = static_cast<char*>(p);
        const std::size_t skew = (kHuge - reinterpret_cast<std::uintptr_t>(base) % kHuge) % kHuge;
        if (skew) munmap(base, skew);
        if (kHuge - skew) munmap(base + skew + len, kHuge - skew);
        data_ = base + skew;
        mapped_ = len;
        madvise(data_, len, MADV_HUGEPAGE);  // advice only: without THP these are plain pages
        return;
      }
    }
    data_ = static_cast<char*>(std::malloc(bytes));
    if (!data_) throw std::bad_alloc();
  }
  ~PageBlock() { release(); }
  PageBlock(PageBlock&& o) noexcept { *this = std::move(o); }
  PageBlock& operator=(PageBlock&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      mapped_ = std::exchange(o.mapped_, 0);
    }
    return *this;
  }
  PageBlock(const PageBlock&) = delete;
  PageBlock& operator=(const PageBlock&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  // True when the block is a mapping advised for huge pages.
  bool huge() const { return mapped_ != 0; }
  // Makes a mapped block read-only (a stray write faults instead of
  // corrupting a table every thread reads); a heap block stays writable.
  void seal() {
    if (mapped_) mprotect(data_, mapped_, PROT_READ);
  }

 private:
  void release() {
    if (mapped_)
      munmap(data_, mapped_);
    else
      std::free(data_);
    data_ = nullptr;
    size_ = mapped_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;  // length of the mapping, 0 for a heap block
};

}  // namespace meridian
