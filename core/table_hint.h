// TableHint: where an open-addressing table is, for prefetching one of its
// elements without the table's lock.
//
// The table's owner publishes the address and index mask under its lock
// each time the table changes (Set, Clear); a reader that knows an element's
// hash can then start loading its cache line early (Prefetch), so that the
// miss overlaps other work. A hint only: a reader may see a table that has
// since been replaced, or a mask newer than the address it read (two
// separate atomics). Prefetch computes the address as an integer, because
// such a pair may point past the table, which a prefetch allows (it never
// faults) and pointer arithmetic does not.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tokenlog {

template <typename T>
class TableHint {
 public:
  void Set(const T* table, size_t mask) {
    table_.store(table, std::memory_order_relaxed);
    mask_.store(mask, std::memory_order_relaxed);
  }
  void Clear() { Set(nullptr, 0); }

  // Starts loading element `index & mask` of the table last published.
  void Prefetch(size_t index) const {
    const T* table = table_.load(std::memory_order_relaxed);
    if (!table) return;
    const size_t at = index & mask_.load(std::memory_order_relaxed);
    __builtin_prefetch(
        reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(table) + at * sizeof(T)));
  }

 private:
  std::atomic<const T*> table_{nullptr};
  std::atomic<size_t> mask_{0};
};

}  // namespace tokenlog
