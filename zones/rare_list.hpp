#pragma once
// A list that is empty in most RRsets (additional-section targets, policy
// CNAME targets): one pointer, null while empty, instead of a 24-octet
// std::vector. Three of them in RRset take it from 128 to 80 octets, 48
// octets less per RRset of a million-record zone (docs/performance.md,
// "Zone load"). Reading an element costs one more pointer load; the lists
// are read only for NS/MX/SRV additional data and CNAME-choosing policies.
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace meridian {

template <typename T>
class RareList {
 public:
  RareList() = default;
  RareList(std::vector<T> v) { *this = std::move(v); }  // NOLINT: implicit, as a vector converts
  RareList(const RareList& o) : v_(o.v_ ? std::make_unique<std::vector<T>>(*o.v_) : nullptr) {}
  RareList(RareList&&) noexcept = default;
  RareList& operator=(const RareList& o) { return *this = RareList(o); }
  RareList& operator=(RareList&&) noexcept = default;
  RareList& operator=(std::vector<T> v) {
    v_ = v.empty() ? nullptr : std::make_unique<std::vector<T>>(std::move(v));
    return *this;
  }

  std::size_t size() const { return v_ ? v_->size() : 0; }
  bool empty() const { return !v_ || v_->empty(); }
  const T& operator[](std::size_t i) const { return (*v_)[i]; }
  T& operator[](std::size_t i) { return (*v_)[i]; }
  const T* begin() const { return v_ ? v_->data() : nullptr; }
  const T* end() const { return v_ ? v_->data() + v_->size() : nullptr; }
  T* begin() { return v_ ? v_->data() : nullptr; }
  T* end() { return v_ ? v_->data() + v_->size() : nullptr; }

  void reserve(std::size_t n) {
    if (n) vec().reserve(n);
  }
  void push_back(T x) { vec().push_back(std::move(x)); }

 private:
  std::vector<T>& vec() {
    if (!v_) v_ = std::make_unique<std::vector<T>>();
    return *v_;
  }
  std::unique_ptr<std::vector<T>> v_;
};

}  // namespace meridian
