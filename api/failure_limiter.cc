#include "api/failure_limiter.h"

namespace tokenlog::api {

namespace {
constexpr int64_t kWindowMs = 60'000;
}  // namespace

void FailureLimiter::Roll(Window& w, int64_t now_ms) {
  int64_t start = now_ms - now_ms % kWindowMs;
  if (start == w.start_ms) return;
  w.previous = start - w.start_ms == kWindowMs ? w.current : 0;
  w.current = 0;
  w.start_ms = start;
}

uint32_t FailureLimiter::RetryAfter(const std::string& key, int64_t now_ms) {
  if (limit_ == 0) return 0;
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.windows.find(key);
  if (it == shard.windows.end()) return 0;
  Window& w = it->second;
  Roll(w, now_ms);
  int64_t into = now_ms - w.start_ms;
  double estimate = w.previous * (static_cast<double>(kWindowMs - into) / kWindowMs) + w.current;
  if (estimate < limit_) return 0;
  // Until the current window ends; never less than a second.
  int64_t wait_ms = kWindowMs - into;
  return static_cast<uint32_t>(std::max<int64_t>(1, (wait_ms + 999) / 1000));
}

void FailureLimiter::RecordFailure(const std::string& key, int64_t now_ms) {
  if (limit_ == 0) return;
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.windows.size() >= max_keys_ / kShards + 1 && !shard.windows.count(key)) {
    for (auto it = shard.windows.begin(); it != shard.windows.end();) {
      if (now_ms - it->second.start_ms >= 2 * kWindowMs) {
        it = shard.windows.erase(it);
      } else {
        ++it;
      }
    }
    if (shard.windows.size() >= max_keys_ / kShards + 1) shard.windows.clear();
  }
  Window& w = shard.windows[key];
  Roll(w, now_ms);
  ++w.current;
}

size_t FailureLimiter::tracked() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.windows.size();
  }
  return n;
}

}  // namespace tokenlog::api
