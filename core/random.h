// RandomSource: where token values and ids get their randomness.
//
// Injected like the Clock so tests can seed it. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace tokenlog {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills out[0..n) with random bytes. Returns false when the source failed
  // (the caller must not use the bytes).
  [[nodiscard]] virtual bool Fill(uint8_t* out, size_t n) = 0;
};

// OpenSSL's CSPRNG (RAND_bytes). The only source used outside tests.
class CryptoRandom final : public RandomSource {
 public:
  bool Fill(uint8_t* out, size_t n) override;
};

// Deterministic bytes from a seed (splitmix64), for tests only: never
// cryptographically secure.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  bool Fill(uint8_t* out, size_t n) override;

 private:
  std::mutex mu_;
  uint64_t state_;  // GUARDED_BY(mu_)
};

}  // namespace tokenlog
