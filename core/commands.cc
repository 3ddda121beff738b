#include "core/commands.h"

#include "core/label.h"
#include "core/sha256.h"
#include "core/token_codec.h"

namespace tokenlog {

namespace {

Event NewEvent(const CommandContext& ctx, std::optional<std::string> user,
               std::optional<std::string> token_id, EventData data) {
  Event e;
  e.time = ctx.now;
  e.tenant = ctx.tenant;
  e.actor = ctx.actor;
  e.user = std::move(user);
  e.token_id = std::move(token_id);
  e.data = std::move(data);
  return e;
}

}  // namespace

Result<TokenRecord> FindInScope(const StateReader& state, const TokenScope& scope,
                                std::string_view token_id) {
  Status missing(Code::kNotFound, "no such token");
  if (!IsValidTokenId(token_id)) return missing;
  TL_ASSIGN_OR_RETURN(std::optional<TokenRecord> token, state.Token(token_id));
  if (!token || token->tenant != scope.tenant) return missing;
  if (scope.owner && token->user != *scope.owner) return missing;
  return std::move(*token);
}

namespace {

Status RefuseIfDeactivated(const StateReader& state, std::string_view tenant,
                           std::string_view user) {
  TL_ASSIGN_OR_RETURN(bool deactivated, state.IsDeactivated(tenant, user));
  if (deactivated) {
    return Status(Code::kUserDeactivated,
                  "this user is deactivated: ask a tenant admin to reactivate it");
  }
  return Status();
}

struct NewToken {
  std::string id;
  std::string value;
  Event minted;
};

// The expiry a new token of the tenant gets for `expiry`, or invalid_expiry.
Result<std::optional<int64_t>> NewTokenExpiry(const StateReader& state, const CommandContext& ctx,
                                              const ExpiryRequest& expiry) {
  TL_ASSIGN_OR_RETURN(Policy policy, state.PolicyOf(ctx.tenant));
  return ResolveExpiry(expiry, policy, ctx.now);
}

// A token.minted event for a fresh value; the label and expiry are already
// valid.
Result<NewToken> MintEvent(const CommandContext& ctx, std::string_view user, std::string label,
                           std::optional<int64_t> expires_at,
                           std::optional<std::string> rotated_from) {
  TL_ASSIGN_OR_RETURN(std::string value, GenerateTokenValue(*ctx.random));
  TokenMinted data;
  data.label = std::move(label);
  data.expires_at = expires_at;
  data.hint = TokenHint(value);
  data.token_sha256 = Sha256(value);
  std::string id = TokenIdOf(data.token_sha256);
  data.rotated_from = std::move(rotated_from);
  Event e = NewEvent(ctx, std::string(user), id, std::move(data));
  return NewToken{std::move(id), std::move(value), std::move(e)};
}

Event RevokeEvent(const CommandContext& ctx, const TokenRecord& token, RevokeReason reason,
                  std::optional<std::string> note, std::optional<std::string> replaced_by) {
  return NewEvent(ctx, token.user, token.id,
                  TokenRevoked{reason, std::move(note), std::move(replaced_by)});
}

}  // namespace

Result<Decision> DecideMint(const StateReader& state, const CommandContext& ctx,
                            std::string_view user, std::string_view raw_label,
                            const ExpiryRequest& expiry) {
  // The request itself first (400), then the state it meets (403, 409): an
  // expiry no policy allows is not "revoke one first".
  TL_ASSIGN_OR_RETURN(std::string label,
                      ValidateLabel(raw_label, kLabelMaxCodePoints, Code::kInvalidLabel));
  TL_ASSIGN_OR_RETURN(std::optional<int64_t> expires_at, NewTokenExpiry(state, ctx, expiry));
  TL_RETURN_IF_ERROR(RefuseIfDeactivated(state, ctx.tenant, user));
  TL_ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, state.LiveUserTokens(ctx.tenant, user));
  uint32_t active = 0;
  for (const auto& t : tokens) active += t.StatusAt(ctx.now) == TokenStatus::kActive ? 1 : 0;
  if (active >= ctx.max_active_tokens) {
    return Status(Code::kTokenLimitReached,
                  "you already have " + std::to_string(active) +
                      " active tokens, the most allowed: revoke one first");
  }
  TL_ASSIGN_OR_RETURN(NewToken minted,
                      MintEvent(ctx, user, std::move(label), expires_at, std::nullopt));
  Decision d;
  d.events.push_back(std::move(minted.minted));
  d.token_id = std::move(minted.id);
  d.token_value = std::move(minted.value);
  return d;
}

Result<Decision> DecideRevoke(const StateReader& state, const CommandContext& ctx,
                              const TokenScope& scope, std::string_view token_id,
                              RevokeReason reason, std::optional<std::string_view> raw_note) {
  std::optional<std::string> note;
  if (raw_note) {
    TL_ASSIGN_OR_RETURN(note, ValidateLabel(*raw_note, kNoteMaxCodePoints,
                                            Code::kInvalidRequest, "note"));
  }
  TL_ASSIGN_OR_RETURN(TokenRecord token, FindInScope(state, scope, token_id));
  Decision d;
  d.token_id = token.id;
  if (token.StatusAt(ctx.now) == TokenStatus::kActive) {
    d.events.push_back(RevokeEvent(ctx, token, reason, std::move(note), std::nullopt));
  }
  return d;
}

Result<Decision> DecideRotate(const StateReader& state, const CommandContext& ctx,
                              const TokenScope& scope, std::string_view token_id,
                              const ExpiryRequest& expiry) {
  TL_ASSIGN_OR_RETURN(TokenRecord old, FindInScope(state, scope, token_id));
  // As for a mint, an expiry no policy allows is refused before the state.
  TL_ASSIGN_OR_RETURN(std::optional<int64_t> expires_at, NewTokenExpiry(state, ctx, expiry));
  // Deactivation first: it revokes every token, so checked after the status
  // a deactivated user's rotation could never be user_deactivated (API.md:
  // "a deactivated user mints or rotates" is 403).
  TL_RETURN_IF_ERROR(RefuseIfDeactivated(state, ctx.tenant, old.user));
  if (old.StatusAt(ctx.now) != TokenStatus::kActive) {
    return Status(Code::kTokenNotActive, "only an active token can be rotated");
  }
  TL_ASSIGN_OR_RETURN(NewToken minted, MintEvent(ctx, old.user, old.label, expires_at, old.id));
  Decision d;
  d.events.push_back(RevokeEvent(ctx, old, RevokeReason::kRotated, std::nullopt, minted.id));
  d.events.push_back(std::move(minted.minted));
  d.token_id = std::move(minted.id);
  d.token_value = std::move(minted.value);
  return d;
}

Result<std::vector<ClampEffect>> PreviewPolicy(const StateReader& state, std::string_view tenant,
                                               const PolicyLimits& limits, int64_t now) {
  TL_RETURN_IF_ERROR(ValidatePolicyLimits(limits));
  TL_ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, state.TenantTokens(tenant));
  std::vector<ClampEffect> effects;
  for (auto& t : tokens) {
    if (t.StatusAt(now) != TokenStatus::kActive) continue;
    std::optional<int64_t> cap = MaxExpiryFor(limits, t.created_at);
    if (!cap || (t.expires_at && *t.expires_at <= *cap)) continue;  // never extends
    ClampEffect e;
    e.expires_at_before = t.expires_at;
    e.expires_at_after = *cap;
    e.expires_now = *cap <= now;
    e.token = std::move(t);
    effects.push_back(std::move(e));
  }
  return effects;
}

Result<Decision> DecideSetPolicy(const StateReader& state, const CommandContext& ctx,
                                 const PolicyLimits& limits) {
  TL_RETURN_IF_ERROR(ValidatePolicyLimits(limits));
  TL_ASSIGN_OR_RETURN(Policy current, state.PolicyOf(ctx.tenant));
  Decision d;
  if (current.limits == limits) return d;  // the defaults too, while none was set
  TL_ASSIGN_OR_RETURN(std::vector<ClampEffect> effects,
                      PreviewPolicy(state, ctx.tenant, limits, ctx.now));
  uint64_t version = current.version + 1;
  d.events.push_back(NewEvent(ctx, std::nullopt, std::nullopt,
                              PolicyChanged{current.limits, limits, version}));
  for (const auto& e : effects) {
    if (e.expires_now) {
      d.events.push_back(NewEvent(ctx, e.token.user, e.token.id, TokenExpired{e.expires_at_after}));
    } else {
      d.events.push_back(NewEvent(
          ctx, e.token.user, e.token.id,
          TokenExpiryShortened{e.expires_at_before, e.expires_at_after, version}));
    }
  }
  d.count = static_cast<uint32_t>(effects.size());
  return d;
}

Result<Decision> DecideDeactivate(const StateReader& state, const CommandContext& ctx,
                                  std::string_view user) {
  Decision d;
  TL_ASSIGN_OR_RETURN(bool deactivated, state.IsDeactivated(ctx.tenant, user));
  if (deactivated) return d;
  TL_ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, state.LiveUserTokens(ctx.tenant, user));
  for (const auto& t : tokens) {
    if (t.StatusAt(ctx.now) != TokenStatus::kActive) continue;
    d.events.push_back(
        RevokeEvent(ctx, t, RevokeReason::kUserDeactivated, std::nullopt, std::nullopt));
    ++d.count;
  }
  d.events.push_back(NewEvent(ctx, std::string(user), std::nullopt, UserDeactivated{d.count}));
  return d;
}

Result<Decision> DecideReactivate(const StateReader& state, const CommandContext& ctx,
                                  std::string_view user) {
  Decision d;
  TL_ASSIGN_OR_RETURN(bool deactivated, state.IsDeactivated(ctx.tenant, user));
  if (deactivated) {
    d.events.push_back(NewEvent(ctx, std::string(user), std::nullopt, UserReactivated{}));
  }
  return d;
}

Result<Decision> DecideLookup(const StateReader& state, const CommandContext& ctx,
                              std::string_view value) {
  TL_ASSIGN_OR_RETURN(std::optional<std::string> id, state.TokenIdByHash(Sha256(value)));
  std::optional<TokenRecord> token;
  if (id) {
    TL_ASSIGN_OR_RETURN(token, state.Token(*id));
    if (token && token->tenant != ctx.tenant) token.reset();
  }
  Decision d;
  if (token) {
    d.token_id = token->id;
    d.events.push_back(NewEvent(ctx, token->user, token->id, TokenLookedUp{true}));
  } else {
    d.events.push_back(NewEvent(ctx, std::nullopt, std::nullopt, TokenLookedUp{false}));
  }
  return d;
}

Result<Decision> DecideExpireDue(const StateReader& state, int64_t now, size_t limit) {
  TL_ASSIGN_OR_RETURN(std::vector<std::string> due, state.DueForExpiry(now, limit));
  return DecideExpireDue(state, now, due);
}

Result<Decision> DecideExpireDue(const StateReader& state, int64_t now,
                                 const std::vector<std::string>& due) {
  Decision d;
  CommandContext ctx;
  ctx.now = now;
  ctx.actor = Actor{ActorRole::kSystem, std::nullopt, std::nullopt};
  for (const auto& id : due) {
    TL_ASSIGN_OR_RETURN(std::optional<TokenRecord> token, state.Token(id));
    if (!token || token->StatusAt(now) != TokenStatus::kExpired || token->expired_logged ||
        token->revoked_at || !token->expires_at) {
      continue;
    }
    ctx.tenant = token->tenant;
    d.events.push_back(NewEvent(ctx, token->user, token->id, TokenExpired{*token->expires_at}));
  }
  d.count = static_cast<uint32_t>(d.events.size());
  return d;
}

}  // namespace tokenlog
