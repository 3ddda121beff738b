#include "core/random.h"

#include <openssl/rand.h>

#include <climits>

namespace tokenlog {

bool CryptoRandom::Fill(uint8_t* out, size_t n) {
  while (n > 0) {
    int chunk = n > INT_MAX ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1) return false;
    out += chunk;
    n -= static_cast<size_t>(chunk);
  }
  return true;
}

bool SeededRandom::Fill(uint8_t* out, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    out[i] = static_cast<uint8_t>(z ^ (z >> 31));
  }
  return true;
}

}  // namespace tokenlog
