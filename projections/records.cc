#include "projections/records.h"

#include <cstring>
#include <initializer_list>

#include "core/bytes.h"

namespace tokenlog::projections {

namespace {
constexpr uint8_t kRecordVersion = 1;

// The parts, the first `separators` of them each followed by a \0, in one
// allocation (keys are built for every event a rebuild applies).
std::string Concat(std::initializer_list<std::string_view> parts, size_t separators) {
  size_t n = separators;
  for (auto p : parts) n += p.size();
  std::string k;
  k.reserve(n);
  size_t i = 0;
  for (auto p : parts) {
    k.append(p);
    if (i++ < separators) k.push_back('\0');
  }
  return k;
}

std::string U64Bytes(uint64_t v) {
  std::string b(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xff);
  return b;  // fits the small-string buffer: no allocation
}

Status Bad(std::string_view what, std::string_view field) {
  return Status(Code::kCorruption, std::string(what) + " record: bad or truncated " +
                                       std::string(field));
}
}  // namespace

std::string UserTokensPrefix(std::string_view tenant, std::string_view user) {
  return Concat({tenant, user}, 2);
}
std::string UserTokensKey(std::string_view tenant, std::string_view user, uint64_t mint_seq) {
  return Concat({tenant, user, U64Bytes(mint_seq)}, 2);
}
std::string TenantTokensPrefix(std::string_view tenant) { return Concat({tenant}, 1); }
std::string TenantTokensKey(std::string_view tenant, uint64_t mint_seq) {
  return Concat({tenant, U64Bytes(mint_seq)}, 1);
}
std::string UsersKey(std::string_view tenant, std::string_view user) {
  return Concat({tenant, user}, 1);
}
std::string HashKey(const Digest& sha256) {
  return std::string(reinterpret_cast<const char*>(sha256.data()), sha256.size());
}

std::string EncodeTokenRecord(const TokenRecord& r) {
  ByteWriter w;
  // Five length prefixes (at most 5 bytes each), the digest and 46 bytes of
  // fixed fields at most: one allocation.
  w.Reserve(r.id.size() + r.tenant.size() + r.user.size() + r.label.size() + r.hint.size() +
            5 * 5 + r.sha256.size() + 64);
  w.U8(kRecordVersion);
  w.Str(r.id);
  w.Str(r.tenant);
  w.Str(r.user);
  w.Str(r.label);
  w.Str(r.hint);
  w.Bytes(std::string_view(reinterpret_cast<const char*>(r.sha256.data()), r.sha256.size()));
  w.U64(r.mint_seq);
  w.I64(r.created_at);
  w.OptI64(r.expires_at);
  w.OptI64(r.revoked_at);
  w.U8(r.revoked_reason ? static_cast<uint8_t>(*r.revoked_reason) : 0);
  w.OptI64(r.last_used_at);
  w.U8(r.expired_logged ? 1 : 0);
  return w.Release();
}

Result<TokenRecordView> DecodeTokenRecordView(std::string_view bytes) {
  ByteReader r(bytes);
  TokenRecordView t;
  uint8_t version = 0;
  bool bad_presence = false;
  if (!r.U8(&version) || version != kRecordVersion) return Bad("token", "version");
  if (!r.Str(&t.id)) return Bad("token", "id");
  if (!r.Str(&t.tenant)) return Bad("token", "tenant");
  if (!r.Str(&t.user)) return Bad("token", "user");
  if (!r.Str(&t.label)) return Bad("token", "label");
  if (!r.Str(&t.hint)) return Bad("token", "hint");
  std::string_view sha;
  if (!r.Bytes(t.sha256.size(), &sha)) return Bad("token", "sha256");
  std::memcpy(t.sha256.data(), sha.data(), sha.size());
  if (!r.U64(&t.mint_seq)) return Bad("token", "mint_seq");
  if (!r.I64(&t.created_at)) return Bad("token", "created_at");
  if (!r.OptI64(&t.expires_at, &bad_presence)) return Bad("token", "expires_at");
  if (!r.OptI64(&t.revoked_at, &bad_presence)) return Bad("token", "revoked_at");
  uint8_t reason = 0;
  if (!r.U8(&reason) || reason > kMaxRevokeReason) return Bad("token", "revoked_reason");
  if (reason != 0) t.revoked_reason = static_cast<RevokeReason>(reason);
  if (!r.OptI64(&t.last_used_at, &bad_presence)) return Bad("token", "last_used_at");
  uint8_t logged = 0;
  if (!r.U8(&logged) || logged > 1) return Bad("token", "expired_logged");
  t.expired_logged = logged == 1;
  if (r.remaining() != 0) return Bad("token", "trailing bytes");
  return t;
}

Result<TokenRecord> DecodeTokenRecord(std::string_view bytes) {
  TL_ASSIGN_OR_RETURN(TokenRecordView v, DecodeTokenRecordView(bytes));
  TokenRecord t;
  t.id.assign(v.id);
  t.tenant.assign(v.tenant);
  t.user.assign(v.user);
  t.label.assign(v.label);
  t.hint.assign(v.hint);
  t.sha256 = v.sha256;
  t.mint_seq = v.mint_seq;
  t.created_at = v.created_at;
  t.expires_at = v.expires_at;
  t.revoked_at = v.revoked_at;
  t.revoked_reason = v.revoked_reason;
  t.last_used_at = v.last_used_at;
  t.expired_logged = v.expired_logged;
  return t;
}

std::string EncodePolicy(const Policy& p) {
  ByteWriter w;
  w.U8(kRecordVersion);
  w.U8(p.limits.max_lifetime_days ? 1 : 0);
  if (p.limits.max_lifetime_days) w.U32(static_cast<uint32_t>(*p.limits.max_lifetime_days));
  w.U32(static_cast<uint32_t>(p.limits.default_lifetime_days));
  w.U64(p.version);
  w.OptI64(p.updated_at);
  w.OptStr(p.updated_by);
  return w.Release();
}

Result<Policy> DecodePolicy(std::string_view bytes) {
  ByteReader r(bytes);
  Policy p;
  uint8_t version = 0, present = 0;
  bool bad_presence = false;
  if (!r.U8(&version) || version != kRecordVersion) return Bad("policy", "version");
  if (!r.U8(&present) || present > 1) return Bad("policy", "max_lifetime_days");
  if (present) {
    uint32_t max;
    if (!r.U32(&max)) return Bad("policy", "max_lifetime_days");
    p.limits.max_lifetime_days = static_cast<int32_t>(max);
  } else {
    p.limits.max_lifetime_days.reset();
  }
  uint32_t def;
  if (!r.U32(&def)) return Bad("policy", "default_lifetime_days");
  p.limits.default_lifetime_days = static_cast<int32_t>(def);
  if (!r.U64(&p.version)) return Bad("policy", "policy_version");
  if (!r.OptI64(&p.updated_at, &bad_presence)) return Bad("policy", "updated_at");
  if (!r.OptStr(&p.updated_by, &bad_presence)) return Bad("policy", "updated_by");
  if (r.remaining() != 0) return Bad("policy", "trailing bytes");
  return p;
}

std::string EncodeDeactivation(uint64_t seq) {
  ByteWriter w;
  w.U8(kRecordVersion);
  w.U64(seq);
  return w.Release();
}

}  // namespace tokenlog::projections
