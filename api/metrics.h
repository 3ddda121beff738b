// Metrics: the Prometheus families of API.md, present from start-up.
//
// Counters are lock-free on the hot path (fixed label sets indexed by enum);
// the per-route HTTP counter takes the mutex of one of kRequestShards maps,
// each thread always the same one. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "core/event.h"

namespace tokenlog::api {

enum class CheckResult : uint8_t { kAllowed = 0, kDenied, kRateLimited, kCount };

// Why a check was denied, for tokenlog_auth_denied_total{reason}.
enum class DenyMetric : uint8_t {
  kMissing = 0,      // no Authorization header
  kMalformed,        // not Basic, bad base64, no ':'
  kBadChecksum,      // not a well-formed token value
  kUnknown,          // no such token
  kRevoked,
  kExpired,
  kUserDeactivated,
  kUserMismatch,
  kTenantMismatch,
  kCount
};
DenyMetric ToDenyMetric(DenyReason reason);

class Metrics {
 public:
  Metrics();
  void CountCheck(CheckResult result);
  void CountDenied(DenyMetric reason);
  void CountEvent(EventType type);
  void CountRequest(const std::string& route, int code, double seconds);
  void SetActiveTokens(int64_t n) { active_tokens_.store(n); }
  void AddActiveTokens(int64_t delta) { active_tokens_.fetch_add(delta); }
  void SetLogHeadSeq(uint64_t seq) { head_seq_.store(seq); }

  // The Prometheus text exposition of every family.
  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.5,    1.0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(CheckResult::kCount)> checks_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(DenyMetric::kCount)> denied_{};
  std::array<std::atomic<uint64_t>, kMaxEventType + 1> events_{};
  std::array<std::atomic<uint64_t>, kBuckets.size()> duration_buckets_{};
  std::atomic<uint64_t> duration_count_{0};
  std::atomic<uint64_t> duration_sum_micros_{0};
  std::atomic<int64_t> active_tokens_{0};
  std::atomic<uint64_t> head_seq_{0};
  // Requests by (route, code), in shards: with one map and one mutex, one
  // or two checks in a thousand found it held under load (2 cores, 64
  // connections) and slept on it, milliseconds here, near the check's p99. A thread keeps
  // the shard it was given first (round robin).
  struct RouteCodeLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const int c = std::string_view(a.first).compare(std::string_view(b.first));
      return c < 0 || (c == 0 && a.second < b.second);
    }
  };
  using RequestCounts = std::map<std::pair<std::string, int>, uint64_t, RouteCodeLess>;
  static constexpr size_t kRequestShards = 16;
  struct alignas(64) RequestShard {
    mutable std::mutex mu;
    RequestCounts counts;  // GUARDED_BY(mu)
  };
  std::array<RequestShard, kRequestShards> request_shards_;
  std::atomic<size_t> next_request_shard_{0};
};

}  // namespace tokenlog::api
