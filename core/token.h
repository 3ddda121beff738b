// TokenRecord: what the service knows of one token (never its value), as the
// `tokens` projection keeps it, and its status against a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/event.h"

namespace tokenlog {

enum class TokenStatus { kActive, kRevoked, kExpired };
std::string_view TokenStatusName(TokenStatus status);
std::optional<TokenStatus> ParseTokenStatus(std::string_view name);

// The status rule, shared by TokenRecord and the check's in-memory index:
// revoked wins; then expired (logged, or expires_at <= now); else active.
TokenStatus StatusFrom(bool revoked, bool expired_logged, std::optional<int64_t> expires_at,
                       int64_t now);

// Who a token is, without copying it: what the usage ledger keys on.
struct TokenRef {
  std::string_view id;
  std::string_view tenant;
  std::string_view user;
};

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

  TokenRef ref() const { return {id, tenant, user}; }

  // Revoked wins; then expired (logged, or expires_at <= now); else active.
  TokenStatus StatusAt(int64_t now) const;
};

}  // namespace tokenlog
