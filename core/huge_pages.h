// Anonymous memory offered to transparent huge pages, for large arrays read
// or filled at random (the check's index, the rebuild's pending rows).
//
// On the virtual machines tokenlog runs on, each first touch of a 4 KiB page
// is a fault the host sees too: filling a few hundred MB page by page cost
// a rebuild ~80k faults on its busiest thread. A 2 MiB page is one fault and
// one TLB entry. Where THP is off (or `never`) the advice is ignored and the
// memory is ordinary pages; nothing else changes.
#pragma once

#include <cstddef>
#include <limits>
#include <new>
#include <utility>

namespace tokenlog {

inline constexpr size_t kHugePage = size_t{2} << 20;

// `bytes` rounded up to whole huge pages.
inline size_t RoundToHugePages(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// `bytes` (a multiple of kHugePage) mapped at a huge-page boundary with
// MADV_HUGEPAGE: zeroed, unlike malloc's memory. Mapped, not taken from
// malloc, so that the advice never lands on heap memory that malloc later
// hands out for small objects. Throws std::bad_alloc. Freed with
// UnmapHugePages(p, bytes).
void* MapHugePages(size_t bytes);
void UnmapHugePages(void* p, size_t bytes);

// A std::allocator for such arrays: blocks under a huge page come from
// operator new, larger ones from MapHugePages.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    if (n > (std::numeric_limits<size_t>::max() - kHugePage) / sizeof(T)) {
      throw std::bad_array_new_length();
    }
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
    }
    return static_cast<T*>(MapHugePages(RoundToHugePages(bytes)));
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      ::operator delete(p, std::align_val_t{alignof(T)});
    } else {
      UnmapHugePages(p, RoundToHugePages(bytes));
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

// An uninitialized buffer of `size` bytes from HugePageAllocator.
class HugeBuffer {
 public:
  HugeBuffer() = default;
  explicit HugeBuffer(size_t size) : data_(HugePageAllocator<char>().allocate(size)), size_(size) {}
  ~HugeBuffer() {
    if (data_ != nullptr) HugePageAllocator<char>().deallocate(data_, size_);
  }
  HugeBuffer(HugeBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  HugeBuffer& operator=(HugeBuffer&& other) noexcept {
    HugeBuffer taken(std::move(other));  // ours is freed with `taken`
    std::swap(data_, taken.data_);
    std::swap(size_, taken.size_);
    return *this;
  }
  char* get() { return data_; }
  const char* get() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tokenlog
