// FindAudit against a brute-force filter of the whole log: random logs in
// memory (the real projector), random queries, every page walked.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/sha256.h"
#include "projections/audit.h"
#include "projections/memory_keyspaces.h"
#include "projections/records.h"
#include "projections/token_projector.h"

using namespace tokenlog;
using tokenlog::projections::AuditQuery;
using tokenlog::projections::FindAudit;
using tokenlog::projections::Involves;
using tokenlog::projections::MemoryKeyspaces;
using tokenlog::projections::TokenProjector;

namespace {

const std::vector<std::string> kTenants = {"acme", "globex"};
const std::vector<std::string> kUsers = {"alice@x", "bob@x", "carol@x", "root@x"};

struct Log {
  std::map<uint64_t, Event> events;
  MemoryKeyspaces keyspaces;
  std::vector<std::pair<std::string, std::string>> tokens;  // tenant, id
};

// `n` events: mints (some by an admin for a user), revocations, uses,
// denials, policy changes, deactivations; times never decrease.
Log RandomLog(std::mt19937& rng, int n) {
  Log log;
  TokenProjector projector;
  int64_t time = 1'795'000'000'000;
  std::set<std::string> revoked;
  for (uint64_t seq = 1; seq <= static_cast<uint64_t>(n); ++seq) {
    Event e;
    e.seq = seq;
    time += rng() % 3;  // often the same millisecond
    e.time = time;
    e.tenant = kTenants[rng() % kTenants.size()];
    const std::string user = kUsers[rng() % kUsers.size()];
    int kind = log.tokens.empty() ? 0 : static_cast<int>(rng() % 8);
    if (kind <= 2) {
      bool by_admin = kind == 2;
      e.actor = Actor{by_admin ? ActorRole::kAdmin : ActorRole::kUser,
                      by_admin ? std::string("root@x") : user, "127.0.0.1"};
      e.user = user;
      std::string id = "tok_" + std::to_string(seq);
      e.token_id = id;
      TokenMinted d;
      d.label = "t";
      d.expires_at = time + 1000;
      d.hint = "h";
      d.token_sha256 = Sha256(id);
      e.data = d;
      log.tokens.emplace_back(e.tenant, id);
    } else {
      auto [tenant, id] = log.tokens[rng() % log.tokens.size()];
      e.tenant = tenant;
      e.token_id = id;
      auto record = log.keyspaces.Get(Keyspace::kTokens, id).value();
      const std::string owner =
          projections::DecodeTokenRecord(*record).value().user;
      e.user = owner;
      if (kind == 3 && !revoked.count(id)) {
        e.actor = Actor{rng() % 2 ? ActorRole::kUser : ActorRole::kAdmin,
                        rng() % 2 ? owner : std::string("root@x"), "127.0.0.1"};
        e.data = TokenRevoked{};
        revoked.insert(id);
      } else if (kind <= 5) {
        e.actor = Actor{ActorRole::kBasic, std::nullopt, "10.0.0.1"};
        TokenUsed d;
        d.ip = "10.0.0.1";
        d.count = 1;
        d.first_at = d.last_at = time;
        e.data = d;
      } else if (kind == 6) {
        e.actor = Actor{ActorRole::kBasic, std::nullopt, "10.0.0.1"};
        AuthDenied d;
        d.claimed_user = owner;
        e.data = d;
      } else {
        e.token_id.reset();
        if (rng() % 2) {
          e.actor = Actor{ActorRole::kAdmin, std::string("root@x"), "127.0.0.1"};
          e.user.reset();
          PolicyChanged d;
          d.version = seq;
          e.data = d;
        } else {
          e.actor = Actor{ActorRole::kAdmin, std::string("root@x"), "127.0.0.1"};
          e.data = UserReactivated{};
        }
      }
    }
    REQUIRE(projector.Apply(e, log.keyspaces).ok());
    log.events.emplace(seq, e);
  }
  return log;
}

// What a query should return: the log filtered, newest first.
std::vector<uint64_t> Expected(const Log& log, const AuditQuery& q) {
  std::vector<uint64_t> seqs;
  for (auto it = log.events.rbegin(); it != log.events.rend(); ++it) {
    const Event& e = it->second;
    if (e.tenant != q.tenant) continue;
    if (q.scope_user && !Involves(e, *q.scope_user)) continue;
    if (q.user && !Involves(e, *q.user)) continue;
    if (q.token_id && e.token_id != q.token_id) continue;
    if (!q.types.empty() &&
        std::find(q.types.begin(), q.types.end(), e.type()) == q.types.end()) {
      continue;
    }
    if (q.since && e.time < *q.since) continue;
    if (q.until && e.time >= *q.until) continue;
    seqs.push_back(e.seq);
  }
  return seqs;
}

// Every page of `q`, concatenated.
std::vector<uint64_t> Walk(const Log& log, AuditQuery q) {
  auto fetch = [&log](uint64_t seq) -> Result<std::optional<Event>> {
    auto it = log.events.find(seq);
    if (it == log.events.end()) return std::optional<Event>();
    return std::optional<Event>(it->second);
  };
  std::vector<uint64_t> seqs;
  for (int pages = 0; pages < 10'000; ++pages) {
    auto page = FindAudit(log.keyspaces, fetch, q);
    REQUIRE(page.ok());
    REQUIRE(page->events.size() <= q.limit);
    for (const Event& e : page->events) seqs.push_back(e.seq);
    if (!page->next_before_seq) return seqs;
    REQUIRE((q.before_seq == 0 || *page->next_before_seq < q.before_seq));
    q.before_seq = *page->next_before_seq;
  }
  FAIL("pages never end");
  return seqs;
}

}  // namespace

TEST_CASE("audit pages equal a filter of the whole log, mints merged from the token indexes") {
  std::mt19937 rng(20261130);
  const std::vector<EventType> kTypes = {EventType::kTokenMinted, EventType::kTokenRevoked,
                                         EventType::kTokenUsed, EventType::kAuthDenied,
                                         EventType::kPolicyChanged};
  size_t nonempty = 0, with_mints = 0, with_others = 0;
  for (int round = 0; round < 12; ++round) {
    Log log = RandomLog(rng, 150 + static_cast<int>(rng() % 150));
    const int64_t first = log.events.begin()->second.time;
    const int64_t last = log.events.rbegin()->second.time;
    for (int i = 0; i < 60; ++i) {
      AuditQuery q;
      q.tenant = kTenants[rng() % kTenants.size()];
      if (rng() % 2) q.scope_user = kUsers[rng() % kUsers.size()];
      if (rng() % 3 == 0) q.user = kUsers[rng() % kUsers.size()];
      if (rng() % 3 == 0) {
        auto [tenant, id] = log.tokens[rng() % log.tokens.size()];
        q.token_id = id;  // sometimes another tenant's: nothing
      }
      for (EventType t : kTypes) {
        if (rng() % 4 == 0) q.types.push_back(t);
      }
      if (rng() % 3 == 0) q.since = first + static_cast<int64_t>(rng() % (last - first + 1));
      if (rng() % 3 == 0) q.until = first + static_cast<int64_t>(rng() % (last - first + 1));
      q.limit = 1 + rng() % 9;
      q.scan_budget = rng() % 2 ? 1000 : 3 + rng() % 5;  // small: pages end on the budget
      auto expected = Expected(log, q);
      INFO("round " << round << " query " << i << " limit " << q.limit << " budget "
                    << q.scan_budget);
      CHECK(Walk(log, q) == expected);
      nonempty += !expected.empty();
      for (uint64_t seq : expected) {
        (log.events.at(seq).type() == EventType::kTokenMinted ? with_mints : with_others)++;
      }
    }
  }
  // The queries reached both sources.
  CHECK(nonempty > 300);
  CHECK(with_mints > 1000);
  CHECK(with_others > 1000);
}

TEST_CASE("a mint has audit rows only under an actor other than its subject") {
  MemoryKeyspaces keyspaces;
  TokenProjector projector;
  auto mint = [&](uint64_t seq, const std::string& actor) {
    Event e;
    e.seq = seq;
    e.time = 1'795'000'000'000;
    e.tenant = "acme";
    e.actor = Actor{actor == "alice@x" ? ActorRole::kUser : ActorRole::kAdmin, actor, "::1"};
    e.user = "alice@x";
    e.token_id = "tok_" + std::to_string(seq);
    TokenMinted d;
    d.token_sha256 = Sha256(*e.token_id);
    e.data = d;
    REQUIRE(projector.Apply(e, keyspaces).ok());
  };
  mint(1, "alice@x");
  CHECK(keyspaces.keyspace(Keyspace::kAuditTenant).empty());
  CHECK(keyspaces.keyspace(Keyspace::kAuditUser).empty());
  CHECK(keyspaces.keyspace(Keyspace::kAuditToken).empty());
  CHECK(keyspaces.keyspace(Keyspace::kTenantTokens).size() == 1);
  CHECK(keyspaces.keyspace(Keyspace::kUserTokens).size() == 1);
  mint(2, "root@x");
  REQUIRE(keyspaces.keyspace(Keyspace::kAuditUser).size() == 1);
  CHECK(keyspaces.keyspace(Keyspace::kAuditUser).begin()->first.rfind(std::string("acme\0root@x\0", 12), 0) == 0);
}

namespace {

// A reader that, at its first scan of a token listing, lets `commit` run
// first: the events committed between the two reads of a page.
class CommitBetweenReads final : public KeyspaceReader {
 public:
  CommitBetweenReads(const KeyspaceReader& inner, std::function<void()> commit)
      : inner_(inner), commit_(std::move(commit)) {}
  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override {
    return inner_.Get(ks, key);
  }
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override {
    if ((ks == Keyspace::kTenantTokens || ks == Keyspace::kUserTokens) && commit_) {
      auto commit = std::move(commit_);
      commit_ = nullptr;
      commit();
    }
    return inner_.Scan(ks, prefix, start, reverse, visit);
  }

 private:
  const KeyspaceReader& inner_;
  mutable std::function<void()> commit_;
};

}  // namespace

TEST_CASE("a page leaves out what was committed after the walk began: no skipped event") {
  std::mt19937 rng(11);
  Log log = RandomLog(rng, 200);
  const uint64_t head = log.events.rbegin()->first;
  // A rotation lands between the page's two reads: a revocation, then a mint.
  auto [tenant, id] = log.tokens.front();
  const std::string owner =
      projections::DecodeTokenRecord(*log.keyspaces.Get(Keyspace::kTokens, id).value())
          .value()
          .user;
  auto commit = [&, tenant = tenant, id = id](Log& into) {
    TokenProjector projector;
    Event revoke;
    revoke.seq = head + 1;
    revoke.time = into.events.rbegin()->second.time;
    revoke.tenant = tenant;
    revoke.actor = Actor{ActorRole::kUser, owner, "::1"};
    revoke.user = owner;
    revoke.token_id = id;
    revoke.data = TokenRevoked{RevokeReason::kRotated, std::nullopt, std::string("tok_new")};
    Event mint = revoke;
    mint.seq = head + 2;
    mint.token_id = "tok_new";
    TokenMinted d;
    d.token_sha256 = Sha256("new");
    mint.data = d;
    for (Event* e : {&revoke, &mint}) {
      REQUIRE(projector.Apply(*e, into.keyspaces).ok());
      into.events.emplace(e->seq, *e);
    }
  };
  for (bool by_user : {false, true}) {
    Log copy = log;  // each case commits into its own copy
    AuditQuery q;
    q.tenant = tenant;
    if (by_user) q.scope_user = owner;
    q.limit = 3;
    q.newest_seq = head;
    auto expected = Expected(copy, q);
    CommitBetweenReads reader(copy.keyspaces, [&] { commit(copy); });
    auto fetch = [&copy](uint64_t seq) -> Result<std::optional<Event>> {
      auto it = copy.events.find(seq);
      if (it == copy.events.end()) return std::optional<Event>();
      return std::optional<Event>(it->second);
    };
    std::vector<uint64_t> got;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = FindAudit(reader, fetch, q);
      REQUIRE(page.ok());
      for (const Event& e : page->events) got.push_back(e.seq);
      if (!page->next_before_seq) break;
      q.before_seq = *page->next_before_seq;
    }
    INFO("by user: " << by_user);
    CHECK(copy.events.size() == log.events.size() + 2);  // the commit happened
    CHECK(got == expected);
  }
}
