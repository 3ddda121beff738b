#include "api/views.h"

namespace tokenlog::api {

JcsObject TokenJson(const TokenRecord& t, int64_t now, std::optional<int64_t> fresher_use) {
  std::optional<int64_t> last_used = t.last_used_at;
  if (fresher_use && (!last_used || *last_used < *fresher_use)) last_used = fresher_use;
  JcsObject o;
  o.Str("id", t.id);
  o.Str("label", t.label);
  o.Str("hint", t.hint);
  o.Str("status", TokenStatusName(t.StatusAt(now)));
  o.Str("user", t.user);
  o.Time("created_at", t.created_at);
  o.OptTime("expires_at", t.expires_at);
  o.OptTime("last_used_at", last_used);
  o.OptTime("revoked_at", t.revoked_at);
  if (t.revoked_reason) {
    o.Str("revoked_reason", RevokeReasonName(*t.revoked_reason));
  } else {
    o.Null("revoked_reason");
  }
  return o;
}

JcsObject PolicyJson(const Policy& p, uint32_t max_active) {
  JcsObject o;
  if (p.limits.max_lifetime_days) {
    o.Int("max_lifetime_days", *p.limits.max_lifetime_days);
  } else {
    o.Null("max_lifetime_days");
  }
  o.Int("default_lifetime_days", p.limits.default_lifetime_days);
  o.Uint("max_active_tokens", max_active);
  o.Uint("version", p.version);
  o.OptTime("updated_at", p.updated_at);
  o.OptStr("updated_by", p.updated_by);
  return o;
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += items[i];
  }
  out.push_back(']');
  return out;
}

}  // namespace tokenlog::api
