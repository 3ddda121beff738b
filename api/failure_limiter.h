// FailureLimiter: failed OData checks per client key per minute, with
// bounded memory.
//
// Counts are kept per fixed one-minute window and estimated over a sliding
// minute (the previous window weighted by how much of it still overlaps).
// At most `max_keys` keys are tracked; when full, keys whose windows are
// older than two minutes are dropped first, then the table is cleared (an
// attacker rotating addresses can only reset counts, never grow memory).
// Thread-safe (a mutex per shard).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tokenlog::api {

class FailureLimiter {
 public:
  // `limit` 0 disables limiting.
  FailureLimiter(uint32_t limit, size_t max_keys) : limit_(limit), max_keys_(max_keys) {}

  // Seconds the key must wait when it is over the limit at `now_ms`, else 0.
  uint32_t RetryAfter(const std::string& key, int64_t now_ms);
  void RecordFailure(const std::string& key, int64_t now_ms);
  size_t tracked() const;

 private:
  struct Window {
    int64_t start_ms = 0;  // start of the current minute window
    uint32_t current = 0;
    uint32_t previous = 0;
  };
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Window> windows;  // GUARDED_BY(mu)
  };
  static void Roll(Window& w, int64_t now_ms);
  Shard& ShardOf(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }

  const uint32_t limit_;
  const size_t max_keys_;
  std::array<Shard, kShards> shards_;
};

}  // namespace tokenlog::api
