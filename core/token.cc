#include "core/token.h"

namespace tokenlog {

std::string_view TokenStatusName(TokenStatus status) {
  switch (status) {
    case TokenStatus::kActive: return "active";
    case TokenStatus::kRevoked: return "revoked";
    case TokenStatus::kExpired: return "expired";
  }
  return "active";
}

std::optional<TokenStatus> ParseTokenStatus(std::string_view name) {
  if (name == "active") return TokenStatus::kActive;
  if (name == "revoked") return TokenStatus::kRevoked;
  if (name == "expired") return TokenStatus::kExpired;
  return std::nullopt;
}

TokenStatus StatusFrom(bool revoked, bool expired_logged, std::optional<int64_t> expires_at,
                       int64_t now) {
  if (revoked) return TokenStatus::kRevoked;
  if (expired_logged || (expires_at && *expires_at <= now)) return TokenStatus::kExpired;
  return TokenStatus::kActive;
}

TokenStatus TokenRecord::StatusAt(int64_t now) const {
  return StatusFrom(revoked_at.has_value(), expired_logged, expires_at, now);
}

}  // namespace tokenlog
