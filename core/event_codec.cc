#include "core/event_codec.h"

#include <cstring>

#include "core/bytes.h"

namespace tokenlog {

namespace {

void PutDigest(ByteWriter& w, const Digest& d) {
  w.Bytes(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

void PutLimits(ByteWriter& w, const PolicyLimits& p) {
  w.U8(p.max_lifetime_days ? 1 : 0);
  if (p.max_lifetime_days) w.U32(static_cast<uint32_t>(*p.max_lifetime_days));
  w.U32(static_cast<uint32_t>(p.default_lifetime_days));
}

struct DataEncoder {
  ByteWriter& w;
  void operator()(const TokenMinted& d) const {
    w.Str(d.label);
    w.OptI64(d.expires_at);
    w.Str(d.hint);
    PutDigest(w, d.token_sha256);
    w.OptStr(d.rotated_from);
  }
  void operator()(const TokenRevoked& d) const {
    w.U8(static_cast<uint8_t>(d.reason));
    w.OptStr(d.note);
    w.OptStr(d.replaced_by);
  }
  void operator()(const TokenExpired& d) const { w.I64(d.expires_at); }
  void operator()(const TokenExpiryShortened& d) const {
    w.OptI64(d.expires_at_before);
    w.I64(d.expires_at_after);
    w.U64(d.policy_version);
  }
  void operator()(const TokenUsed& d) const {
    w.Str(d.ip);
    w.Str(d.user_agent);
    w.U64(d.count);
    w.I64(d.first_at);
    w.I64(d.last_at);
  }
  void operator()(const AuthDenied& d) const {
    w.U8(static_cast<uint8_t>(d.reason));
    w.Str(d.claimed_user);
    w.Str(d.ip);
    w.Str(d.user_agent);
    w.U64(d.count);
  }
  void operator()(const TokenLookedUp& d) const { w.U8(d.found ? 1 : 0); }
  void operator()(const PolicyChanged& d) const {
    PutLimits(w, d.before);
    PutLimits(w, d.after);
    w.U64(d.version);
  }
  void operator()(const UserDeactivated& d) const { w.U32(d.revoked_tokens); }
  void operator()(const UserReactivated&) const {}
};

// Reads fields, turning each failure into a Corruption status that names
// the field and the kind of damage.
class FieldReader {
 public:
  explicit FieldReader(std::string_view in) : r_(in) {}

  Status Truncated(std::string_view field) const {
    return Status(Code::kCorruption, "event truncated in " + std::string(field) + " at byte " +
                                         std::to_string(r_.offset()));
  }

  Status U8(std::string_view field, uint8_t* v) { return r_.U8(v) ? Status() : Truncated(field); }
  Status U32(std::string_view field, uint32_t* v) {
    return r_.U32(v) ? Status() : Truncated(field);
  }
  Status U64(std::string_view field, uint64_t* v) {
    return r_.U64(v) ? Status() : Truncated(field);
  }
  Status I64(std::string_view field, int64_t* v) {
    return r_.I64(v) ? Status() : Truncated(field);
  }
  Status Str(std::string_view field, std::string* s) {
    return r_.Str(s) ? Status() : Truncated(field);
  }
  Status OptStr(std::string_view field, std::optional<std::string>* s) {
    bool bad = false;
    if (r_.OptStr(s, &bad)) return Status();
    return bad ? BadPresence(field) : Truncated(field);
  }
  Status OptI64(std::string_view field, std::optional<int64_t>* v) {
    bool bad = false;
    if (r_.OptI64(v, &bad)) return Status();
    return bad ? BadPresence(field) : Truncated(field);
  }
  Status Digest32(std::string_view field, Digest* d) {
    std::string_view b;
    if (!r_.Bytes(d->size(), &b)) return Truncated(field);
    std::memcpy(d->data(), b.data(), d->size());
    return Status();
  }
  Status Bool(std::string_view field, bool* v) {
    uint8_t b;
    TL_RETURN_IF_ERROR(U8(field, &b));
    if (b > 1) {
      return Status(Code::kCorruption,
                    "event field " + std::string(field) + " is not a boolean (" +
                        std::to_string(b) + ")");
    }
    *v = b == 1;
    return Status();
  }
  Status Limits(std::string_view field, PolicyLimits* p) {
    uint8_t present;
    TL_RETURN_IF_ERROR(U8(field, &present));
    if (present > 1) return BadPresence(field);
    if (present == 1) {
      uint32_t max;
      TL_RETURN_IF_ERROR(U32(field, &max));
      p->max_lifetime_days = static_cast<int32_t>(max);
    } else {
      p->max_lifetime_days.reset();
    }
    uint32_t def;
    TL_RETURN_IF_ERROR(U32(field, &def));
    p->default_lifetime_days = static_cast<int32_t>(def);
    return Status();
  }
  size_t remaining() const { return r_.remaining(); }

 private:
  static Status BadPresence(std::string_view field) {
    return Status(Code::kCorruption,
                  "event field " + std::string(field) + " has a presence byte other than 0/1");
  }
  ByteReader r_;
};

// The alternative T of `out`, kept if it is already T (its strings' memory is
// then reused), else a fresh one. Every field of T is decoded over it.
template <typename T>
T& Reuse(EventData* out) {
  if (T* same = std::get_if<T>(out)) return *same;
  return out->emplace<T>();
}

Status DecodeData(EventType type, FieldReader& f, EventData* out) {
  switch (type) {
    case EventType::kTokenMinted: {
      TokenMinted& d = Reuse<TokenMinted>(out);
      TL_RETURN_IF_ERROR(f.Str("token.minted label", &d.label));
      TL_RETURN_IF_ERROR(f.OptI64("token.minted expires_at", &d.expires_at));
      TL_RETURN_IF_ERROR(f.Str("token.minted hint", &d.hint));
      TL_RETURN_IF_ERROR(f.Digest32("token.minted token_sha256", &d.token_sha256));
      TL_RETURN_IF_ERROR(f.OptStr("token.minted rotated_from", &d.rotated_from));
      return Status();
    }
    case EventType::kTokenRevoked: {
      TokenRevoked& d = Reuse<TokenRevoked>(out);
      uint8_t reason;
      TL_RETURN_IF_ERROR(f.U8("token.revoked reason", &reason));
      if (reason < 1 || reason > kMaxRevokeReason) {
        return Status(Code::kCorruption, "unknown revoke reason " + std::to_string(reason));
      }
      d.reason = static_cast<RevokeReason>(reason);
      TL_RETURN_IF_ERROR(f.OptStr("token.revoked note", &d.note));
      TL_RETURN_IF_ERROR(f.OptStr("token.revoked replaced_by", &d.replaced_by));
      return Status();
    }
    case EventType::kTokenExpired: {
      TokenExpired& d = Reuse<TokenExpired>(out);
      TL_RETURN_IF_ERROR(f.I64("token.expired expires_at", &d.expires_at));
      return Status();
    }
    case EventType::kTokenExpiryShortened: {
      TokenExpiryShortened& d = Reuse<TokenExpiryShortened>(out);
      TL_RETURN_IF_ERROR(f.OptI64("token.expiry_shortened expires_at_before", &d.expires_at_before));
      TL_RETURN_IF_ERROR(f.I64("token.expiry_shortened expires_at_after", &d.expires_at_after));
      TL_RETURN_IF_ERROR(f.U64("token.expiry_shortened policy_version", &d.policy_version));
      return Status();
    }
    case EventType::kTokenUsed: {
      TokenUsed& d = Reuse<TokenUsed>(out);
      TL_RETURN_IF_ERROR(f.Str("token.used ip", &d.ip));
      TL_RETURN_IF_ERROR(f.Str("token.used user_agent", &d.user_agent));
      TL_RETURN_IF_ERROR(f.U64("token.used count", &d.count));
      TL_RETURN_IF_ERROR(f.I64("token.used first_at", &d.first_at));
      TL_RETURN_IF_ERROR(f.I64("token.used last_at", &d.last_at));
      return Status();
    }
    case EventType::kAuthDenied: {
      AuthDenied& d = Reuse<AuthDenied>(out);
      uint8_t reason;
      TL_RETURN_IF_ERROR(f.U8("auth.denied reason", &reason));
      if (reason < 1 || reason > kMaxDenyReason) {
        return Status(Code::kCorruption, "unknown deny reason " + std::to_string(reason));
      }
      d.reason = static_cast<DenyReason>(reason);
      TL_RETURN_IF_ERROR(f.Str("auth.denied claimed_user", &d.claimed_user));
      TL_RETURN_IF_ERROR(f.Str("auth.denied ip", &d.ip));
      TL_RETURN_IF_ERROR(f.Str("auth.denied user_agent", &d.user_agent));
      TL_RETURN_IF_ERROR(f.U64("auth.denied count", &d.count));
      return Status();
    }
    case EventType::kTokenLookedUp: {
      TokenLookedUp& d = Reuse<TokenLookedUp>(out);
      TL_RETURN_IF_ERROR(f.Bool("token.looked_up found", &d.found));
      return Status();
    }
    case EventType::kPolicyChanged: {
      PolicyChanged& d = Reuse<PolicyChanged>(out);
      TL_RETURN_IF_ERROR(f.Limits("policy.changed before", &d.before));
      TL_RETURN_IF_ERROR(f.Limits("policy.changed after", &d.after));
      TL_RETURN_IF_ERROR(f.U64("policy.changed version", &d.version));
      return Status();
    }
    case EventType::kUserDeactivated: {
      UserDeactivated& d = Reuse<UserDeactivated>(out);
      TL_RETURN_IF_ERROR(f.U32("user.deactivated revoked_tokens", &d.revoked_tokens));
      return Status();
    }
    case EventType::kUserReactivated:
      Reuse<UserReactivated>(out);
      return Status();
  }
  return Status(Code::kCorruption, "unknown event type");
}

}  // namespace

std::string EncodeEvent(const Event& e) {
  ByteWriter w;
  w.U8(kEventFormatVersion);
  w.U8(static_cast<uint8_t>(e.type()));
  w.U64(e.seq);
  w.I64(e.time);
  w.Str(e.tenant);
  w.U8(static_cast<uint8_t>(e.actor.role));
  w.OptStr(e.actor.user);
  w.OptStr(e.actor.ip);
  w.OptStr(e.user);
  w.OptStr(e.token_id);
  std::visit(DataEncoder{w}, e.data);
  PutDigest(w, e.prev_hash);
  PutDigest(w, e.hash);
  return w.Release();
}

Status DecodeEventInto(std::string_view bytes, Event* out) {
  FieldReader f(bytes);
  uint8_t version;
  if (bytes.empty()) return Status(Code::kCorruption, "event is empty");
  TL_RETURN_IF_ERROR(f.U8("version", &version));
  if (version != kEventFormatVersion) {
    return Status(Code::kCorruption, "unsupported event format version " + std::to_string(version));
  }
  uint8_t type;
  TL_RETURN_IF_ERROR(f.U8("type", &type));
  if (type < 1 || type > kMaxEventType) {
    return Status(Code::kCorruption, "unknown event type " + std::to_string(type));
  }
  Event& e = *out;
  TL_RETURN_IF_ERROR(f.U64("seq", &e.seq));
  TL_RETURN_IF_ERROR(f.I64("time", &e.time));
  TL_RETURN_IF_ERROR(f.Str("tenant", &e.tenant));
  uint8_t role;
  TL_RETURN_IF_ERROR(f.U8("actor role", &role));
  if (role < 1 || role > 4) {
    return Status(Code::kCorruption, "unknown actor role " + std::to_string(role));
  }
  e.actor.role = static_cast<ActorRole>(role);
  TL_RETURN_IF_ERROR(f.OptStr("actor user", &e.actor.user));
  TL_RETURN_IF_ERROR(f.OptStr("actor ip", &e.actor.ip));
  TL_RETURN_IF_ERROR(f.OptStr("user", &e.user));
  TL_RETURN_IF_ERROR(f.OptStr("token_id", &e.token_id));
  TL_RETURN_IF_ERROR(DecodeData(static_cast<EventType>(type), f, &e.data));
  TL_RETURN_IF_ERROR(f.Digest32("prev_hash", &e.prev_hash));
  TL_RETURN_IF_ERROR(f.Digest32("hash", &e.hash));
  if (f.remaining() != 0) {
    return Status(Code::kCorruption,
                  "event has " + std::to_string(f.remaining()) + " trailing bytes");
  }
  return Status();
}

Result<Event> DecodeEvent(std::string_view bytes) {
  Event e;
  TL_RETURN_IF_ERROR(DecodeEventInto(bytes, &e));
  return e;
}

}  // namespace tokenlog
