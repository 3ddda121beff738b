#include "core/event.h"

#include <array>

namespace tokenlog {

namespace {
constexpr std::array<std::string_view, kMaxEventType> kTypeNames = {
    "token.minted",  "token.revoked",    "token.expired",  "token.expiry_shortened",
    "token.used",    "auth.denied",      "token.looked_up", "policy.changed",
    "user.deactivated", "user.reactivated"};
}  // namespace

std::string_view EventTypeName(EventType type) {
  auto i = static_cast<size_t>(type);
  return (i >= 1 && i <= kMaxEventType) ? kTypeNames[i - 1] : "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<EventType>(i + 1);
  }
  return std::nullopt;
}

std::string_view ActorRoleName(ActorRole role) {
  switch (role) {
    case ActorRole::kUser: return "user";
    case ActorRole::kAdmin: return "admin";
    case ActorRole::kSystem: return "system";
    case ActorRole::kBasic: return "basic";
  }
  return "system";
}

std::string_view RevokeReasonName(RevokeReason reason) {
  switch (reason) {
    case RevokeReason::kUser: return "user";
    case RevokeReason::kAdmin: return "admin";
    case RevokeReason::kRotated: return "rotated";
    case RevokeReason::kUserDeactivated: return "user_deactivated";
    case RevokeReason::kLeaked: return "leaked";
  }
  return "user";
}

std::string_view DenyReasonName(DenyReason reason) {
  switch (reason) {
    case DenyReason::kRevoked: return "revoked";
    case DenyReason::kExpired: return "expired";
    case DenyReason::kUserDeactivated: return "user_deactivated";
    case DenyReason::kUserMismatch: return "user_mismatch";
    case DenyReason::kTenantMismatch: return "tenant_mismatch";
  }
  return "revoked";
}

}  // namespace tokenlog
