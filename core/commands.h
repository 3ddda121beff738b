// Command handlers: pure decisions from (state, command, clock, randomness)
// to events.
//
// Nothing here writes: a handler reads through a StateReader and returns the
// events that the log should append (with `time` set to ctx.now; seq and the
// hashes are the log's). Given the same state, context and random bytes, a
// handler returns the same events. Refusals are Status codes of API.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/policy.h"
#include "core/ports.h"
#include "core/random.h"
#include "core/status.h"

namespace tokenlog {

inline constexpr size_t kLabelMaxCodePoints = 100;
inline constexpr size_t kNoteMaxCodePoints = 500;
inline constexpr uint32_t kDefaultMaxActiveTokens = 5;

struct CommandContext {
  std::string tenant;  // the caller's tenant: every command acts inside it
  Actor actor;
  int64_t now = 0;
  RandomSource* random = nullptr;  // REQUIRES non-null for mint and rotate
  uint32_t max_active_tokens = kDefaultMaxActiveTokens;
};

struct Decision {
  std::vector<Event> events;
  // The token the answer is about (the new one for mint and rotate).
  std::optional<std::string> token_id;
  // The new secret of a mint or rotate: goes to the caller once, never into
  // an event.
  std::optional<std::string> token_value;
  // Tokens clamped by a policy change, or revoked by a deactivation.
  uint32_t count = 0;
};

// Whose tokens a command may touch: `owner` set for /v1/tokens (the caller's
// own), unset for an admin (any token of `tenant`). Any other token is
// not_found, exactly as if it did not exist.
struct TokenScope {
  std::string tenant;
  std::optional<std::string> owner;
};

// The token `token_id` if `scope` may see it; else not_found, the same for a
// token that does not exist and one outside the scope.
Result<TokenRecord> FindInScope(const StateReader& state, const TokenScope& scope,
                                std::string_view token_id);

Result<Decision> DecideMint(const StateReader& state, const CommandContext& ctx,
                            std::string_view user, std::string_view raw_label,
                            const ExpiryRequest& expiry);

// Idempotent: only an active token gets a token.revoked event. `raw_note`
// follows the label rules, up to 500 code points.
Result<Decision> DecideRevoke(const StateReader& state, const CommandContext& ctx,
                              const TokenScope& scope, std::string_view token_id,
                              RevokeReason reason, std::optional<std::string_view> raw_note);

// The old token revoked (reason rotated) and a new one minted with the same
// label, in one decision. Allowed at the cap; a non-active token is
// token_not_active; a deactivated owner is user_deactivated.
Result<Decision> DecideRotate(const StateReader& state, const CommandContext& ctx,
                              const TokenScope& scope, std::string_view token_id,
                              const ExpiryRequest& expiry);

// What applying `limits` to the tenant's active tokens would do.
struct ClampEffect {
  TokenRecord token;
  std::optional<int64_t> expires_at_before;
  int64_t expires_at_after = 0;
  bool expires_now = false;  // the clamped expiry is already past
};
Result<std::vector<ClampEffect>> PreviewPolicy(const StateReader& state, std::string_view tenant,
                                               const PolicyLimits& limits, int64_t now);

// policy.changed, then token.expiry_shortened (or token.expired) for each
// clamped token. Setting the limits already in force appends nothing.
Result<Decision> DecideSetPolicy(const StateReader& state, const CommandContext& ctx,
                                 const PolicyLimits& limits);

// Revokes every active token of `user` (reason user_deactivated), then
// user.deactivated. Repeating it appends nothing.
Result<Decision> DecideDeactivate(const StateReader& state, const CommandContext& ctx,
                                  std::string_view user);
// user.reactivated; repeating it (or reactivating an active user) appends nothing.
Result<Decision> DecideReactivate(const StateReader& state, const CommandContext& ctx,
                                  std::string_view user);

// An admin looks up a found value. REQUIRES: ValidateTokenValue(value).ok().
// Appends token.looked_up either way; token_id is set only when the token is
// in ctx.tenant.
Result<Decision> DecideLookup(const StateReader& state, const CommandContext& ctx,
                              std::string_view value);

// token.expired (actor system) for each of `candidates` that is past its
// expiry and neither revoked nor logged expired in `state`; the others are
// skipped, so candidates read from an index a little behind are safe.
Result<Decision> DecideExpireDue(const StateReader& state, int64_t now,
                                 const std::vector<std::string>& candidates);
// The same for state.DueForExpiry(now, limit).
Result<Decision> DecideExpireDue(const StateReader& state, int64_t now, size_t limit);

}  // namespace tokenlog
