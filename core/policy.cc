#include "core/policy.h"

#include "core/clock.h"

namespace tokenlog {

Status ValidatePolicyLimits(const PolicyLimits& p) {
  if (p.default_lifetime_days < 1 || p.default_lifetime_days > kLifetimeDaysCeiling) {
    return Status(Code::kInvalidPolicy, "default_lifetime_days must be between 1 and 3650");
  }
  if (p.max_lifetime_days) {
    if (*p.max_lifetime_days < 1 || *p.max_lifetime_days > kLifetimeDaysCeiling) {
      return Status(Code::kInvalidPolicy, "max_lifetime_days must be between 1 and 3650, or null");
    }
    if (p.default_lifetime_days > *p.max_lifetime_days) {
      return Status(Code::kInvalidPolicy,
                    "default_lifetime_days must not be greater than max_lifetime_days");
    }
  }
  return Status();
}

Result<std::optional<int64_t>> ResolveExpiry(const ExpiryRequest& request, const Policy& policy,
                                             int64_t now) {
  const auto& max = policy.limits.max_lifetime_days;
  switch (request.kind) {
    case ExpiryRequest::Kind::kAbsent:
      return std::optional<int64_t>(now + policy.limits.default_lifetime_days * kMillisPerDay);
    case ExpiryRequest::Kind::kNull:
      if (max) {
        return Status(Code::kInvalidExpiry,
                      "expires_in_days may be null only when the tenant's policy has no maximum "
                      "lifetime (the maximum is " + std::to_string(*max) + " days)");
      }
      return std::optional<int64_t>();
    case ExpiryRequest::Kind::kDays: {
      int64_t limit = max ? *max : kLifetimeDaysCeiling;
      if (request.days < 1 || request.days > limit) {
        return Status(Code::kInvalidExpiry,
                      "expires_in_days must be between 1 and " + std::to_string(limit));
      }
      return std::optional<int64_t>(now + request.days * kMillisPerDay);
    }
  }
  return Status(Code::kInvalidExpiry, "unknown expiry request");
}

std::optional<int64_t> MaxExpiryFor(const PolicyLimits& limits, int64_t created_at) {
  if (!limits.max_lifetime_days) return std::nullopt;
  return created_at + *limits.max_lifetime_days * kMillisPerDay;
}

}  // namespace tokenlog
