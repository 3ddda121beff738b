#include "projections/token_projector.h"

#include "core/token_codec.h"
#include "projections/audit.h"
#include "projections/records.h"
#include "projections/state_view.h"

namespace tokenlog::projections {

namespace {

void PutToken(KeyspaceWriter& out, const TokenRecord& t) {
  out.Put(Keyspace::kTokens, t.id, EncodeTokenRecord(t));
}

// Keeps user_live equal to { tokens neither revoked nor logged expired }:
// `t` (as it was before the event) leaves it.
void DropLive(KeyspaceWriter& out, const TokenRecord& t) {
  if (!t.revoked_at && !t.expired_logged) {
    out.Delete(Keyspace::kUserLive, UserTokensKey(t.tenant, t.user, t.mint_seq));
  }
}

Result<TokenRecord> Existing(const Event& e, const KeyspaceWriter& out) {
  if (!e.token_id) {
    return Status(Code::kCorruption, std::string(EventTypeName(e.type())) + " event seq " +
                                         std::to_string(e.seq) + " has no token_id");
  }
  TL_ASSIGN_OR_RETURN(std::optional<TokenRecord> t, ProjectionState(out).Token(*e.token_id));
  if (!t) {
    return Status(Code::kCorruption, std::string(EventTypeName(e.type())) + " event seq " +
                                         std::to_string(e.seq) + " names unknown token " +
                                         *e.token_id);
  }
  return std::move(*t);
}

struct Applier {
  const Event& e;
  KeyspaceWriter& out;

  Status operator()(const TokenMinted&) const {
    std::optional<TokenRecord> minted = MintedRecord(e);
    if (!minted) {
      return Status(Code::kCorruption,
                    "token.minted event seq " + std::to_string(e.seq) + " lacks token or user");
    }
    const TokenRecord& t = *minted;
    PutToken(out, t);
    // A token's id is derived from its digest since schema 5: the digest
    // finds it in `tokens` (ProjectionState::TokenIdByHash). Only an id
    // minted before (random) needs the hash index.
    if (!IsTokenIdOf(t.id, t.sha256)) out.Put(Keyspace::kTokenHash, HashKey(t.sha256), t.id);
    std::string user_key = UserTokensKey(t.tenant, t.user, e.seq);
    out.Put(Keyspace::kUserTokens, user_key, t.id);
    out.Put(Keyspace::kUserLive, user_key, t.id);
    out.Put(Keyspace::kTenantTokens, TenantTokensKey(t.tenant, e.seq), t.id);
    return Status();
  }
  Status operator()(const TokenRevoked& d) const {
    TL_ASSIGN_OR_RETURN(TokenRecord t, Existing(e, out));
    DropLive(out, t);
    t.revoked_at = e.time;
    t.revoked_reason = d.reason;
    PutToken(out, t);
    return Status();
  }
  Status operator()(const TokenExpired& d) const {
    TL_ASSIGN_OR_RETURN(TokenRecord t, Existing(e, out));
    DropLive(out, t);
    t.expires_at = d.expires_at;
    t.expired_logged = true;
    PutToken(out, t);
    return Status();
  }
  Status operator()(const TokenExpiryShortened& d) const {
    TL_ASSIGN_OR_RETURN(TokenRecord t, Existing(e, out));
    t.expires_at = d.expires_at_after;
    PutToken(out, t);
    return Status();
  }
  Status operator()(const TokenUsed& d) const {
    TL_ASSIGN_OR_RETURN(TokenRecord t, Existing(e, out));
    if (!t.last_used_at || *t.last_used_at < d.last_at) {
      t.last_used_at = d.last_at;
      PutToken(out, t);
    }
    return Status();
  }
  Status operator()(const AuthDenied&) const { return Status(); }
  Status operator()(const TokenLookedUp&) const { return Status(); }
  Status operator()(const PolicyChanged& d) const {
    Policy p;
    p.limits = d.after;
    p.version = d.version;
    p.updated_at = e.time;
    p.updated_by = e.actor.user;
    out.Put(Keyspace::kPolicies, e.tenant, EncodePolicy(p));
    return Status();
  }
  Status operator()(const UserDeactivated&) const {
    if (!e.user) return Status(Code::kCorruption, "user.deactivated event without user");
    out.Put(Keyspace::kUsers, UsersKey(e.tenant, *e.user), EncodeDeactivation(e.seq));
    return Status();
  }
  Status operator()(const UserReactivated&) const {
    if (!e.user) return Status(Code::kCorruption, "user.reactivated event without user");
    out.Delete(Keyspace::kUsers, UsersKey(e.tenant, *e.user));
    return Status();
  }
};

}  // namespace

std::optional<TokenRecord> MintedRecord(const Event& e) {
  const auto* d = std::get_if<TokenMinted>(&e.data);
  if (!d || !e.token_id || !e.user) return std::nullopt;
  TokenRecord t;
  t.id = *e.token_id;
  t.tenant = e.tenant;
  t.user = *e.user;
  t.label = d->label;
  t.hint = d->hint;
  t.sha256 = d->token_sha256;
  t.mint_seq = e.seq;
  t.created_at = e.time;
  t.expires_at = d->expires_at;
  return t;
}

Status TokenProjector::Apply(const Event& event, KeyspaceWriter& out) const {
  TL_RETURN_IF_ERROR(std::visit(Applier{event, out}, event.data));
  ApplyAudit(event, out);
  return Status();
}

}  // namespace tokenlog::projections
