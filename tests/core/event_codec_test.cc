// The stored event encoding (core/event_codec.h): round trips of every type
// and optional field, a golden byte layout, and corruption: truncation at every
// length, trailing bytes, bad enum and presence bytes, a distinct message per
// malformed case, and single-byte damage that is never silently accepted.
#include "core/event_codec.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/sha256.h"

namespace tokenlog {
namespace {

constexpr int64_t kTime = 1'795'924'800'000;  // 2026-11-29T04:00:00.000Z
constexpr const char* kTokenId = "tok_7kQ2mZ9xLp4RtV8w";
constexpr const char* kOldTokenId = "tok_1a2b3c4d5e6f7g8h";
constexpr size_t kDigestBytes = 32;

// An event with every optional header field set.
Event Full(EventData data) {
  Event e;
  e.seq = 42;
  e.time = kTime;
  e.tenant = "acme";
  e.actor = Actor{ActorRole::kUser, "alice@acme.example", "203.0.113.7"};
  e.user = "alice@acme.example";
  e.token_id = kTokenId;
  e.data = std::move(data);
  e.prev_hash = Sha256("prev");
  e.hash = Sha256("hash");
  return e;
}

// An event with every optional header field null.
Event Bare(EventData data) {
  Event e = Full(std::move(data));
  e.actor = Actor{ActorRole::kSystem, std::nullopt, std::nullopt};
  e.user.reset();
  e.token_id.reset();
  return e;
}

TokenMinted FullMinted() {
  return TokenMinted{"Power BI \xE2\x80\x94 laptop", kTime + 1, "tlp_\xE2\x80\xA6Wx3Q",
                     Sha256("value"), std::string(kOldTokenId)};
}

// One event of each type, every optional field set.
std::vector<Event> FullSamples() {
  return {
      Full(FullMinted()),
      Full(TokenRevoked{RevokeReason::kRotated, "a note", std::string(kOldTokenId)}),
      Full(TokenExpired{kTime - 1}),
      Full(TokenExpiryShortened{kTime + 9, kTime + 3, 7}),
      Full(TokenUsed{"203.0.113.7", "PowerBI/2.0", 5, kTime - 10, kTime - 1}),
      Full(AuthDenied{DenyReason::kTenantMismatch, "mallory", "192.0.2.1", "curl/8", 2}),
      Full(TokenLookedUp{true}),
      Full(PolicyChanged{{365, 90}, {30, 7}, 3}),
      Full(UserDeactivated{4}),
      Full(UserReactivated{}),
  };
}

Result<Event> Decode(const std::string& bytes) { return DecodeEvent(bytes); }

void CheckRoundTrip(const Event& e) {
  std::string bytes = EncodeEvent(e);
  auto back = DecodeEvent(bytes);
  REQUIRE(back.ok());
  CHECK(*back == e);
  CHECK(EncodeEvent(*back) == bytes);
}

std::string With(std::string bytes, size_t offset, uint8_t value) {
  REQUIRE(offset < bytes.size());
  bytes[offset] = static_cast<char>(value);
  return bytes;
}

// Where the data of `e` begins in its encoding: everything before it is the
// header, whose length does not depend on the type.
size_t DataOffset(const Event& e) {
  Event header = e;
  header.data = UserReactivated{};
  return EncodeEvent(header).size() - 2 * kDigestBytes;
}

// version, type, seq, time, then the tenant string (one-byte length here).
size_t RoleOffset(const Event& e) { return 1 + 1 + 8 + 8 + 1 + e.tenant.size(); }

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// "event truncated in <field> at byte N" -> "<field>".
std::string TruncatedField(const std::string& detail) {
  const std::string head = "event truncated in ";
  auto at = detail.rfind(" at byte ");
  if (detail.rfind(head, 0) != 0 || at == std::string::npos) return "?" + detail;
  return detail.substr(head.size(), at - head.size());
}

// The fields named by truncating `e` at every length 1..n-1, in order, each
// once; every cut must be kCorruption.
std::vector<std::string> TruncationFields(const Event& e) {
  std::string bytes = EncodeEvent(e);
  std::vector<std::string> fields;
  for (size_t n = 1; n < bytes.size(); ++n) {
    auto r = Decode(bytes.substr(0, n));
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.status().code() == Code::kCorruption);
    std::string field = TruncatedField(r.status().detail());
    if (fields.empty() || fields.back() != field) fields.push_back(field);
  }
  return fields;
}

}  // namespace

// ---------------------------------------------------------------------------
// Round trips

TEST_CASE("event codec round-trips token.minted with every optional combination", "[event_codec]") {
  for (bool expires : {false, true}) {
    for (bool rotated : {false, true}) {
      TokenMinted d = FullMinted();
      if (!expires) d.expires_at.reset();
      if (!rotated) d.rotated_from.reset();
      CheckRoundTrip(Full(d));
      CheckRoundTrip(Bare(d));
    }
  }
}

TEST_CASE("event codec round-trips token.revoked for every reason and optional combination",
          "[event_codec]") {
  for (uint8_t reason = 1; reason <= kMaxRevokeReason; ++reason) {
    for (bool note : {false, true}) {
      for (bool replaced : {false, true}) {
        TokenRevoked d;
        d.reason = static_cast<RevokeReason>(reason);
        if (note) d.note = "left \"Acme\" \xE2\x80\x94 see ticket";
        if (replaced) d.replaced_by = kOldTokenId;
        CheckRoundTrip(Full(d));
        CheckRoundTrip(Bare(d));
      }
    }
  }
}

TEST_CASE("event codec round-trips token.expired and token.expiry_shortened", "[event_codec]") {
  CheckRoundTrip(Full(TokenExpired{kTime}));
  CheckRoundTrip(Full(TokenExpired{std::numeric_limits<int64_t>::min()}));
  CheckRoundTrip(Full(TokenExpired{std::numeric_limits<int64_t>::max()}));
  CheckRoundTrip(Full(TokenExpiryShortened{kTime + 5, kTime + 1, 1}));
  CheckRoundTrip(Full(TokenExpiryShortened{std::nullopt, kTime + 1, 1}));
  CheckRoundTrip(Bare(TokenExpiryShortened{-1, -2, std::numeric_limits<uint64_t>::max()}));
}

TEST_CASE("event codec round-trips token.used and auth.denied for every deny reason",
          "[event_codec]") {
  CheckRoundTrip(Full(TokenUsed{"2001:db8::1", "Microsoft.Data.Mashup (https://x/?a=b)",
                                std::numeric_limits<uint64_t>::max(), -5, 0}));
  CheckRoundTrip(Bare(TokenUsed{"", "", 0, 0, 0}));
  for (uint8_t reason = 1; reason <= kMaxDenyReason; ++reason) {
    AuthDenied d{static_cast<DenyReason>(reason), "mallory@acme.example", "192.0.2.1", "ua", 9};
    CheckRoundTrip(Full(d));
    CheckRoundTrip(Bare(d));
  }
}

TEST_CASE("event codec round-trips token.looked_up found and not found", "[event_codec]") {
  CheckRoundTrip(Full(TokenLookedUp{true}));
  CheckRoundTrip(Full(TokenLookedUp{false}));
  CheckRoundTrip(Bare(TokenLookedUp{false}));
}

TEST_CASE("event codec round-trips policy.changed with null and set maxima", "[event_codec]") {
  for (bool before_max : {false, true}) {
    for (bool after_max : {false, true}) {
      PolicyChanged d{{365, 90}, {3650, 3650}, 12};
      if (!before_max) d.before.max_lifetime_days.reset();
      if (!after_max) d.after.max_lifetime_days.reset();
      CheckRoundTrip(Full(d));
      CheckRoundTrip(Bare(d));
    }
  }
}

TEST_CASE("event codec round-trips user.deactivated and user.reactivated", "[event_codec]") {
  CheckRoundTrip(Full(UserDeactivated{0}));
  CheckRoundTrip(Full(UserDeactivated{std::numeric_limits<uint32_t>::max()}));
  CheckRoundTrip(Full(UserReactivated{}));
  CheckRoundTrip(Bare(UserReactivated{}));
}

TEST_CASE("event codec round-trips every actor role with every user/ip combination",
          "[event_codec]") {
  for (uint8_t role = 1; role <= 4; ++role) {
    for (bool user : {false, true}) {
      for (bool ip : {false, true}) {
        for (bool subject : {false, true}) {
          for (bool token : {false, true}) {
            Event e = Full(TokenLookedUp{true});
            e.actor.role = static_cast<ActorRole>(role);
            if (!user) e.actor.user.reset();
            if (!ip) e.actor.ip.reset();
            if (!subject) e.user.reset();
            if (!token) e.token_id.reset();
            CheckRoundTrip(e);
          }
        }
      }
    }
  }
}

TEST_CASE("event codec round-trips extreme numbers, empty, long and binary strings",
          "[event_codec]") {
  Event e = Full(FullMinted());
  e.seq = std::numeric_limits<uint64_t>::max();
  e.time = std::numeric_limits<int64_t>::min();
  CheckRoundTrip(e);
  e.seq = 0;
  e.time = -1;
  e.tenant = "";
  e.actor.user = "";
  CheckRoundTrip(e);
  // Lengths on both sides of the varint32 byte boundaries.
  for (size_t len : {size_t{127}, size_t{128}, size_t{16383}, size_t{16384}, size_t{70000}}) {
    Event big = Full(FullMinted());
    big.tenant = std::string(len, 't');
    std::get<TokenMinted>(big.data).label = std::string(len, 'L');
    CheckRoundTrip(big);
  }
  Event binary = Full(TokenUsed{std::string("a\0b", 3), "\xFF\xFE", 1, 2, 3});
  binary.prev_hash = Digest{};
  binary.hash.fill(0xFF);
  CheckRoundTrip(binary);
}

TEST_CASE("event encoding matches its documented byte layout", "[event_codec]") {
  Event e;
  e.seq = 1;
  e.time = 2;
  e.tenant = "t";
  e.actor = Actor{ActorRole::kAdmin, "a", std::nullopt};
  e.user = "u";
  e.data = TokenLookedUp{true};
  e.prev_hash.fill(0x11);
  e.hash.fill(0x22);
  std::string expected;
  expected += std::string("\x01\x07", 2);                          // version, type
  expected += std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8);  // seq
  expected += std::string("\x00\x00\x00\x00\x00\x00\x00\x02", 8);  // time
  expected += std::string("\x01t", 2);                             // tenant
  expected += std::string(
      "\x02\x01\x01"
      "a\x00",
      5);                                   // actor: admin, "a", no ip
  expected += std::string("\x01\x01u", 3);  // user
  expected += std::string("\x00", 1);       // token_id null
  expected += std::string("\x01", 1);       // found
  expected += std::string(32, '\x11') + std::string(32, '\x22');
  CHECK(EncodeEvent(e) == expected);
  CHECK(kEventFormatVersion == 1);

  Event p = Bare(PolicyChanged{{std::nullopt, 7}, {30, 10}, 2});
  std::string data = EncodeEvent(p).substr(DataOffset(p));
  CHECK(data.substr(0, data.size() - 64) == std::string("\x00\x00\x00\x00\x07"
                                                        "\x01\x00\x00\x00\x1e\x00\x00\x00\x0a"
                                                        "\x00\x00\x00\x00\x00\x00\x00\x02",
                                                        22));
}

// ---------------------------------------------------------------------------
// Corruption

TEST_CASE("every truncation of every event type is corruption, never OK", "[event_codec]") {
  std::vector<Event> samples = FullSamples();
  for (const Event& e : FullSamples()) samples.push_back(Bare(e.data));
  for (const Event& e : samples) {
    std::string bytes = EncodeEvent(e);
    INFO(EventTypeName(e.type()));
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto r = Decode(bytes.substr(0, n));
      INFO("cut at " << n);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kCorruption);
    }
  }
  auto empty = DecodeEvent("");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().detail() == "event is empty");
}

TEST_CASE("a truncated event names the field it was cut in, in grammar order", "[event_codec]") {
  const std::vector<std::string> header = {
      "type", "seq", "time", "tenant", "actor role", "actor user", "actor ip", "user", "token_id"};
  const std::map<EventType, std::vector<std::string>> data_fields = {
      {EventType::kTokenMinted,
       {"token.minted label", "token.minted expires_at", "token.minted hint",
        "token.minted token_sha256", "token.minted rotated_from"}},
      {EventType::kTokenRevoked,
       {"token.revoked reason", "token.revoked note", "token.revoked replaced_by"}},
      {EventType::kTokenExpired, {"token.expired expires_at"}},
      {EventType::kTokenExpiryShortened,
       {"token.expiry_shortened expires_at_before", "token.expiry_shortened expires_at_after",
        "token.expiry_shortened policy_version"}},
      {EventType::kTokenUsed,
       {"token.used ip", "token.used user_agent", "token.used count", "token.used first_at",
        "token.used last_at"}},
      {EventType::kAuthDenied,
       {"auth.denied reason", "auth.denied claimed_user", "auth.denied ip",
        "auth.denied user_agent", "auth.denied count"}},
      {EventType::kTokenLookedUp, {"token.looked_up found"}},
      {EventType::kPolicyChanged,
       {"policy.changed before", "policy.changed after", "policy.changed version"}},
      {EventType::kUserDeactivated, {"user.deactivated revoked_tokens"}},
      {EventType::kUserReactivated, {}},
  };
  for (const Event& e : FullSamples()) {
    INFO(EventTypeName(e.type()));
    std::vector<std::string> expected = header;
    const auto& data = data_fields.at(e.type());
    expected.insert(expected.end(), data.begin(), data.end());
    expected.push_back("prev_hash");
    expected.push_back("hash");
    CHECK(TruncationFields(e) == expected);
  }
}

TEST_CASE("an event with bytes after its hash reports trailing bytes", "[event_codec]") {
  for (const Event& e : FullSamples()) {
    INFO(EventTypeName(e.type()));
    for (char extra : {'\0', '\x01', '\xff'}) {
      auto r = Decode(EncodeEvent(e) + extra);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kCorruption);
      CHECK(r.status().detail() == "event has 1 trailing bytes");
    }
  }
  auto two = Decode(EncodeEvent(Full(UserReactivated{})) + "xy");
  REQUIRE_FALSE(two.ok());
  CHECK(Contains(two.status().detail(), "2 trailing bytes"));
}

TEST_CASE("a bad version, type or actor role byte is corruption naming it", "[event_codec]") {
  const std::string good = EncodeEvent(Full(TokenLookedUp{true}));
  for (uint8_t v : {0, 2, 255}) {
    auto r = Decode(With(good, 0, v));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), "version"));
    CHECK(Contains(r.status().detail(), std::to_string(v)));
  }
  for (uint8_t t : {0, 11, 255}) {
    auto r = Decode(With(good, 1, t));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), "unknown event type"));
    CHECK(Contains(r.status().detail(), std::to_string(t)));
  }
  const size_t role = RoleOffset(Full(TokenLookedUp{true}));
  REQUIRE(static_cast<uint8_t>(good[role]) == static_cast<uint8_t>(ActorRole::kUser));
  for (uint8_t r8 : {0, 5, 255}) {
    auto r = Decode(With(good, role, r8));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), "actor role"));
  }
}

TEST_CASE("a presence byte other than 0/1 is corruption naming its field", "[event_codec]") {
  struct Case {
    Event event;
    size_t offset;
    std::string field;
  };
  std::vector<Case> cases;
  // Header optionals: with all of them null they are four presence bytes in a row.
  Event bare = Bare(TokenLookedUp{true});
  size_t role = RoleOffset(bare);
  cases.push_back({bare, role + 1, "actor user"});
  cases.push_back({bare, role + 2, "actor ip"});
  cases.push_back({bare, role + 3, "user"});
  cases.push_back({bare, role + 4, "token_id"});
  // Data optionals.
  TokenMinted minted{"L", std::nullopt, "h", Digest{}, std::nullopt};
  Event m = Bare(minted);
  cases.push_back({m, DataOffset(m) + 2, "token.minted expires_at"});  // after str "L"
  cases.push_back({m, EncodeEvent(m).size() - 2 * kDigestBytes - 1, "token.minted rotated_from"});
  Event rv = Bare(TokenRevoked{RevokeReason::kUser, std::nullopt, std::nullopt});
  cases.push_back({rv, DataOffset(rv) + 1, "token.revoked note"});
  cases.push_back({rv, DataOffset(rv) + 2, "token.revoked replaced_by"});
  Event sh = Bare(TokenExpiryShortened{std::nullopt, kTime, 1});
  cases.push_back({sh, DataOffset(sh), "token.expiry_shortened expires_at_before"});
  Event pc = Bare(PolicyChanged{{std::nullopt, 90}, {std::nullopt, 30}, 1});
  cases.push_back({pc, DataOffset(pc), "policy.changed before"});
  cases.push_back({pc, DataOffset(pc) + 5, "policy.changed after"});

  for (const auto& c : cases) {
    INFO(c.field);
    std::string bytes = EncodeEvent(c.event);
    REQUIRE(bytes[c.offset] == '\0');  // the offset really is a null presence byte
    for (uint8_t bad : {2, 0x80, 0xff}) {
      auto r = Decode(With(bytes, c.offset, bad));
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kCorruption);
      CHECK(Contains(r.status().detail(), "presence"));
      CHECK(Contains(r.status().detail(), "event field " + c.field + " has"));
    }
  }
}

TEST_CASE("bad revoke reason, deny reason and looked_up found bytes have their own messages",
          "[event_codec]") {
  Event rv = Full(TokenRevoked{RevokeReason::kAdmin, std::nullopt, std::nullopt});
  std::string rv_bytes = EncodeEvent(rv);
  for (uint8_t bad : {0, 6, 255}) {
    auto r = Decode(With(rv_bytes, DataOffset(rv), bad));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), "revoke reason"));
    CHECK(Contains(r.status().detail(), std::to_string(bad)));
  }
  Event dn = Full(AuthDenied{DenyReason::kExpired, "c", "i", "a", 1});
  std::string dn_bytes = EncodeEvent(dn);
  for (uint8_t bad : {0, 6, 255}) {
    auto r = Decode(With(dn_bytes, DataOffset(dn), bad));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), "deny reason"));
    CHECK(Contains(r.status().detail(), std::to_string(bad)));
  }
  Event lu = Full(TokenLookedUp{false});
  std::string lu_bytes = EncodeEvent(lu);
  for (uint8_t bad : {2, 255}) {
    auto r = Decode(With(lu_bytes, DataOffset(lu), bad));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), "token.looked_up found"));
    CHECK(Contains(r.status().detail(), "boolean"));
  }
}

TEST_CASE("each malformed case has its own corruption message naming its field", "[event_codec]") {
  struct Case {
    std::string name;
    std::string bytes;
    std::string names;  // what the detail must mention
  };
  std::vector<Case> cases;
  const Event looked = Full(TokenLookedUp{true});
  const std::string good = EncodeEvent(looked);
  cases.push_back({"empty", "", "empty"});
  cases.push_back({"version", With(good, 0, 2), "version"});
  cases.push_back({"type 0", With(good, 1, 0), "event type"});
  cases.push_back({"type 11", With(good, 1, 11), "event type"});
  cases.push_back({"role 0", With(good, RoleOffset(looked), 0), "actor role"});
  cases.push_back({"role 5", With(good, RoleOffset(looked), 5), "actor role"});
  cases.push_back({"trailing", good + "x", "trailing bytes"});
  cases.push_back({"found 2", With(good, DataOffset(looked), 2), "token.looked_up found"});

  Event rv = Full(TokenRevoked{});
  cases.push_back({"revoke reason", With(EncodeEvent(rv), DataOffset(rv), 6), "revoke reason"});
  Event dn = Full(AuthDenied{});
  cases.push_back({"deny reason", With(EncodeEvent(dn), DataOffset(dn), 6), "deny reason"});

  Event bare = Bare(TokenLookedUp{true});
  const std::string bare_bytes = EncodeEvent(bare);
  const size_t role = RoleOffset(bare);
  cases.push_back({"actor user presence", With(bare_bytes, role + 1, 2), "actor user"});
  cases.push_back({"actor ip presence", With(bare_bytes, role + 2, 2), "actor ip"});
  cases.push_back({"user presence", With(bare_bytes, role + 3, 2), "field user"});
  cases.push_back({"token_id presence", With(bare_bytes, role + 4, 2), "token_id"});
  Event rvb = Bare(TokenRevoked{});
  cases.push_back(
      {"note presence", With(EncodeEvent(rvb), DataOffset(rvb) + 1, 2), "token.revoked note"});
  cases.push_back({"replaced_by presence", With(EncodeEvent(rvb), DataOffset(rvb) + 2, 2),
                   "token.revoked replaced_by"});
  Event pc = Bare(PolicyChanged{{std::nullopt, 90}, {std::nullopt, 30}, 1});
  cases.push_back(
      {"before presence", With(EncodeEvent(pc), DataOffset(pc), 2), "policy.changed before"});

  // One truncation inside each field of every type (the first cut that lands
  // in it), named by that field.
  for (const Event& e : FullSamples()) {
    std::string bytes = EncodeEvent(e);
    std::set<std::string> seen;
    for (size_t n = 1; n < bytes.size(); ++n) {
      auto r = Decode(bytes.substr(0, n));
      REQUIRE_FALSE(r.ok());
      std::string field = TruncatedField(r.status().detail());
      // Header and hash fields are the same for every type: take them from
      // token.minted only; from the others, their data fields.
      bool data_field = field.find('.') != std::string::npos;
      if (e.type() != EventType::kTokenMinted && !data_field) continue;
      if (!seen.insert(field).second) continue;
      cases.push_back({"truncated " + std::string(EventTypeName(e.type())) + " " + field,
                       bytes.substr(0, n), "truncated in " + field + " at byte"});
    }
  }
  // The cut in the tenant string names the tenant, the cut in the digest names it.
  bool saw_tenant = false, saw_sha = false;
  for (const auto& c : cases) {
    saw_tenant |= c.names == "truncated in tenant at byte";
    saw_sha |= c.names == "truncated in token.minted token_sha256 at byte";
  }
  CHECK(saw_tenant);
  CHECK(saw_sha);

  std::set<std::string> details;
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = Decode(c.bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK(Contains(r.status().detail(), c.names));
    details.insert(r.status().detail());
  }
  CHECK(cases.size() > 50);
  CHECK(details.size() == cases.size());
}

TEST_CASE("damaging any single byte never yields the original event", "[event_codec]") {
  std::vector<Event> samples = FullSamples();
  for (const Event& e : FullSamples()) samples.push_back(Bare(e.data));
  size_t decoded_differently = 0, refused = 0;
  for (const Event& e : samples) {
    INFO(EventTypeName(e.type()));
    const std::string bytes = EncodeEvent(e);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t mask : {0xFF, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80}) {
        std::string damaged = bytes;
        damaged[i] = static_cast<char>(static_cast<uint8_t>(damaged[i]) ^ mask);
        auto r = Decode(damaged);
        if (r.ok()) {
          ++decoded_differently;
          if (*r == e) FAIL_CHECK("byte " << i << " ^ " << int(mask) << " decoded identically");
        } else {
          ++refused;
          if (r.status().code() != Code::kCorruption) {
            FAIL_CHECK("byte " << i << " ^ " << int(mask) << ": " << r.status().ToString());
          }
        }
      }
    }
  }
  // Both outcomes occur: the sweep is not vacuous.
  CHECK(decoded_differently > 0);
  CHECK(refused > 0);
}

TEST_CASE("decoding over a used event leaves nothing of it: every field is set", "[event_codec]") {
  // Full and bare samples of every type, and each type followed by itself
  // with its optional fields now null, all decoded over one Event in turn.
  std::vector<Event> sequence;
  for (const Event& full : FullSamples()) {
    sequence.push_back(full);
    sequence.push_back(Bare(full.data));
  }
  sequence.push_back(Full(TokenMinted{"x", std::nullopt, "h", Sha256("v"), std::nullopt}));
  sequence.push_back(Full(TokenRevoked{RevokeReason::kUser, std::nullopt, std::nullopt}));
  sequence.push_back(Full(PolicyChanged{{std::nullopt, 90}, {std::nullopt, 7}, 4}));
  sequence.push_back(Full(FullMinted()));
  Event reused;
  for (size_t round = 0; round < 2; ++round) {
    for (const Event& e : sequence) {
      std::string bytes = EncodeEvent(e);
      REQUIRE(DecodeEventInto(bytes, &reused).ok());
      CHECK(reused == e);
    }
    std::reverse(sequence.begin(), sequence.end());
  }
  // After a failed decode the event decodes over again correctly.
  std::string good = EncodeEvent(sequence.front());
  CHECK_FALSE(DecodeEventInto(good.substr(0, good.size() / 2), &reused).ok());
  REQUIRE(DecodeEventInto(good, &reused).ok());
  CHECK(reused == sequence.front());
}

}  // namespace tokenlog
