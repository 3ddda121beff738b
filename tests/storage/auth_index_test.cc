// The check's in-memory index on its own: owners interned by (tenant, user)
// whatever the key length, across table growth, with deactivation reaching
// exactly the owner it names.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/sha256.h"
#include "projections/auth_index.h"
#include "projections/memory_keyspaces.h"
#include "projections/records.h"

using namespace tokenlog;
using tokenlog::projections::AuthIndex;

namespace {

// "tok_" + 16 base62 characters, distinct for each n.
std::string TokenId(size_t n) {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id = "tok_";
  for (int i = 0; i < 16; ++i, n /= 62) id.push_back(kDigits[n % 62]);
  return id;
}

// Hands each scanned value out of a buffer of its own that is overwritten
// once the visitor returns, as a RocksDB iterator's value() is valid only
// until its next step: a reader that keeps a view past its visit reads junk.
class TransientValues final : public KeyspaceReader {
 public:
  explicit TransientValues(const KeyspaceReader& base) : base_(base) {}
  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override {
    return base_.Get(ks, key);
  }
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override {
    return base_.Scan(ks, prefix, start, reverse, [&](std::string_view key, std::string_view value) {
      std::string buffer(value);  // a fresh heap block for each value
      buffer.resize(std::max<size_t>(buffer.size(), 64));
      const bool more = visit(key, std::string_view(buffer).substr(0, value.size()));
      std::fill(buffer.begin(), buffer.end(), '\xAA');
      return more;
    });
  }

 private:
  const KeyspaceReader& base_;
};

}  // namespace

TEST_CASE("owners are interned by tenant and user, short and long keys alike") {
  AuthIndex index;
  // Keys (tenant \0 user) of 10 to ~90 bytes: both sides of the 44 bytes an
  // owner slot holds inline. The same user names in two tenants, and names
  // that differ only past the 44th byte.
  std::vector<std::pair<std::string, std::string>> owners;
  for (size_t i = 0; i < 9000; ++i) {
    std::string user = "u" + std::to_string(i) + "@x.example";
    if (i % 3 == 1) user = std::string(50, 'l') + std::to_string(i) + "@example.com";
    if (i % 3 == 2) user = std::string(60, 'p') + "@example.com" + std::to_string(i);
    owners.emplace_back(i % 2 ? "acme" : "globex", user);
    owners.emplace_back(i % 2 ? "globex" : "acme", user);
  }
  // Three tokens per owner: 54,000 tokens, 18,000 owners (past every
  // table's first size, so both tables grow while in use).
  std::map<std::string, size_t> owner_of;  // token id -> index in owners
  size_t n = 0;
  for (size_t round = 0; round < 3; ++round) {
    for (size_t o = 0; o < owners.size(); ++o) {
      TokenRecord t;
      t.id = TokenId(n++);
      t.tenant = owners[o].first;
      t.user = owners[o].second;
      t.label = "label";
      t.hint = "hint";
      t.sha256 = Sha256(t.id);
      t.mint_seq = n;
      t.created_at = 1;
      REQUIRE(index.OnWrite(Keyspace::kTokens, t.id, projections::EncodeTokenRecord(t)).ok());
      owner_of[t.id] = o;
    }
  }
  REQUIRE(index.size() == owner_of.size());

  // Deactivate every seventh owner.
  for (size_t o = 0; o < owners.size(); o += 7) {
    REQUIRE(index.OnWrite(Keyspace::kUsers,
                          projections::UsersKey(owners[o].first, owners[o].second),
                          projections::EncodeDeactivation(1))
                .ok());
  }

  std::vector<const AuthIndex::Owner*> interned(owners.size(), nullptr);
  size_t checked = 0;
  for (const auto& [id, o] : owner_of) {
    auto m = index.Find(Sha256(id));
    REQUIRE(m);
    CHECK(m->token_id() == id);
    CHECK(m->owner->tenant() == owners[o].first);
    CHECK(m->owner->user() == owners[o].second);
    CHECK(m->owner->deactivated.load() == (o % 7 == 0));
    // One Owner per (tenant, user): every token of it points to the same.
    if (interned[o] == nullptr) interned[o] = m->owner;
    CHECK(m->owner == interned[o]);
    ++checked;
  }
  CHECK(checked == 54000);
  // Distinct owners are distinct objects.
  std::map<const AuthIndex::Owner*, size_t> distinct;
  for (const auto* p : interned) ++distinct[p];
  CHECK(distinct.size() == owners.size());

  // Reactivation reaches the same owner.
  REQUIRE(index.OnWrite(Keyspace::kUsers, projections::UsersKey(owners[7].first, owners[7].second),
                        std::nullopt)
              .ok());
  CHECK_FALSE(interned[7]->deactivated.load());
  CHECK(interned[14]->deactivated.load());
}

TEST_CASE("a reserved 1M-token index and owners over several arena blocks answer exactly") {
  AuthIndex index;
  index.Reserve(size_t{1} << 20);  // every shard's table is a huge-page mapping from the start
  // 40,000 owners with ~130-byte names (~6 MB of owners: several 2 MiB
  // arena blocks), one of them with a 3 MB name (a block of its own), each
  // with one token whose flags and expiry vary.
  const size_t kOwners = 40'000;
  auto user_of = [](size_t i) {
    if (i == 12'345) return std::string(3 << 20, 'h') + "@example.com";
    return std::to_string(i) + std::string(110, 'n') + "@example.com";
  };
  auto record = [&](size_t i) {
    TokenRecord t;
    t.id = TokenId(i);
    t.tenant = i % 2 ? "acme" : "globex";
    t.user = user_of(i);
    t.label = "label";
    t.hint = "hint";
    t.sha256 = Sha256(t.id);
    t.mint_seq = i + 1;
    t.created_at = 1;
    if (i % 3 == 0) t.expires_at = 1'000'000 + static_cast<int64_t>(i);
    if (i % 5 == 0) t.revoked_at = 2;
    t.expired_logged = i % 7 == 0;
    return t;
  };
  for (size_t i = 0; i < kOwners; ++i) {
    TokenRecord t = record(i);
    REQUIRE(index.OnWrite(Keyspace::kTokens, t.id, projections::EncodeTokenRecord(t)).ok());
  }
  REQUIRE(index.size() == kOwners);
  auto check_all = [&] {
    for (size_t i = 0; i < kOwners; ++i) {
      TokenRecord t = record(i);
      auto m = index.Find(t.sha256);
      REQUIRE(m);
      INFO("token " << i);
      CHECK(m->token_id() == t.id);
      CHECK(m->owner->tenant() == t.tenant);
      CHECK(m->owner->user() == t.user);
      CHECK(m->revoked == t.revoked_at.has_value());
      CHECK(m->expired_logged == t.expired_logged);
      CHECK(m->expires_at == t.expires_at);
    }
  };
  check_all();
  CHECK_FALSE(index.Find(Sha256("no such token")).has_value());
  // A later write of a record (a revocation) replaces its slot in place.
  TokenRecord revoked = record(1);
  revoked.revoked_at = 3;
  REQUIRE(index.OnWrite(Keyspace::kTokens, revoked.id, projections::EncodeTokenRecord(revoked)).ok());
  CHECK(index.Find(revoked.sha256)->revoked);
  CHECK(index.size() == kOwners);
}

TEST_CASE("Load adds every stored token, in both halves and a batch behind the scan, and refuses a corrupt record") {
  // 1,043 tokens, their ids spread over both halves the two load threads
  // take ("tok_0".."tok_U": 527, "tok_V".."tok_z": 516, neither a multiple
  // of the load's batch of 16), 3 per owner, some revoked or logged expired.
  // The values are read through TransientValues, so a record kept as a view
  // of the scan's value past its visit would not decode to what was stored.
  projections::MemoryKeyspaces keyspaces;
  const TransientValues reader(keyspaces);
  const size_t kTokens = 1'043;
  std::vector<TokenRecord> records;
  size_t expected_live = 0;
  for (size_t i = 0; i < kTokens; ++i) {
    TokenRecord t;
    t.id = TokenId(i);
    t.tenant = "acme";
    t.user = "user" + std::to_string(i / 3) + "@acme.example";
    t.label = "label";
    t.hint = "hint";
    t.sha256 = Sha256(t.id + "value");
    t.mint_seq = i + 1;
    t.created_at = 1;
    if (i % 4 == 0) t.expires_at = 5'000 + static_cast<int64_t>(i);
    if (i % 5 == 0) t.revoked_at = 2;
    t.expired_logged = i % 7 == 0;
    if (!t.revoked_at && !t.expired_logged) ++expected_live;
    keyspaces.Put(Keyspace::kTokens, t.id, projections::EncodeTokenRecord(t));
    records.push_back(t);
  }
  keyspaces.Put(Keyspace::kUsers, std::string("acme") + '\0' + "user7@acme.example",
                projections::EncodeDeactivation(9));
  size_t low = 0;
  for (const auto& t : records) low += t.id < "tok_V";
  REQUIRE(low == 527);
  REQUIRE(kTokens - low == 516);

  AuthIndex index;
  auto live = index.Load(reader);
  REQUIRE(live.ok());
  CHECK(*live == expected_live);
  CHECK(index.size() == kTokens);
  for (size_t i = 0; i < kTokens; ++i) {
    const TokenRecord& t = records[i];
    INFO("token " << i);
    auto m = index.Find(t.sha256);
    REQUIRE(m);
    CHECK(m->token_id() == t.id);
    CHECK(m->owner->user() == t.user);
    CHECK(m->revoked == t.revoked_at.has_value());
    CHECK(m->expired_logged == t.expired_logged);
    CHECK(m->expires_at == t.expires_at);
    CHECK(m->owner->deactivated.load() == (i / 3 == 7));
  }
  // The earliest live expiry is known: the sweep finds exactly the live
  // tokens due by then.
  std::vector<std::string> due = index.DueForExpiry(5'000 + 100);
  size_t expected_due = 0;
  for (const auto& t : records) {
    expected_due += t.expires_at && *t.expires_at <= 5'100 && !t.revoked_at && !t.expired_logged;
  }
  CHECK(due.size() == expected_due);

  // A record that does not decode, in the middle of the second half.
  keyspaces.Put(Keyspace::kTokens, "tok_X", "not a token record");
  AuthIndex corrupt;
  auto refused = corrupt.Load(reader);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kCorruption);
  CHECK(refused.status().detail().find("tok_X") != std::string::npos);
}

TEST_CASE("Load interns each owner once while both threads grow the owner tables") {
  // 20,000 owners with 3 tokens each, their ids in both halves the two load
  // threads take: each owner shard's table grows past its first size while
  // both threads intern into it (a grow allocates its table with the
  // shard's lock released, so the other thread may intern or grow
  // meanwhile). Every token must then point to the one Owner of its
  // (tenant, user), and distinct owners to distinct ones.
  projections::MemoryKeyspaces keyspaces;
  const size_t kOwners = 20'000;
  const size_t kTokens = 3 * kOwners;
  auto owner_of = [&](size_t i) { return i % kOwners; };
  auto user_of = [](size_t o) { return "user" + std::to_string(o) + "@acme.example"; };
  size_t low = 0;
  for (size_t i = 0; i < kTokens; ++i) {
    TokenRecord t;
    t.id = TokenId(i);
    t.tenant = owner_of(i) % 2 ? "acme" : "globex";
    t.user = user_of(owner_of(i));
    t.label = "label";
    t.hint = "hint";
    t.sha256 = Sha256(t.id + "value");
    t.mint_seq = i + 1;
    t.created_at = 1;
    keyspaces.Put(Keyspace::kTokens, t.id, projections::EncodeTokenRecord(t));
    low += t.id < "tok_V";
  }
  REQUIRE(low > kTokens / 3);
  REQUIRE(kTokens - low > kTokens / 3);

  AuthIndex index;
  auto live = index.Load(keyspaces);
  REQUIRE(live.ok());
  CHECK(*live == kTokens);
  CHECK(index.size() == kTokens);
  std::vector<const AuthIndex::Owner*> interned(kOwners, nullptr);
  size_t mismatched = 0;
  for (size_t i = 0; i < kTokens; ++i) {
    auto m = index.Find(Sha256(TokenId(i) + "value"));
    REQUIRE(m);
    const size_t o = owner_of(i);
    if (m->owner->user() != user_of(o) || m->owner->tenant() != (o % 2 ? "acme" : "globex")) {
      ++mismatched;
    }
    if (interned[o] == nullptr) interned[o] = m->owner;
    if (m->owner != interned[o]) ++mismatched;
  }
  CHECK(mismatched == 0);
  std::set<const AuthIndex::Owner*> distinct(interned.begin(), interned.end());
  CHECK(distinct.size() == kOwners);
}
