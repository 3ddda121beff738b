#include "core/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace tokenlog {

void* MapHugePages(size_t bytes) {
  const size_t span = bytes + kHugePage;  // room to align
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(p, aligned - start);
  if (const uintptr_t end = start + span; end > aligned + bytes) {
    ::munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
  }
  ::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void UnmapHugePages(void* p, size_t bytes) { ::munmap(p, bytes); }

}  // namespace tokenlog
