// Tenant expiry policy and the rules that derive expiry times from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/event.h"
#include "core/status.h"

namespace tokenlog {

inline constexpr int32_t kLifetimeDaysCeiling = 3650;
inline constexpr int32_t kDefaultMaxLifetimeDays = 365;
inline constexpr int32_t kDefaultDefaultLifetimeDays = 90;

struct Policy {
  PolicyLimits limits{kDefaultMaxLifetimeDays, kDefaultDefaultLifetimeDays};
  uint64_t version = 0;  // 0: the tenant never set one
  std::optional<int64_t> updated_at;
  std::optional<std::string> updated_by;
  bool operator==(const Policy&) const = default;
};

// 1 <= default <= max <= 3650 (default <= 3650 when max is null).
// Code::kInvalidPolicy with the rule broken.
Status ValidatePolicyLimits(const PolicyLimits& limits);

// What a mint or rotate asked for in `expires_in_days`.
struct ExpiryRequest {
  enum class Kind { kAbsent, kNull, kDays };
  Kind kind = Kind::kAbsent;
  int64_t days = 0;  // when kind == kDays
};

// The expires_at of a token created at `now` under `policy`: absent -> the
// policy default; null -> never (only when the policy has no max); days ->
// 1..max (never above 3650). Code::kInvalidExpiry otherwise.
Result<std::optional<int64_t>> ResolveExpiry(const ExpiryRequest& request, const Policy& policy,
                                             int64_t now);

// The latest expires_at `limits` allow for a token created at `created_at`
// (nullopt: no limit).
std::optional<int64_t> MaxExpiryFor(const PolicyLimits& limits, int64_t created_at);

}  // namespace tokenlog
