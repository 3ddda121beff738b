// TokenRecord: what the service knows of one token (never its value), as the
// `tokens` projection keeps it, and its status against a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/event.h"

namespace tokenlog {

enum class TokenStatus { kActive, kRevoked, kExpired };
std::string_view TokenStatusName(TokenStatus status);
std::optional<TokenStatus> ParseTokenStatus(std::string_view name);

struct TokenRecord {
  std::string id;
  std::string tenant;
  std::string user;
  std::string label;
  std::string hint;
  Digest sha256{};
  uint64_t mint_seq = 0;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
  std::optional<RevokeReason> revoked_reason;
  std::optional<int64_t> last_used_at;
  bool expired_logged = false;  // a token.expired event is in the log
  bool operator==(const TokenRecord&) const = default;

  // Revoked wins; then expired (logged, or expires_at <= now); else active.
  TokenStatus StatusAt(int64_t now) const;
};

}  // namespace tokenlog
