// Event: the unit of the log. Every state change is one or more events.
//
// An Event holds exactly what API.md prints for it (plus prev_hash and hash),
// in typed form, so the stored encoding (event_codec.h) and the JSON rendering
// (event_json.h) are two views of the same fields and can never disagree.
// Times are milliseconds since the epoch (UTC); digests are raw 32 bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/sha256.h"

namespace tokenlog {

enum class EventType : uint8_t {
  kTokenMinted = 1,
  kTokenRevoked = 2,
  kTokenExpired = 3,
  kTokenExpiryShortened = 4,
  kTokenUsed = 5,
  kAuthDenied = 6,
  kTokenLookedUp = 7,
  kPolicyChanged = 8,
  kUserDeactivated = 9,
  kUserReactivated = 10,
};
inline constexpr uint8_t kMaxEventType = 10;

// "token.minted", ... ; ParseEventType returns nullopt for an unknown name.
std::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);

enum class ActorRole : uint8_t { kUser = 1, kAdmin = 2, kSystem = 3, kBasic = 4 };
std::string_view ActorRoleName(ActorRole role);

struct Actor {
  ActorRole role = ActorRole::kSystem;
  std::optional<std::string> user;  // null for system and basic
  std::optional<std::string> ip;    // null when not from a request
  bool operator==(const Actor&) const = default;
};

enum class RevokeReason : uint8_t {
  kUser = 1,
  kAdmin = 2,
  kRotated = 3,
  kUserDeactivated = 4,
  kLeaked = 5,
};
inline constexpr uint8_t kMaxRevokeReason = 5;
std::string_view RevokeReasonName(RevokeReason reason);

enum class DenyReason : uint8_t {
  kRevoked = 1,
  kExpired = 2,
  kUserDeactivated = 3,
  kUserMismatch = 4,
  kTenantMismatch = 5,
};
inline constexpr uint8_t kMaxDenyReason = 5;
std::string_view DenyReasonName(DenyReason reason);

// The policy fields a policy.changed event records (before/after).
struct PolicyLimits {
  std::optional<int32_t> max_lifetime_days;  // null: tokens may never expire
  int32_t default_lifetime_days = 90;
  bool operator==(const PolicyLimits&) const = default;
};

struct TokenMinted {
  std::string label;
  std::optional<int64_t> expires_at;
  std::string hint;
  Digest token_sha256{};
  std::optional<std::string> rotated_from;
  bool operator==(const TokenMinted&) const = default;
};
struct TokenRevoked {
  RevokeReason reason = RevokeReason::kUser;
  std::optional<std::string> note;
  std::optional<std::string> replaced_by;
  bool operator==(const TokenRevoked&) const = default;
};
struct TokenExpired {
  int64_t expires_at = 0;
  bool operator==(const TokenExpired&) const = default;
};
struct TokenExpiryShortened {
  std::optional<int64_t> expires_at_before;  // null: the token never expired
  int64_t expires_at_after = 0;
  uint64_t policy_version = 0;
  bool operator==(const TokenExpiryShortened&) const = default;
};
struct TokenUsed {
  std::string ip;
  std::string user_agent;
  uint64_t count = 0;
  int64_t first_at = 0;
  int64_t last_at = 0;
  bool operator==(const TokenUsed&) const = default;
};
struct AuthDenied {
  DenyReason reason = DenyReason::kRevoked;
  std::string claimed_user;
  std::string ip;
  std::string user_agent;
  uint64_t count = 0;
  bool operator==(const AuthDenied&) const = default;
};
struct TokenLookedUp {
  bool found = false;
  bool operator==(const TokenLookedUp&) const = default;
};
struct PolicyChanged {
  PolicyLimits before;
  PolicyLimits after;
  uint64_t version = 0;
  bool operator==(const PolicyChanged&) const = default;
};
struct UserDeactivated {
  uint32_t revoked_tokens = 0;
  bool operator==(const UserDeactivated&) const = default;
};
struct UserReactivated {
  bool operator==(const UserReactivated&) const = default;
};

// Alternative index + 1 == EventType value: keep the order of EventType.
using EventData = std::variant<TokenMinted, TokenRevoked, TokenExpired, TokenExpiryShortened,
                               TokenUsed, AuthDenied, TokenLookedUp, PolicyChanged,
                               UserDeactivated, UserReactivated>;

struct Event {
  uint64_t seq = 0;    // global, gap-free, from 1; assigned by the log
  int64_t time = 0;    // assigned by the log (never earlier than the previous event)
  std::string tenant;
  Actor actor;
  std::optional<std::string> user;      // the subject; null for policy.changed
  std::optional<std::string> token_id;  // null when no token is concerned
  EventData data;
  Digest prev_hash{};  // assigned by the log
  Digest hash{};       // assigned by the log

  EventType type() const { return static_cast<EventType>(data.index() + 1); }
  bool operator==(const Event&) const = default;
};

}  // namespace tokenlog
