// Huge-page arrays: the same contents as ordinary ones on either side of the
// 2 MiB threshold, across growth, moves and swaps.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "core/huge_pages.h"

using namespace tokenlog;

TEST_CASE("a vector on HugePageAllocator keeps its elements as it grows past a huge page") {
  std::vector<uint64_t, HugePageAllocator<uint64_t>> v;
  const size_t kElements = 3 * kHugePage / sizeof(uint64_t) + 17;  // ~6 MiB: several regrowths
  bool huge_seen = false;
  for (size_t i = 0; i < kElements; ++i) {
    v.push_back(i * 0x9E3779B97F4A7C15ull);
    if (v.capacity() * sizeof(uint64_t) >= kHugePage) {
      // Blocks of a huge page or more are mapped at a huge-page boundary.
      huge_seen = true;
      REQUIRE(reinterpret_cast<uintptr_t>(v.data()) % kHugePage == 0);
    }
  }
  CHECK(huge_seen);
  size_t wrong = 0;
  for (size_t i = 0; i < kElements; ++i) wrong += v[i] != i * 0x9E3779B97F4A7C15ull;
  CHECK(wrong == 0);
  // A fresh huge block is zeroed (value-initialised elements of a resize
  // are zero either way; this checks the mapping, not the vector).
  std::vector<uint64_t, HugePageAllocator<uint64_t>> zeros(kHugePage / sizeof(uint64_t) * 2);
  size_t nonzero = 0;
  for (uint64_t x : zeros) nonzero += x != 0;
  CHECK(nonzero == 0);
  // Shrinking back under the threshold frees through the matching path.
  v.resize(10);
  v.shrink_to_fit();
  CHECK(v.capacity() * sizeof(uint64_t) < kHugePage);
  CHECK(v[9] == 9 * 0x9E3779B97F4A7C15ull);
}

TEST_CASE("HugeBuffer owns its bytes through moves") {
  HugeBuffer small(100), big(kHugePage + 1);
  REQUIRE(small.get() != nullptr);
  REQUIRE(big.get() != nullptr);
  CHECK(small.size() == 100);
  CHECK(big.size() == kHugePage + 1);
  std::memset(small.get(), 'a', small.size());
  std::memset(big.get(), 'b', big.size());
  HugeBuffer moved(std::move(big));
  CHECK(big.get() == nullptr);
  CHECK(big.size() == 0);
  CHECK(moved.get()[kHugePage] == 'b');
  moved = std::move(small);  // the big block is freed; `small` is left empty
  CHECK(moved.size() == 100);
  CHECK(moved.get()[99] == 'a');
  CHECK(small.get() == nullptr);
  CHECK(small.size() == 0);
  HugeBuffer empty;
  CHECK(empty.get() == nullptr);
}
