// The command handlers of core/commands.h, decided against projection state
// kept in memory: each accepted decision's events get the next seq and go
// through the real TokenProjector, exactly as the event store would apply
// them. Time comes from a FakeClock, randomness from a SeededRandom.
#include "core/commands.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/label.h"
#include "core/sha256.h"
#include "core/token_codec.h"
#include "projections/memory_keyspaces.h"
#include "projections/state_view.h"
#include "projections/token_projector.h"

using namespace tokenlog;
using tokenlog::projections::MemoryKeyspaces;
using tokenlog::projections::ProjectionState;
using tokenlog::projections::TokenProjector;

namespace {

constexpr int64_t kStart = 1'795'924'800'000;  // 2026-11-29T04:00:00.000Z
constexpr int64_t kDay = kMillisPerDay;
const std::string kAcme = "acme";
const std::string kGlobex = "globex";
const std::string kAlice = "alice@acme.example";
const std::string kBob = "bob@acme.example";
const std::string kCarol = "carol@acme.example";
const std::string kAdmin = "root@acme.example";

ExpiryRequest DefaultExpiry() { return ExpiryRequest{}; }
ExpiryRequest NullExpiry() { return ExpiryRequest{ExpiryRequest::Kind::kNull, 0}; }
ExpiryRequest Days(int64_t days) { return ExpiryRequest{ExpiryRequest::Kind::kDays, days}; }

TokenScope Own(const std::string& user, const std::string& tenant = kAcme) {
  return TokenScope{tenant, user};
}
TokenScope AdminScope(const std::string& tenant = kAcme) {
  return TokenScope{tenant, std::nullopt};
}

// Projection state in memory, a fake clock and seeded randomness.
struct World {
  MemoryKeyspaces mem;
  TokenProjector projector;
  ProjectionState state{mem};
  FakeClock clock{kStart};
  SeededRandom random{7};
  uint64_t last_seq = 0;

  int64_t now() const { return clock.NowMillis(); }

  CommandContext UserCtx(const std::string& user, const std::string& tenant = kAcme) {
    CommandContext ctx;
    ctx.tenant = tenant;
    ctx.actor = Actor{ActorRole::kUser, user, "203.0.113.7"};
    ctx.now = now();
    ctx.random = &random;
    return ctx;
  }
  CommandContext AdminCtx(const std::string& tenant = kAcme) {
    CommandContext ctx;
    ctx.tenant = tenant;
    ctx.actor = Actor{ActorRole::kAdmin, kAdmin, "198.51.100.4"};
    ctx.now = now();
    ctx.random = &random;
    return ctx;
  }

  // What the store does with an accepted decision: seq 1, 2, ... and apply.
  std::vector<Event> Apply(const Result<Decision>& decision) {
    REQUIRE(decision.ok());
    std::vector<Event> events = decision->events;
    for (Event& e : events) {
      e.seq = ++last_seq;
      REQUIRE(projector.Apply(e, mem).ok());
    }
    return events;
  }

  // Mints and applies; returns the new token id (and its value in *value).
  std::string Mint(const std::string& user, const std::string& tenant = kAcme,
                   const ExpiryRequest& expiry = DefaultExpiry(),
                   const std::string& label = "Laptop", std::string* value = nullptr) {
    auto d = DecideMint(state, UserCtx(user, tenant), user, label, expiry);
    REQUIRE(d.ok());
    Apply(d);
    if (value) *value = *d->token_value;
    return *d->token_id;
  }

  void SetPolicy(const PolicyLimits& limits, const std::string& tenant = kAcme) {
    Apply(DecideSetPolicy(state, AdminCtx(tenant), limits));
  }

  void Revoke(const std::string& id, const std::string& tenant = kAcme) {
    auto d = DecideRevoke(state, AdminCtx(tenant), AdminScope(tenant), id, RevokeReason::kAdmin,
                          std::nullopt);
    REQUIRE(d.ok());
    REQUIRE(d->events.size() == 1);
    Apply(d);
  }

  void Deactivate(const std::string& user, const std::string& tenant = kAcme) {
    Apply(DecideDeactivate(state, AdminCtx(tenant), user));
  }

  TokenRecord Token(const std::string& id) {
    auto t = state.Token(id);
    REQUIRE(t.ok());
    REQUIRE(t->has_value());
    return **t;
  }

  TokenStatus StatusOf(const std::string& id) { return Token(id).StatusAt(now()); }

  size_t ActiveCount(const std::string& user, const std::string& tenant = kAcme) {
    auto tokens = state.UserTokens(tenant, user);
    REQUIRE(tokens.ok());
    size_t n = 0;
    for (const auto& t : *tokens) n += t.StatusAt(now()) == TokenStatus::kActive ? 1 : 0;
    return n;
  }

  bool IsDeactivated(const std::string& user, const std::string& tenant = kAcme) {
    auto d = state.IsDeactivated(tenant, user);
    REQUIRE(d.ok());
    return *d;
  }

  // Every keyspace, for "nothing changed" checks.
  std::vector<MemoryKeyspaces::Map> Snapshot() const {
    std::vector<MemoryKeyspaces::Map> out;
    for (size_t i = 0; i < kKeyspaceCount; ++i)
      out.push_back(mem.keyspace(static_cast<Keyspace>(i)));
    return out;
  }
};

template <typename T>
const T& DataOf(const Event& e) {
  REQUIRE(std::holds_alternative<T>(e.data));
  return std::get<T>(e.data);
}

Code CodeOf(const Result<Decision>& d) { return d.ok() ? Code::kOk : d.status().code(); }

}  // namespace

// ---------------------------------------------------------------------------
// Mint

TEST_CASE("DecideMint mints one active token expiring after the default 90 days",
          "[commands][mint]") {
  World w;
  auto d = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "Power BI Desktop", DefaultExpiry());
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  REQUIRE(d->token_id.has_value());
  REQUIRE(d->token_value.has_value());
  CHECK(IsValidTokenId(*d->token_id));
  CHECK(ValidateTokenValue(*d->token_value).ok());
  CHECK(d->count == 0);

  const Event& e = d->events[0];
  CHECK(e.type() == EventType::kTokenMinted);
  CHECK(e.seq == 0);  // the log assigns it
  CHECK(e.time == kStart);
  CHECK(e.tenant == kAcme);
  CHECK(e.actor == Actor{ActorRole::kUser, kAlice, "203.0.113.7"});
  CHECK(e.user == kAlice);
  CHECK(e.token_id == d->token_id);
  const auto& m = DataOf<TokenMinted>(e);
  CHECK(m.label == "Power BI Desktop");
  CHECK(m.expires_at == kStart + 90 * kDay);
  CHECK(m.hint == TokenHint(*d->token_value));
  CHECK(m.token_sha256 == Sha256(*d->token_value));
  CHECK_FALSE(m.rotated_from.has_value());
  // The value itself is never part of the event, stored or printed.
  CHECK(EncodeEvent(e).find(*d->token_value) == std::string::npos);
  CHECK(RenderEvent(e, EventForm::kLog).find(*d->token_value) == std::string::npos);

  w.Apply(d);
  TokenRecord t = w.Token(*d->token_id);
  CHECK(t.user == kAlice);
  CHECK(t.tenant == kAcme);
  CHECK(t.created_at == kStart);
  CHECK(t.expires_at == kStart + 90 * kDay);
  CHECK(t.StatusAt(w.now()) == TokenStatus::kActive);
}

TEST_CASE("MintedRecord is the record the projector stores for a minted token, and nothing else",
          "[commands][mint]") {
  // A mint's and a rotation's answers are built from MintedRecord of the
  // committed event instead of reading `tokens` back: the two must agree.
  World w;
  w.SetPolicy(PolicyLimits{std::nullopt, 90});
  auto check = [&](const Result<Decision>& d) {
    std::vector<Event> applied = w.Apply(d);
    size_t minted = 0;
    for (const Event& e : applied) {
      std::optional<TokenRecord> r = projections::MintedRecord(e);
      if (e.type() != EventType::kTokenMinted) {
        CHECK_FALSE(r.has_value());
        continue;
      }
      ++minted;
      REQUIRE(r.has_value());
      CHECK(*r == w.Token(*e.token_id));
      CHECK(r->mint_seq == e.seq);
    }
    CHECK(minted == 1);
  };
  check(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "Laptop", DefaultExpiry()));
  check(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "No expiry", NullExpiry()));
  w.clock.Advance(kDay);
  const std::string old = w.Mint(kBob);
  check(DecideRotate(w.state, w.UserCtx(kBob), Own(kBob), old, Days(7)));

  Event incomplete = w.Apply(DecideMint(w.state, w.UserCtx(kCarol), kCarol, "x",
                                        DefaultExpiry()))[0];
  incomplete.user.reset();
  CHECK_FALSE(projections::MintedRecord(incomplete).has_value());
}

TEST_CASE("DecideMint trims the label and refuses a label breaking the rules with invalid_label",
          "[commands][mint]") {
  World w;
  auto trimmed = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "  \tExcel \xE2\x80\x94 desk \n",
                            DefaultExpiry());
  REQUIRE(trimmed.ok());
  CHECK(DataOf<TokenMinted>(trimmed->events[0]).label == "Excel \xE2\x80\x94 desk");

  auto longest =
      DecideMint(w.state, w.UserCtx(kAlice), kAlice, std::string(100, 'x'), DefaultExpiry());
  CHECK(longest.ok());

  for (std::string bad : {std::string(""), std::string("   "), std::string("a\x01z"),
                          std::string("a\x7fz"), std::string(101, 'x'), std::string("\xff"),
                          std::string("a\xE2\x80\xA8z"), std::string("a\xE2\x80\xAEz")}) {
    INFO("label bytes: " << bad.size());
    auto d = DecideMint(w.state, w.UserCtx(kAlice), kAlice, bad, DefaultExpiry());
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kInvalidLabel);
    CHECK(d.status().detail().find("label") != std::string::npos);
  }
}

TEST_CASE("DecideMint takes expires_in_days from 1 to the policy max, else invalid_expiry",
          "[commands][mint]") {
  World w;
  auto one = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(1));
  REQUIRE(one.ok());
  CHECK(DataOf<TokenMinted>(one->events[0]).expires_at == kStart + kDay);
  auto max = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(365));
  REQUIRE(max.ok());
  CHECK(DataOf<TokenMinted>(max->events[0]).expires_at == kStart + 365 * kDay);

  for (int64_t days : {int64_t{0}, int64_t{-1}, int64_t{366}, int64_t{3650}, int64_t{3651}}) {
    INFO(days);
    CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(days))) ==
          Code::kInvalidExpiry);
  }
  // null only when the policy has no max; the default policy has one (365).
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", NullExpiry())) ==
        Code::kInvalidExpiry);

  // A lower max set by the tenant bounds the days too.
  w.SetPolicy({30, 10});
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(31))) ==
        Code::kInvalidExpiry);
  auto thirty = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(30));
  REQUIRE(thirty.ok());
  CHECK(DataOf<TokenMinted>(thirty->events[0]).expires_at == kStart + 30 * kDay);
  auto dflt = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry());
  REQUIRE(dflt.ok());
  CHECK(DataOf<TokenMinted>(dflt->events[0]).expires_at == kStart + 10 * kDay);
}

TEST_CASE("DecideMint allows a null expiry only under a policy with no max", "[commands][mint]") {
  World w;
  w.SetPolicy({std::nullopt, 30});
  auto never = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", NullExpiry());
  REQUIRE(never.ok());
  CHECK_FALSE(DataOf<TokenMinted>(never->events[0]).expires_at.has_value());
  w.Apply(never);
  CHECK_FALSE(w.Token(*never->token_id).expires_at.has_value());
  w.clock.Advance(10 * 3650 * kDay);
  CHECK(w.StatusOf(*never->token_id) == TokenStatus::kActive);

  auto dflt = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry());
  REQUIRE(dflt.ok());
  CHECK(DataOf<TokenMinted>(dflt->events[0]).expires_at == w.now() + 30 * kDay);
  auto ceiling = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(3650));
  REQUIRE(ceiling.ok());
  CHECK(DataOf<TokenMinted>(ceiling->events[0]).expires_at == w.now() + 3650 * kDay);
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(3651))) ==
        Code::kInvalidExpiry);
}

TEST_CASE("DecideMint refuses a deactivated user with user_deactivated", "[commands][mint]") {
  World w;
  w.Deactivate(kAlice);
  auto d = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry());
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Code::kUserDeactivated);
  // Only that user, only in that tenant.
  CHECK(DecideMint(w.state, w.UserCtx(kBob), kBob, "a", DefaultExpiry()).ok());
  CHECK(DecideMint(w.state, w.UserCtx(kAlice, kGlobex), kAlice, "a", DefaultExpiry()).ok());
}

TEST_CASE("DecideMint allows five active tokens, the sixth is token_limit_reached",
          "[commands][mint]") {
  World w;
  for (int i = 0; i < 5; ++i) w.Mint(kAlice);
  CHECK(w.ActiveCount(kAlice) == 5);
  auto sixth = DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry());
  REQUIRE_FALSE(sixth.ok());
  CHECK(sixth.status().code() == Code::kTokenLimitReached);
  // A request no state could accept is refused as such, before the cap: an
  // expiry out of every range, or over this policy's max, and a bad label.
  for (int64_t days : {0, 366, 3651}) {
    CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", Days(days))) ==
          Code::kInvalidExpiry);
  }
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "", DefaultExpiry())) ==
        Code::kInvalidLabel);
  // The cap is per user and per tenant.
  CHECK(DecideMint(w.state, w.UserCtx(kBob), kBob, "a", DefaultExpiry()).ok());
  CHECK(DecideMint(w.state, w.UserCtx(kAlice, kGlobex), kAlice, "a", DefaultExpiry()).ok());
  // The cap is the server's setting.
  CommandContext six = w.UserCtx(kAlice);
  six.max_active_tokens = 6;
  CHECK(DecideMint(w.state, six, kAlice, "a", DefaultExpiry()).ok());
}

TEST_CASE("DecideMint does not count an expired or a revoked token against the cap",
          "[commands][mint]") {
  World w;
  std::string short_lived = w.Mint(kAlice, kAcme, Days(1));
  std::string to_revoke = w.Mint(kAlice);
  for (int i = 0; i < 3; ++i) w.Mint(kAlice);
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry())) ==
        Code::kTokenLimitReached);

  // Exactly at expires_at the token is expired, before any token.expired event.
  w.clock.Advance(kDay);
  CHECK(w.StatusOf(short_lived) == TokenStatus::kExpired);
  CHECK_FALSE(w.Token(short_lived).expired_logged);
  w.Mint(kAlice);
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry())) ==
        Code::kTokenLimitReached);

  w.Revoke(to_revoke);
  w.Mint(kAlice);
  CHECK(w.ActiveCount(kAlice) == 5);
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry())) ==
        Code::kTokenLimitReached);
}

// Counts the token records a decision reads.
class CountingReader final : public KeyspaceReader {
 public:
  explicit CountingReader(const KeyspaceReader& inner) : inner_(inner) {}
  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override {
    if (ks == Keyspace::kTokens) ++token_reads;
    return inner_.Get(ks, key);
  }
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override {
    return inner_.Scan(ks, prefix, start, reverse, visit);
  }
  mutable size_t token_reads = 0;

 private:
  const KeyspaceReader& inner_;
};

TEST_CASE("DecideMint and DecideDeactivate read the live tokens, not the user's whole history",
          "[commands][mint]") {
  World w;
  // Three hundred tokens revoked, fifty expired and logged, two live.
  for (int i = 0; i < 300; ++i) w.Revoke(w.Mint(kAlice));
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 5; ++i) w.Mint(kAlice, kAcme, Days(1));
    w.clock.Advance(kDay);
    w.Apply(DecideExpireDue(w.state, w.now(), 1000));
  }
  std::string kept = w.Mint(kAlice);
  w.Mint(kAlice);
  REQUIRE(w.state.UserTokens(kAcme, kAlice)->size() == 352);

  CountingReader counting(w.mem);
  ProjectionState state(counting);
  auto mint = DecideMint(state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry());
  REQUIRE(mint.ok());
  CHECK(counting.token_reads == 2);

  counting.token_reads = 0;
  auto deactivate = DecideDeactivate(state, w.AdminCtx(), kAlice);
  REQUIRE(deactivate.ok());
  CHECK(deactivate->count == 2);
  CHECK(counting.token_reads == 2);
  // The cap still counts only active tokens, and revoking one frees a place.
  for (int i = 0; i < 3; ++i) w.Mint(kAlice);
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry())) ==
        Code::kTokenLimitReached);
  w.Revoke(kept);
  CHECK(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry()).ok());
}

// ---------------------------------------------------------------------------
// Revoke

TEST_CASE("DecideRevoke revokes an active token once and is idempotent after",
          "[commands][revoke]") {
  World w;
  std::string id = w.Mint(kAlice);
  w.clock.Advance(1000);
  auto d =
      DecideRevoke(w.state, w.UserCtx(kAlice), Own(kAlice), id, RevokeReason::kUser, std::nullopt);
  REQUIRE(d.ok());
  CHECK(d->token_id == id);
  CHECK_FALSE(d->token_value.has_value());
  REQUIRE(d->events.size() == 1);
  const Event& e = d->events[0];
  CHECK(e.type() == EventType::kTokenRevoked);
  CHECK(e.time == kStart + 1000);
  CHECK(e.tenant == kAcme);
  CHECK(e.user == kAlice);
  CHECK(e.token_id == id);
  CHECK(e.actor.role == ActorRole::kUser);
  CHECK(DataOf<TokenRevoked>(e) == TokenRevoked{RevokeReason::kUser, std::nullopt, std::nullopt});
  w.Apply(d);
  TokenRecord t = w.Token(id);
  CHECK(t.revoked_at == kStart + 1000);
  CHECK(t.revoked_reason == RevokeReason::kUser);
  CHECK(w.StatusOf(id) == TokenStatus::kRevoked);

  auto again =
      DecideRevoke(w.state, w.UserCtx(kAlice), Own(kAlice), id, RevokeReason::kUser, std::nullopt);
  REQUIRE(again.ok());
  CHECK(again->token_id == id);
  CHECK(again->events.empty());
  auto by_admin =
      DecideRevoke(w.state, w.AdminCtx(), AdminScope(), id, RevokeReason::kAdmin, std::nullopt);
  REQUIRE(by_admin.ok());
  CHECK(by_admin->events.empty());
}

TEST_CASE("DecideRevoke leaves an expired token expired, with no event", "[commands][revoke]") {
  World w;
  std::string id = w.Mint(kAlice, kAcme, Days(1));
  w.clock.Advance(kDay + 1);
  auto d =
      DecideRevoke(w.state, w.UserCtx(kAlice), Own(kAlice), id, RevokeReason::kUser, std::nullopt);
  REQUIRE(d.ok());
  CHECK(d->token_id == id);
  CHECK(d->events.empty());
  CHECK(w.StatusOf(id) == TokenStatus::kExpired);
  CHECK_FALSE(w.Token(id).revoked_at.has_value());
}

TEST_CASE("DecideRevoke treats other owners', other tenants' and malformed ids as not_found",
          "[commands][revoke]") {
  World w;
  std::string alices = w.Mint(kAlice);
  std::string globex = w.Mint(kAlice, kGlobex);

  // Another owner's token through /v1/tokens: not found, even for an admin's own scope.
  CHECK(CodeOf(DecideRevoke(w.state, w.UserCtx(kBob), Own(kBob), alices, RevokeReason::kUser,
                            std::nullopt)) == Code::kNotFound);
  CommandContext admin = w.AdminCtx();
  CHECK(CodeOf(DecideRevoke(w.state, admin, Own(kAdmin), alices, RevokeReason::kUser,
                            std::nullopt)) == Code::kNotFound);
  // Another tenant's token: not found for its owner's name and for the admin.
  CHECK(CodeOf(DecideRevoke(w.state, w.UserCtx(kAlice), Own(kAlice), globex, RevokeReason::kUser,
                            std::nullopt)) == Code::kNotFound);
  CHECK(CodeOf(DecideRevoke(w.state, admin, AdminScope(), globex, RevokeReason::kAdmin,
                            std::nullopt)) == Code::kNotFound);
  // Malformed or unknown ids.
  for (std::string id :
       {std::string(""), std::string("tok_"), std::string("tok_123"),
        std::string("TOK_") + alices.substr(4), alices + "x", alices.substr(0, 19) + "-",
        std::string("tok_0000000000000000"), std::string("../") + alices}) {
    INFO(id);
    CHECK(CodeOf(DecideRevoke(w.state, admin, AdminScope(), id, RevokeReason::kAdmin,
                              std::nullopt)) == Code::kNotFound);
  }
  // The admin of the right tenant reaches it.
  auto d = DecideRevoke(w.state, admin, AdminScope(), alices, RevokeReason::kAdmin, std::nullopt);
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  CHECK(d->events[0].user == kAlice);
  CHECK(d->events[0].actor.user == kAdmin);
  CHECK(DataOf<TokenRevoked>(d->events[0]).reason == RevokeReason::kAdmin);
}

TEST_CASE("DecideRevoke keeps a trimmed note and refuses a note breaking the label rules",
          "[commands][revoke]") {
  World w;
  std::string id = w.Mint(kAlice);
  auto revoke = [&](std::string_view note) {
    return DecideRevoke(w.state, w.AdminCtx(), AdminScope(), id, RevokeReason::kAdmin, note);
  };
  auto trimmed = revoke("  leaked in a \"ticket\" \\ see SR-1  ");
  REQUIRE(trimmed.ok());
  REQUIRE(trimmed->events.size() == 1);
  CHECK(DataOf<TokenRevoked>(trimmed->events[0]).note == "leaked in a \"ticket\" \\ see SR-1");
  CHECK_FALSE(DataOf<TokenRevoked>(trimmed->events[0]).replaced_by.has_value());

  std::string longest;
  for (int i = 0; i < 500; ++i) longest += "\xC3\xA9";  // 500 code points, 1000 bytes
  auto at_limit = revoke(longest);
  REQUIRE(at_limit.ok());
  CHECK(DataOf<TokenRevoked>(at_limit->events[0]).note == longest);

  for (std::string bad :
       {longest + "e", std::string(""), std::string("  "), std::string("a\nb"), std::string("\xC3"),
        std::string("a\xE2\x80\xA9z"), std::string("a\xE2\x81\xA6z")}) {
    INFO("note bytes: " << bad.size());
    auto d = revoke(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kInvalidRequest);
    CHECK(d.status().detail().find("note") != std::string::npos);
  }
  CHECK(w.StatusOf(id) == TokenStatus::kActive);
}

// ---------------------------------------------------------------------------
// Rotate

TEST_CASE("DecideRotate revokes the old token as rotated and mints a successor with its label",
          "[commands][rotate]") {
  World w;
  std::string old_id = w.Mint(kAlice, kAcme, Days(5), "Power BI gateway");
  w.clock.Advance(kDay);
  auto d = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), old_id, DefaultExpiry());
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 2);
  REQUIRE(d->token_id.has_value());
  REQUIRE(d->token_value.has_value());
  const std::string new_id = *d->token_id;
  CHECK(new_id != old_id);

  const Event& revoked = d->events[0];
  CHECK(revoked.type() == EventType::kTokenRevoked);
  CHECK(revoked.token_id == old_id);
  CHECK(revoked.user == kAlice);
  CHECK(revoked.time == w.now());
  CHECK(DataOf<TokenRevoked>(revoked) ==
        TokenRevoked{RevokeReason::kRotated, std::nullopt, new_id});

  const Event& minted = d->events[1];
  CHECK(minted.type() == EventType::kTokenMinted);
  CHECK(minted.token_id == new_id);
  CHECK(minted.user == kAlice);
  CHECK(minted.tenant == kAcme);
  const auto& m = DataOf<TokenMinted>(minted);
  CHECK(m.label == "Power BI gateway");
  CHECK(m.rotated_from == old_id);
  CHECK(m.expires_at == w.now() + 90 * kDay);
  CHECK(m.token_sha256 == Sha256(*d->token_value));
  CHECK(m.hint == TokenHint(*d->token_value));

  w.Apply(d);
  CHECK(w.StatusOf(old_id) == TokenStatus::kRevoked);
  CHECK(w.Token(old_id).revoked_reason == RevokeReason::kRotated);
  CHECK(w.StatusOf(new_id) == TokenStatus::kActive);

  auto days = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), new_id, Days(7));
  REQUIRE(days.ok());
  CHECK(DataOf<TokenMinted>(days->events[1]).expires_at == w.now() + 7 * kDay);
  CHECK(CodeOf(DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), new_id, Days(366))) ==
        Code::kInvalidExpiry);
  CHECK(CodeOf(DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), new_id, NullExpiry())) ==
        Code::kInvalidExpiry);
}

TEST_CASE("DecideRotate is allowed at the cap of five active tokens", "[commands][rotate]") {
  World w;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(w.Mint(kAlice));
  auto d = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), ids[2], DefaultExpiry());
  REQUIRE(d.ok());
  w.Apply(d);
  CHECK(w.ActiveCount(kAlice) == 5);
  CHECK(CodeOf(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry())) ==
        Code::kTokenLimitReached);
}

TEST_CASE("DecideRotate refuses a revoked or expired token with token_not_active",
          "[commands][rotate]") {
  World w;
  std::string revoked = w.Mint(kAlice);
  std::string expiring = w.Mint(kAlice, kAcme, Days(1));
  w.Revoke(revoked);
  auto r = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), revoked, DefaultExpiry());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kTokenNotActive);

  w.clock.Advance(kDay);
  auto e = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), expiring, DefaultExpiry());
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == Code::kTokenNotActive);
  // An expiry no policy allows is that, whatever the token's state.
  CHECK(CodeOf(DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), revoked, Days(0))) ==
        Code::kInvalidExpiry);

  // Scope first: another owner's token is simply not found.
  std::string bobs = w.Mint(kBob);
  CHECK(CodeOf(DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), bobs, DefaultExpiry())) ==
        Code::kNotFound);
  CHECK(CodeOf(DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), "tok_nope",
                            DefaultExpiry())) == Code::kNotFound);
}

TEST_CASE("DecideRotate by a user whose deactivation revoked the token is user_deactivated",
          "[commands][rotate]") {
  World w;
  std::string id = w.Mint(kAlice);
  w.Deactivate(kAlice);
  REQUIRE(w.StatusOf(id) == TokenStatus::kRevoked);
  // API.md: a deactivated user rotating is 403. Deactivation revokes every
  // token, so the deactivation is what the caller must be told about.
  auto d = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), id, DefaultExpiry());
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Code::kUserDeactivated);
}

TEST_CASE("DecideRotate refuses a deactivated owner of a still active token with user_deactivated",
          "[commands][rotate]") {
  World w;
  std::string id = w.Mint(kAlice);
  // A user.deactivated event alone (no revocations before it) leaves the
  // token active: the refusal must not depend on the token's status.
  Event deactivated;
  deactivated.time = w.now();
  deactivated.tenant = kAcme;
  deactivated.actor = Actor{ActorRole::kAdmin, kAdmin, std::nullopt};
  deactivated.user = kAlice;
  deactivated.data = UserDeactivated{0};
  Decision manual;
  manual.events.push_back(deactivated);
  w.Apply(manual);
  REQUIRE(w.StatusOf(id) == TokenStatus::kActive);
  REQUIRE(w.IsDeactivated(kAlice));

  auto d = DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), id, DefaultExpiry());
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Code::kUserDeactivated);
}

// ---------------------------------------------------------------------------
// Policy

TEST_CASE("DecideSetPolicy refuses limits out of range with invalid_policy", "[commands][policy]") {
  World w;
  for (PolicyLimits bad :
       {PolicyLimits{30, 31}, PolicyLimits{30, 0}, PolicyLimits{0, 1}, PolicyLimits{3651, 90},
        PolicyLimits{std::nullopt, 3651}, PolicyLimits{std::nullopt, 0}, PolicyLimits{365, -1},
        PolicyLimits{-5, 1}}) {
    INFO("max " << bad.max_lifetime_days.value_or(-999) << " default "
                << bad.default_lifetime_days);
    auto d = DecideSetPolicy(w.state, w.AdminCtx(), bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kInvalidPolicy);
    auto p = PreviewPolicy(w.state, kAcme, bad, w.now());
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == Code::kInvalidPolicy);
  }
  for (PolicyLimits good :
       {PolicyLimits{1, 1}, PolicyLimits{3650, 3650}, PolicyLimits{std::nullopt, 3650},
        PolicyLimits{std::nullopt, 1}, PolicyLimits{30, 30}}) {
    CHECK(DecideSetPolicy(w.state, w.AdminCtx(), good).ok());
  }
}

TEST_CASE("DecideSetPolicy appends policy.changed with before, after and the next version",
          "[commands][policy]") {
  World w;
  auto first = DecideSetPolicy(w.state, w.AdminCtx(), {180, 30});
  REQUIRE(first.ok());
  REQUIRE(first->events.size() == 1);
  const Event& e = first->events[0];
  CHECK(e.type() == EventType::kPolicyChanged);
  CHECK(e.tenant == kAcme);
  CHECK_FALSE(e.user.has_value());
  CHECK_FALSE(e.token_id.has_value());
  CHECK(e.actor.role == ActorRole::kAdmin);
  CHECK(e.actor.user == kAdmin);
  CHECK(DataOf<PolicyChanged>(e) == PolicyChanged{{365, 90}, {180, 30}, 1});
  CHECK(first->count == 0);
  w.Apply(first);

  auto p = w.state.PolicyOf(kAcme);
  REQUIRE(p.ok());
  CHECK(p->limits == PolicyLimits{180, 30});
  CHECK(p->version == 1);
  CHECK(p->updated_at == kStart);
  CHECK(p->updated_by == kAdmin);
  // Other tenants keep the default.
  auto other = w.state.PolicyOf(kGlobex);
  REQUIRE(other.ok());
  CHECK(other->version == 0);
  CHECK(other->limits == PolicyLimits{365, 90});

  w.clock.Advance(kDay);
  auto second = DecideSetPolicy(w.state, w.AdminCtx(), {std::nullopt, 45});
  REQUIRE(second.ok());
  REQUIRE(second->events.size() == 1);
  CHECK(DataOf<PolicyChanged>(second->events[0]) ==
        PolicyChanged{{180, 30}, {std::nullopt, 45}, 2});
  w.Apply(second);
  CHECK(w.state.PolicyOf(kAcme)->version == 2);
}

TEST_CASE("DecideSetPolicy with the limits already set appends nothing", "[commands][policy]") {
  World w;
  w.Mint(kAlice);
  w.SetPolicy({30, 30});
  w.clock.Advance(kDay);
  auto again = DecideSetPolicy(w.state, w.AdminCtx(), {30, 30});
  REQUIRE(again.ok());
  CHECK(again->events.empty());
  CHECK(again->count == 0);
  CHECK(w.state.PolicyOf(kAcme)->version == 1);
}

TEST_CASE("DecideSetPolicy with the built-in defaults on a tenant that set none appends nothing",
          "[commands][policy]") {
  World w;
  w.Mint(kAlice);
  auto same = DecideSetPolicy(w.state, w.AdminCtx(),
                              {kDefaultMaxLifetimeDays, kDefaultDefaultLifetimeDays});
  REQUIRE(same.ok());
  CHECK(same->events.empty());
  CHECK(same->count == 0);
  CHECK(w.state.PolicyOf(kAcme)->version == 0);
  // Anything else is a change, version 1.
  auto other = DecideSetPolicy(w.state, w.AdminCtx(), {kDefaultMaxLifetimeDays, 30});
  REQUIRE(other.ok());
  REQUIRE(other->events.size() == 1);
  CHECK(std::get<PolicyChanged>(other->events[0].data).version == 1);
}

TEST_CASE("DecideSetPolicy shortens a token to created_at plus the new max", "[commands][policy]") {
  World w;
  std::string id = w.Mint(kAlice);  // expires kStart + 90 days
  w.clock.Advance(10 * kDay);
  auto d = DecideSetPolicy(w.state, w.AdminCtx(), {30, 30});
  REQUIRE(d.ok());
  CHECK(d->count == 1);
  REQUIRE(d->events.size() == 2);
  CHECK(d->events[0].type() == EventType::kPolicyChanged);
  const Event& s = d->events[1];
  CHECK(s.type() == EventType::kTokenExpiryShortened);
  CHECK(s.user == kAlice);
  CHECK(s.token_id == id);
  CHECK(s.tenant == kAcme);
  CHECK(s.actor.user == kAdmin);
  CHECK(s.time == w.now());
  CHECK(DataOf<TokenExpiryShortened>(s) ==
        TokenExpiryShortened{kStart + 90 * kDay, kStart + 30 * kDay, 1});
  w.Apply(d);
  CHECK(w.Token(id).expires_at == kStart + 30 * kDay);
  CHECK(w.StatusOf(id) == TokenStatus::kActive);

  // The sweeper now finds it at the new expiry, not before.
  auto early = DecideExpireDue(w.state, kStart + 30 * kDay - 1, 100);
  REQUIRE(early.ok());
  CHECK(early->events.empty());
  auto due = DecideExpireDue(w.state, kStart + 30 * kDay, 100);
  REQUIRE(due.ok());
  REQUIRE(due->events.size() == 1);
  CHECK(DataOf<TokenExpired>(due->events[0]).expires_at == kStart + 30 * kDay);
}

TEST_CASE("DecideSetPolicy expires at once a token whose clamped expiry is already past",
          "[commands][policy]") {
  World w;
  std::string id = w.Mint(kAlice);  // expires kStart + 90 days
  w.clock.Advance(40 * kDay);
  auto d = DecideSetPolicy(w.state, w.AdminCtx(), {30, 30});
  REQUIRE(d.ok());
  CHECK(d->count == 1);
  REQUIRE(d->events.size() == 2);
  const Event& x = d->events[1];
  CHECK(x.type() == EventType::kTokenExpired);
  CHECK(x.user == kAlice);
  CHECK(x.token_id == id);
  CHECK(x.time == kStart + 40 * kDay);
  CHECK(DataOf<TokenExpired>(x).expires_at == kStart + 30 * kDay);
  w.Apply(d);
  TokenRecord t = w.Token(id);
  CHECK(t.expired_logged);
  CHECK(t.expires_at == kStart + 30 * kDay);
  CHECK(t.StatusAt(w.now()) == TokenStatus::kExpired);
  // Already logged: the sweeper has nothing left to say about it.
  auto sweep = DecideExpireDue(w.state, w.now(), 100);
  REQUIRE(sweep.ok());
  CHECK(sweep->events.empty());
}

TEST_CASE("DecideSetPolicy clamps a token that never expires, from a null expires_at_before",
          "[commands][policy]") {
  World w;
  w.SetPolicy({std::nullopt, 30});
  std::string id = w.Mint(kAlice, kAcme, NullExpiry());
  w.clock.Advance(kDay);
  auto d = DecideSetPolicy(w.state, w.AdminCtx(), {365, 90});
  REQUIRE(d.ok());
  CHECK(d->count == 1);
  REQUIRE(d->events.size() == 2);
  CHECK(DataOf<PolicyChanged>(d->events[0]) == PolicyChanged{{std::nullopt, 30}, {365, 90}, 2});
  CHECK(d->events[1].token_id == id);
  CHECK(DataOf<TokenExpiryShortened>(d->events[1]) ==
        TokenExpiryShortened{std::nullopt, kStart + 365 * kDay, 2});
  w.Apply(d);
  CHECK(w.Token(id).expires_at == kStart + 365 * kDay);
}

TEST_CASE("DecideSetPolicy never extends a token when the max is raised or removed",
          "[commands][policy]") {
  World w;
  w.SetPolicy({30, 30});
  std::string id = w.Mint(kAlice);  // expires kStart + 30 days
  w.clock.Advance(kDay);
  auto raised = DecideSetPolicy(w.state, w.AdminCtx(), {365, 90});
  REQUIRE(raised.ok());
  REQUIRE(raised->events.size() == 1);
  CHECK(raised->events[0].type() == EventType::kPolicyChanged);
  CHECK(raised->count == 0);
  w.Apply(raised);
  auto removed = DecideSetPolicy(w.state, w.AdminCtx(), {std::nullopt, 90});
  REQUIRE(removed.ok());
  REQUIRE(removed->events.size() == 1);
  CHECK(removed->count == 0);
  w.Apply(removed);
  CHECK(w.Token(id).expires_at == kStart + 30 * kDay);
}

TEST_CASE("DecideSetPolicy counts exactly the active tokens of its tenant it clamps",
          "[commands][policy]") {
  World w;
  std::string a90 = w.Mint(kAlice);                       // clamped
  std::string a_revoked = w.Mint(kAlice);                 // revoked: not touched
  std::string a_exact = w.Mint(kAlice, kAcme, Days(30));  // exactly at the cap: not touched
  std::string b20 = w.Mint(kBob, kAcme, Days(20));        // under the cap: not touched
  std::string c60 = w.Mint(kCarol, kAcme, Days(60));      // clamped
  std::string g90 = w.Mint(kAlice, kGlobex);              // another tenant: not touched
  std::string a_expired = w.Mint(kAlice, kAcme, Days(1));
  w.Revoke(a_revoked);
  w.clock.Advance(2 * kDay);  // a_expired is past its expiry (not logged)

  auto d = DecideSetPolicy(w.state, w.AdminCtx(), {30, 30});
  REQUIRE(d.ok());
  std::set<std::string> touched;
  for (size_t i = 1; i < d->events.size(); ++i) {
    CHECK(d->events[i].type() == EventType::kTokenExpiryShortened);
    CHECK(d->events[i].tenant == kAcme);
    touched.insert(*d->events[i].token_id);
  }
  CHECK(touched == std::set<std::string>{a90, c60});
  CHECK(d->count == 2);
  CHECK(d->events.size() == 3);
}

TEST_CASE("PreviewPolicy returns the tokens the clamp affects and changes nothing",
          "[commands][policy]") {
  World w;
  std::string old_one = w.Mint(kAlice);  // created kStart
  w.clock.Advance(20 * kDay);
  std::string new_one = w.Mint(kBob);                      // created kStart + 20 days
  std::string untouched = w.Mint(kCarol, kAcme, Days(5));  // expired by then
  w.Mint(kAlice, kGlobex);
  w.clock.Advance(15 * kDay);  // now kStart + 35 days

  const auto before = w.Snapshot();
  auto preview = PreviewPolicy(w.state, kAcme, {30, 30}, w.now());
  REQUIRE(preview.ok());
  CHECK(w.Snapshot() == before);
  REQUIRE(preview->size() == 2);

  std::map<std::string, ClampEffect> by_id;
  for (const auto& effect : *preview) by_id[effect.token.id] = effect;
  REQUIRE(by_id.count(old_one) == 1);
  REQUIRE(by_id.count(new_one) == 1);
  CHECK(by_id.count(untouched) == 0);
  CHECK(by_id[old_one].token.user == kAlice);
  CHECK(by_id[old_one].token.label == "Laptop");
  CHECK(by_id[old_one].expires_at_before == kStart + 90 * kDay);
  CHECK(by_id[old_one].expires_at_after == kStart + 30 * kDay);
  CHECK(by_id[old_one].expires_now);
  CHECK(by_id[new_one].expires_at_before == kStart + 110 * kDay);
  CHECK(by_id[new_one].expires_at_after == kStart + 50 * kDay);
  CHECK_FALSE(by_id[new_one].expires_now);

  // The decision clamps the same set the same way.
  auto d = DecideSetPolicy(w.state, w.AdminCtx(), {30, 30});
  REQUIRE(d.ok());
  CHECK(d->count == preview->size());
  REQUIRE(d->events.size() == 3);
  for (size_t i = 1; i < d->events.size(); ++i) {
    const Event& e = d->events[i];
    REQUIRE(by_id.count(*e.token_id) == 1);
    const ClampEffect& effect = by_id[*e.token_id];
    if (effect.expires_now) {
      CHECK(DataOf<TokenExpired>(e).expires_at == effect.expires_at_after);
    } else {
      CHECK(DataOf<TokenExpiryShortened>(e) ==
            TokenExpiryShortened{effect.expires_at_before, effect.expires_at_after, 1});
    }
  }
  // Deciding wrote nothing either: only applying does.
  CHECK(w.Snapshot() == before);
}

// ---------------------------------------------------------------------------
// Deactivate and reactivate

TEST_CASE("DecideDeactivate revokes each active token, then logs user.deactivated with n",
          "[commands][users]") {
  World w;
  std::set<std::string> active = {w.Mint(kAlice), w.Mint(kAlice), w.Mint(kAlice)};
  std::string revoked = w.Mint(kAlice);
  std::string expiring = w.Mint(kAlice, kAcme, Days(1));
  std::string bobs = w.Mint(kBob);
  std::string globex = w.Mint(kAlice, kGlobex);
  w.Revoke(revoked);
  w.clock.Advance(kDay);

  auto d = DecideDeactivate(w.state, w.AdminCtx(), kAlice);
  REQUIRE(d.ok());
  CHECK(d->count == 3);
  REQUIRE(d->events.size() == 4);
  std::set<std::string> revoked_now;
  for (size_t i = 0; i < 3; ++i) {
    const Event& e = d->events[i];
    CHECK(e.type() == EventType::kTokenRevoked);
    CHECK(e.user == kAlice);
    CHECK(e.actor.user == kAdmin);
    CHECK(DataOf<TokenRevoked>(e) ==
          TokenRevoked{RevokeReason::kUserDeactivated, std::nullopt, std::nullopt});
    revoked_now.insert(*e.token_id);
  }
  CHECK(revoked_now == active);
  const Event& last = d->events[3];
  CHECK(last.type() == EventType::kUserDeactivated);
  CHECK(last.user == kAlice);
  CHECK_FALSE(last.token_id.has_value());
  CHECK(DataOf<UserDeactivated>(last).revoked_tokens == 3);
  w.Apply(d);

  CHECK(w.IsDeactivated(kAlice));
  for (const auto& id : active) CHECK(w.StatusOf(id) == TokenStatus::kRevoked);
  CHECK(w.StatusOf(expiring) == TokenStatus::kExpired);
  CHECK(w.StatusOf(bobs) == TokenStatus::kActive);
  CHECK(w.StatusOf(globex) == TokenStatus::kActive);
  CHECK_FALSE(w.IsDeactivated(kAlice, kGlobex));

  auto again = DecideDeactivate(w.state, w.AdminCtx(), kAlice);
  REQUIRE(again.ok());
  CHECK(again->events.empty());
  CHECK(again->count == 0);
}

TEST_CASE("DecideDeactivate of a user without tokens logs revoked_tokens 0", "[commands][users]") {
  World w;
  auto d = DecideDeactivate(w.state, w.AdminCtx(), "nobody@acme.example");
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  CHECK(d->count == 0);
  CHECK(DataOf<UserDeactivated>(d->events[0]).revoked_tokens == 0);
  CHECK(d->events[0].user == "nobody@acme.example");
  w.Apply(d);
  CHECK(w.IsDeactivated("nobody@acme.example"));
}

TEST_CASE("DecideReactivate logs user.reactivated only for a deactivated user and tokens stay revoked",
          "[commands][users]") {
  World w;
  auto never = DecideReactivate(w.state, w.AdminCtx(), kAlice);
  REQUIRE(never.ok());
  CHECK(never->events.empty());

  std::string id = w.Mint(kAlice);
  w.Deactivate(kAlice);
  w.clock.Advance(1000);
  auto d = DecideReactivate(w.state, w.AdminCtx(), kAlice);
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  const Event& e = d->events[0];
  CHECK(e.type() == EventType::kUserReactivated);
  CHECK(e.user == kAlice);
  CHECK_FALSE(e.token_id.has_value());
  CHECK(e.tenant == kAcme);
  CHECK(e.time == kStart + 1000);
  w.Apply(d);

  CHECK_FALSE(w.IsDeactivated(kAlice));
  CHECK(w.StatusOf(id) == TokenStatus::kRevoked);
  CHECK(w.Token(id).revoked_reason == RevokeReason::kUserDeactivated);
  auto again = DecideReactivate(w.state, w.AdminCtx(), kAlice);
  REQUIRE(again.ok());
  CHECK(again->events.empty());
  CHECK(DecideMint(w.state, w.UserCtx(kAlice), kAlice, "a", DefaultExpiry()).ok());
}

// ---------------------------------------------------------------------------
// Lookup

TEST_CASE("DecideLookup of a value of the tenant names the token and logs found true",
          "[commands][lookup]") {
  World w;
  std::string value;
  std::string id = w.Mint(kAlice, kAcme, DefaultExpiry(), "Laptop", &value);
  auto d = DecideLookup(w.state, w.AdminCtx(), value);
  REQUIRE(d.ok());
  CHECK(d->token_id == id);
  CHECK_FALSE(d->token_value.has_value());
  REQUIRE(d->events.size() == 1);
  const Event& e = d->events[0];
  CHECK(e.type() == EventType::kTokenLookedUp);
  CHECK(e.tenant == kAcme);
  CHECK(e.user == kAlice);
  CHECK(e.token_id == id);
  CHECK(e.actor.user == kAdmin);
  CHECK(DataOf<TokenLookedUp>(e).found);

  // A revoked token is still found: the admin wants to know whose it was.
  w.Revoke(id);
  auto revoked = DecideLookup(w.state, w.AdminCtx(), value);
  REQUIRE(revoked.ok());
  CHECK(revoked->token_id == id);
  CHECK(DataOf<TokenLookedUp>(revoked->events[0]).found);
}

TEST_CASE("DecideLookup of another tenant's or an unknown value logs found false, naming nobody",
          "[commands][lookup]") {
  World w;
  std::string value;
  w.Mint(kAlice, kGlobex, DefaultExpiry(), "Laptop", &value);
  SeededRandom other(12345);
  auto unknown = GenerateTokenValue(other);
  REQUIRE(unknown.ok());

  for (const std::string& v : {value, *unknown}) {
    auto d = DecideLookup(w.state, w.AdminCtx(kAcme), v);
    REQUIRE(d.ok());
    CHECK_FALSE(d->token_id.has_value());
    REQUIRE(d->events.size() == 1);
    const Event& e = d->events[0];
    CHECK(e.type() == EventType::kTokenLookedUp);
    CHECK(e.tenant == kAcme);
    CHECK_FALSE(e.user.has_value());
    CHECK_FALSE(e.token_id.has_value());
    CHECK_FALSE(DataOf<TokenLookedUp>(e).found);
  }
  // In its own tenant the same value is found.
  auto home = DecideLookup(w.state, w.AdminCtx(kGlobex), value);
  REQUIRE(home.ok());
  CHECK(home->token_id.has_value());
}

TEST_CASE("A minted token's id comes from its digest and needs no hash index row, while a random id "
          "from before keeps one and is still found",
          "[commands][lookup]") {
  World w;
  std::string value;
  std::string id = w.Mint(kAlice, kAcme, DefaultExpiry(), "Laptop", &value);
  const Digest digest = Sha256(value);
  CHECK(id == TokenIdOf(digest));
  CHECK(w.mem.keyspace(Keyspace::kTokenHash).empty());
  auto found = w.state.TokenIdByHash(digest);
  REQUIRE(found.ok());
  CHECK(*found == std::optional<std::string>(id));

  // A token.minted of schema 4 or before: a random id, which the digest
  // does not derive; its hash index row finds it. The id is chosen to be
  // the one another value's digest derives, so that a lookup of that value
  // meets a token whose digest is not its own and must not name it.
  SeededRandom random(77);
  const std::string old_value = GenerateTokenValue(random).value();
  const std::string other_value = GenerateTokenValue(random).value();
  Event e;
  e.seq = ++w.last_seq;
  e.time = w.now();
  e.tenant = kAcme;
  e.actor = Actor{ActorRole::kUser, kBob, "203.0.113.7"};
  e.user = kBob;
  e.token_id = TokenIdOf(Sha256(other_value));
  TokenMinted d;
  d.label = "old";
  d.hint = TokenHint(old_value);
  d.token_sha256 = Sha256(old_value);
  e.data = d;
  REQUIRE(w.projector.Apply(e, w.mem).ok());
  CHECK(w.mem.keyspace(Keyspace::kTokenHash).size() == 1);

  auto old = w.state.TokenIdByHash(Sha256(old_value));
  REQUIRE(old.ok());
  CHECK(*old == e.token_id);
  auto lookup = DecideLookup(w.state, w.AdminCtx(), old_value);
  REQUIRE(lookup.ok());
  CHECK(lookup->token_id == e.token_id);

  auto other = w.state.TokenIdByHash(Sha256(other_value));
  REQUIRE(other.ok());
  CHECK_FALSE(other->has_value());
  auto other_lookup = DecideLookup(w.state, w.AdminCtx(), other_value);
  REQUIRE(other_lookup.ok());
  CHECK_FALSE(other_lookup->token_id.has_value());
}

// ---------------------------------------------------------------------------
// Expiry sweep

TEST_CASE("DecideExpireDue logs token.expired once for each token past expiry and not revoked",
          "[commands][expire]") {
  World w;
  std::string a1 = w.Mint(kAlice, kAcme, Days(1));
  std::string a7 = w.Mint(kAlice, kAcme, Days(7));
  std::string revoked = w.Mint(kBob, kAcme, Days(1));
  std::string g1 = w.Mint(kCarol, kGlobex, Days(1));
  std::string b2 = w.Mint(kBob, kAcme, Days(2));
  w.Revoke(revoked);

  auto none = DecideExpireDue(w.state, kStart + kDay - 1, 100);
  REQUIRE(none.ok());
  CHECK(none->events.empty());

  w.clock.Advance(kDay + 5);
  auto d = DecideExpireDue(w.state, w.now(), 100);
  REQUIRE(d.ok());
  CHECK(d->count == 2);
  REQUIRE(d->events.size() == 2);
  std::map<std::string, Event> by_id;
  for (const Event& e : d->events) by_id[*e.token_id] = e;
  REQUIRE(by_id.count(a1) == 1);
  REQUIRE(by_id.count(g1) == 1);
  CHECK(by_id[a1].tenant == kAcme);
  CHECK(by_id[a1].user == kAlice);
  CHECK(by_id[g1].tenant == kGlobex);
  CHECK(by_id[g1].user == kCarol);
  for (const Event& e : d->events) {
    CHECK(e.type() == EventType::kTokenExpired);
    CHECK(e.time == w.now());
    CHECK(e.actor == Actor{ActorRole::kSystem, std::nullopt, std::nullopt});
    CHECK(DataOf<TokenExpired>(e).expires_at == kStart + kDay);
  }
  w.Apply(d);
  CHECK(w.Token(a1).expired_logged);
  CHECK_FALSE(w.Token(revoked).expired_logged);

  auto again = DecideExpireDue(w.state, w.now(), 100);
  REQUIRE(again.ok());
  CHECK(again->events.empty());
  CHECK(again->count == 0);

  w.clock.Advance(7 * kDay);
  auto later = DecideExpireDue(w.state, w.now(), 100);
  REQUIRE(later.ok());
  std::set<std::string> ids;
  for (const Event& e : later->events) ids.insert(*e.token_id);
  CHECK(ids == std::set<std::string>{a7, b2});
}

TEST_CASE("DecideExpireDue takes at most limit tokens, the oldest expiry first",
          "[commands][expire]") {
  World w;
  std::string d3 = w.Mint(kAlice, kAcme, Days(3));
  std::string d1 = w.Mint(kBob, kAcme, Days(1));
  std::string d2 = w.Mint(kCarol, kAcme, Days(2));
  w.clock.Advance(3 * kDay);
  auto first = DecideExpireDue(w.state, w.now(), 2);
  REQUIRE(first.ok());
  REQUIRE(first->events.size() == 2);
  CHECK(first->events[0].token_id == d1);
  CHECK(first->events[1].token_id == d2);
  w.Apply(first);
  auto rest = DecideExpireDue(w.state, w.now(), 2);
  REQUIRE(rest.ok());
  REQUIRE(rest->events.size() == 1);
  CHECK(rest->events[0].token_id == d3);
}

// ---------------------------------------------------------------------------
// Determinism

TEST_CASE("decisions are the same for the same state, context and random seed",
          "[commands][determinism]") {
  World w;
  std::string id = w.Mint(kAlice);
  w.Mint(kAlice, kAcme, Days(3));
  w.clock.Advance(kDay);

  // The same context twice, each with its own SeededRandom(99).
  auto decide_twice = [&](const CommandContext& ctx, auto decide) {
    SeededRandom r1(99), r2(99);
    CommandContext c1 = ctx, c2 = ctx;
    c1.random = &r1;
    c2.random = &r2;
    Result<Decision> a = decide(c1);
    Result<Decision> b = decide(c2);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->events == b->events);
    CHECK(a->token_id == b->token_id);
    CHECK(a->token_value == b->token_value);
    CHECK(a->count == b->count);
    return std::move(a).value();
  };
  Decision mint = decide_twice(w.UserCtx(kAlice), [&](const CommandContext& c) {
    return DecideMint(w.state, c, kAlice, "Laptop", DefaultExpiry());
  });
  decide_twice(w.UserCtx(kAlice), [&](const CommandContext& c) {
    return DecideRotate(w.state, c, Own(kAlice), id, Days(9));
  });
  decide_twice(w.AdminCtx(), [&](const CommandContext& c) {
    return DecideSetPolicy(w.state, c, {30, 30});
  });
  decide_twice(w.AdminCtx(),
               [&](const CommandContext& c) { return DecideDeactivate(w.state, c, kAlice); });
  decide_twice(w.AdminCtx(), [&](const CommandContext& c) {
    return DecideExpireDue(w.state, c.now + 2 * kDay, 100);
  });

  // The seed is what makes the id and the value: another seed, another token.
  SeededRandom r3(100);
  CommandContext c3 = w.UserCtx(kAlice);
  c3.random = &r3;
  auto other = DecideMint(w.state, c3, kAlice, "Laptop", DefaultExpiry());
  REQUIRE(other.ok());
  CHECK(other->token_id != mint.token_id);
  CHECK(other->token_value != mint.token_value);
}

TEST_CASE("a deterministic script of decisions replays to identical projections",
          "[commands][determinism]") {
  auto script = [](World& w) {
    std::string a = w.Mint(kAlice);
    w.Mint(kAlice, kAcme, Days(1));
    w.clock.Advance(2 * kDay);
    w.Apply(DecideRotate(w.state, w.UserCtx(kAlice), Own(kAlice), a, DefaultExpiry()));
    w.Apply(DecideExpireDue(w.state, w.now(), 100));
    w.SetPolicy({30, 30});
    w.Deactivate(kAlice);
  };
  World one, two;
  script(one);
  script(two);
  CHECK(one.last_seq == two.last_seq);
  CHECK(one.Snapshot() == two.Snapshot());
}
