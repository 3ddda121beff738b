#include "api/metrics.h"

#include <cstdio>

#include "core/spin_first_lock.h"

namespace tokenlog::api {

namespace {
constexpr std::array<const char*, static_cast<size_t>(CheckResult::kCount)> kCheckNames = {
    "allowed", "denied", "rate_limited"};
constexpr std::array<const char*, static_cast<size_t>(DenyMetric::kCount)> kDenyNames = {
    "missing_credentials", "malformed_credentials", "bad_checksum", "unknown_token", "revoked",
    "expired", "user_deactivated", "user_mismatch", "tenant_mismatch"};
}  // namespace

DenyMetric ToDenyMetric(DenyReason reason) {
  switch (reason) {
    case DenyReason::kRevoked: return DenyMetric::kRevoked;
    case DenyReason::kExpired: return DenyMetric::kExpired;
    case DenyReason::kUserDeactivated: return DenyMetric::kUserDeactivated;
    case DenyReason::kUserMismatch: return DenyMetric::kUserMismatch;
    case DenyReason::kTenantMismatch: return DenyMetric::kTenantMismatch;
  }
  return DenyMetric::kUnknown;
}

Metrics::Metrics() = default;

void Metrics::CountCheck(CheckResult result) {
  checks_[static_cast<size_t>(result)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::CountDenied(DenyMetric reason) {
  denied_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::CountEvent(EventType type) {
  events_[static_cast<size_t>(type)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountRequest(const std::string& route, int code, double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      duration_buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  duration_count_.fetch_add(1, std::memory_order_relaxed);
  duration_sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  // Keyed by this Metrics too: a thread that counts for another one (tests)
  // picks a shard again when it switches.
  thread_local const Metrics* shard_owner = nullptr;
  thread_local size_t shard_index = 0;
  if (shard_owner != this) {
    shard_owner = this;
    shard_index = next_request_shard_.fetch_add(1, std::memory_order_relaxed) % kRequestShards;
  }
  RequestShard& shard = request_shards_[shard_index];
  const std::unique_lock<std::mutex> lock = LockSpinningFirst(shard.mu);
  auto it = shard.counts.find(std::pair<std::string_view, int>(route, code));
  if (it == shard.counts.end()) it = shard.counts.emplace(std::pair(route, code), 0).first;
  ++it->second;
}

std::string Metrics::Render() const {
  std::string out;
  auto line = [&](const std::string& s) {
    out += s;
    out += '\n';
  };
  line("# HELP tokenlog_auth_checks_total OData authentication checks by result.");
  line("# TYPE tokenlog_auth_checks_total counter");
  for (size_t i = 0; i < kCheckNames.size(); ++i) {
    line("tokenlog_auth_checks_total{result=\"" + std::string(kCheckNames[i]) + "\"} " +
         std::to_string(checks_[i].load()));
  }
  line("# HELP tokenlog_auth_denied_total Denied OData authentication checks by reason.");
  line("# TYPE tokenlog_auth_denied_total counter");
  for (size_t i = 0; i < kDenyNames.size(); ++i) {
    line("tokenlog_auth_denied_total{reason=\"" + std::string(kDenyNames[i]) + "\"} " +
         std::to_string(denied_[i].load()));
  }
  line("# HELP tokenlog_events_appended_total Events appended to the log by type.");
  line("# TYPE tokenlog_events_appended_total counter");
  for (uint8_t t = 1; t <= kMaxEventType; ++t) {
    line("tokenlog_events_appended_total{type=\"" +
         std::string(EventTypeName(static_cast<EventType>(t))) + "\"} " +
         std::to_string(events_[t].load()));
  }
  line("# HELP tokenlog_http_requests_total HTTP requests by route and status code.");
  line("# TYPE tokenlog_http_requests_total counter");
  RequestCounts requests;  // every shard's, summed
  for (const RequestShard& shard : request_shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [key, n] : shard.counts) requests[key] += n;
  }
  for (const auto& [key, n] : requests) {
    line("tokenlog_http_requests_total{route=\"" + key.first + "\",code=\"" +
         std::to_string(key.second) + "\"} " + std::to_string(n));
  }
  line("# HELP tokenlog_http_request_duration_seconds HTTP request handling time.");
  line("# TYPE tokenlog_http_request_duration_seconds histogram");
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += duration_buckets_[i].load();
    std::snprintf(le, sizeof(le), "%g", kBuckets[i]);
    line("tokenlog_http_request_duration_seconds_bucket{le=\"" + std::string(le) + "\"} " +
         std::to_string(cumulative));
  }
  line("tokenlog_http_request_duration_seconds_bucket{le=\"+Inf\"} " +
       std::to_string(duration_count_.load()));
  char sum[64];
  std::snprintf(sum, sizeof(sum), "%.6f", static_cast<double>(duration_sum_micros_.load()) / 1e6);
  line("tokenlog_http_request_duration_seconds_sum " + std::string(sum));
  line("tokenlog_http_request_duration_seconds_count " + std::to_string(duration_count_.load()));
  line("# HELP tokenlog_active_tokens Tokens neither revoked nor logged as expired.");
  line("# TYPE tokenlog_active_tokens gauge");
  line("tokenlog_active_tokens " + std::to_string(active_tokens_.load()));
  line("# HELP tokenlog_log_head_seq Sequence number of the last event in the log.");
  line("# TYPE tokenlog_log_head_seq gauge");
  line("tokenlog_log_head_seq " + std::to_string(head_seq_.load()));
  return out;
}

}  // namespace tokenlog::api
