#pragma once
// A block of memory for a read-mostly table that queries touch at random
// (a zone's name index and name arena, a GeoIP search tree), placed where
// transparent huge pages can back it: with 4 KiB pages nearly every random
// read of such a table also misses the TLB, which in a VM costs a
// two-dimensional page walk (perf, 10,000-name zone at 30,000 q/s: the
// index slot and entry loads were ~75% of the hot answer's samples, and
// half of the hot answer's samples went away with huge pages).
//
// - from 2 MiB on: a mapping of its own, aligned to 2 MiB, MADV_HUGEPAGE
//   (the kernel backs each whole 2 MiB range with a huge page, the tail
//   with small ones);
// - from 64 KiB to 2 MiB: a slice of a shared 2 MiB chunk that is itself
//   such a mapping, so that many mid-sized zones share huge pages instead
//   of each rounding up to its own (20 zones of 10,000 names: +43% RSS
//   with a huge page each). A chunk is unmapped when its last slice goes;
// - below 64 KiB: the heap (a few small pages stay in the TLB anyway).
// Blocks are allocated when zones load, never on the query path; the pool
// takes a mutex. Header-only: geo/ uses it too, and geo/ sits below zones/.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

namespace meridian {

// `n` rounded up to a multiple of `to` (a cache line, a page).
constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

class PageBlock {
 public:
  static constexpr std::size_t kHuge = std::size_t{2} << 20;
  static constexpr std::size_t kPooledFrom = std::size_t{64} << 10;

  PageBlock() = default;
  // `bytes` of uninitialised memory (untouched pages of an own mapping cost
  // nothing until written). Throws std::bad_alloc when there is none.
  explicit PageBlock(std::size_t bytes) : size_(bytes) {
    if (bytes == 0) return;
    if (bytes >= kHuge) {
      const std::size_t len = round_up(bytes, 4096);
      if ((data_ = map_aligned(len))) {
        mapped_ = len;
        return;
      }
    } else if (bytes >= kPooledFrom) {
      if ((data_ = pool().take(bytes, chunk_))) return;
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
      chunk_ = std::move(o.chunk_);
    }
    return *this;
  }
  PageBlock(const PageBlock&) = delete;
  PageBlock& operator=(const PageBlock&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  // True when the block lies in memory advised for huge pages (its own
  // mapping or a pool chunk).
  bool huge() const { return mapped_ != 0 || chunk_ != nullptr; }
  // Makes a block with a mapping of its own read-only (a stray write faults
  // instead of corrupting a table every thread reads). A pooled slice stays
  // writable: protecting part of a huge page would split it.
  void seal() {
    if (mapped_) mprotect(data_, mapped_, PROT_READ);
  }

 private:
  // `len` bytes at a 2 MiB boundary, advised for huge pages; null on failure.
  static char* map_aligned(std::size_t len) {
    void* p = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // Trim the over-allocation: only aligned 2 MiB ranges can be huge pages.
    auto* base = static_cast<char*>(p);
    const std::size_t skew = (kHuge - reinterpret_cast<std::uintptr_t>(base) % kHuge) % kHuge;
    if (skew) munmap(base, skew);
    munmap(base + skew + len, kHuge - skew);
    madvise(base + skew, len, MADV_HUGEPAGE);  // advice only: without THP these are plain pages
    return base + skew;
  }

  struct Chunk {
    explicit Chunk(char* b) : base(b) {}
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;
    ~Chunk() { munmap(base, kHuge); }
    char* const base;
  };
  // Slices are carved one after another from the newest chunk; a chunk's
  // holes are not reused (a reloaded zone's old slice stays until the
  // chunk's other slices go too), which bounds the waste by what reloads
  // leave behind rather than by a huge page per zone.
  class Pool {
   public:
    char* take(std::size_t bytes, std::shared_ptr<Chunk>& chunk) {
      const std::size_t len = round_up(bytes, 64);  // slices on cache-line boundaries
      std::lock_guard<std::mutex> lock(mutex_);
      if (!current_ || used_ + len > kHuge) {
        char* base = map_aligned(kHuge);
        if (!base) return nullptr;
        current_ = std::make_shared<Chunk>(base);
        used_ = 0;
      }
      chunk = current_;
      char* p = current_->base + used_;
      used_ += len;
      return p;
    }

   private:
    std::mutex mutex_;
    std::shared_ptr<Chunk> current_;
    std::size_t used_ = 0;
  };
  static Pool& pool() {
    static Pool p;
    return p;
  }

  void release() {
    if (mapped_)
      munmap(data_, mapped_);
    else if (!chunk_)
      std::free(data_);
    chunk_.reset();
    data_ = nullptr;
    size_ = mapped_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;        // length of the block's own mapping, or 0
  std::shared_ptr<Chunk> chunk_;  // the pool chunk holding the block, or null
};

}  // namespace meridian
