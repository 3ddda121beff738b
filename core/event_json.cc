#include "core/event_json.h"

#include "core/time_format.h"

namespace tokenlog {

namespace {

JcsObject LimitsToJcs(const PolicyLimits& p) {
  JcsObject o;
  o.Int("default_lifetime_days", p.default_lifetime_days);
  if (p.max_lifetime_days) {
    o.Int("max_lifetime_days", *p.max_lifetime_days);
  } else {
    o.Null("max_lifetime_days");
  }
  return o;
}

struct DataRenderer {
  JcsObject operator()(const TokenMinted& d) const {
    JcsObject o;
    o.Str("label", d.label);
    o.OptTime("expires_at", d.expires_at);
    o.Str("hint", d.hint);
    o.Str("token_sha256", HexLower(d.token_sha256));
    if (d.rotated_from) o.Str("rotated_from", *d.rotated_from);
    return o;
  }
  JcsObject operator()(const TokenRevoked& d) const {
    JcsObject o;
    o.Str("reason", RevokeReasonName(d.reason));
    if (d.note) o.Str("note", *d.note);
    if (d.replaced_by) o.Str("replaced_by", *d.replaced_by);
    return o;
  }
  JcsObject operator()(const TokenExpired& d) const {
    JcsObject o;
    o.Time("expires_at", d.expires_at);
    return o;
  }
  JcsObject operator()(const TokenExpiryShortened& d) const {
    JcsObject o;
    o.OptTime("expires_at_before", d.expires_at_before);
    o.Time("expires_at_after", d.expires_at_after);
    o.Uint("policy_version", d.policy_version);
    return o;
  }
  JcsObject operator()(const TokenUsed& d) const {
    JcsObject o;
    o.Str("ip", d.ip);
    o.Str("user_agent", d.user_agent);
    o.Uint("count", d.count);
    o.Time("first_at", d.first_at);
    o.Time("last_at", d.last_at);
    return o;
  }
  JcsObject operator()(const AuthDenied& d) const {
    JcsObject o;
    o.Str("reason", DenyReasonName(d.reason));
    o.Str("claimed_user", d.claimed_user);
    o.Str("ip", d.ip);
    o.Str("user_agent", d.user_agent);
    o.Uint("count", d.count);
    return o;
  }
  JcsObject operator()(const TokenLookedUp& d) const {
    JcsObject o;
    o.Bool("found", d.found);
    return o;
  }
  JcsObject operator()(const PolicyChanged& d) const {
    JcsObject o;
    o.Obj("before", LimitsToJcs(d.before));
    o.Obj("after", LimitsToJcs(d.after));
    o.Uint("version", d.version);
    return o;
  }
  JcsObject operator()(const UserDeactivated& d) const {
    JcsObject o;
    o.Uint("revoked_tokens", d.revoked_tokens);
    return o;
  }
  JcsObject operator()(const UserReactivated&) const { return JcsObject(); }
};

}  // namespace

JcsObject EventToJcs(const Event& e, EventForm form) {
  JcsObject actor;
  actor.Str("role", ActorRoleName(e.actor.role));
  actor.OptStr("user", e.actor.user);
  actor.OptStr("ip", e.actor.ip);

  JcsObject o;
  o.Uint("seq", e.seq);
  o.Time("time", e.time);
  o.Str("type", EventTypeName(e.type()));
  o.Str("tenant", e.tenant);
  o.Obj("actor", actor);
  o.OptStr("user", e.user);
  o.OptStr("token_id", e.token_id);
  o.Obj("data", std::visit(DataRenderer{}, e.data));
  if (form == EventForm::kLog) {
    o.Str("prev_hash", HexLower(e.prev_hash));
    o.Str("hash", HexLower(e.hash));
  }
  return o;
}

std::string RenderEvent(const Event& event, EventForm form) {
  return EventToJcs(event, form).Render();
}

Digest ComputeEventHash(const Event& event) {
  JcsObject o = EventToJcs(event, EventForm::kApi);
  o.Str("prev_hash", HexLower(event.prev_hash));
  return Sha256(o.Render());
}

}  // namespace tokenlog
