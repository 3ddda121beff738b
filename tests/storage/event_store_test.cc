// The event store with the real projector on RocksDB in a temp directory.
#include <catch2/catch.hpp>
#include <rocksdb/db.h>
#include <rocksdb/table_properties.h>
#include <rocksdb/utilities/options_util.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/bytes.h"
#include "core/commands.h"
#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/sha256.h"
#include "core/token_codec.h"
#include "projections/auth_index.h"
#include "projections/memory_keyspaces.h"
#include "projections/records.h"
#include "projections/state_view.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"
#include "tests/minted_event.h"
#include "tests/temp_dir.h"

using namespace tokenlog;
using tokenlog::projections::AuthIndex;
using tokenlog::projections::MemoryKeyspaces;
using tokenlog::projections::ProjectionState;
using tokenlog::projections::TokenProjector;
using tokenlog::storage::EventStore;
using tokenlog::storage::OpenMode;

namespace {

constexpr int64_t kStart = 1'795'000'000'000;  // 2026-11-18

struct Fixture {
  testing::TempDir dir;
  FakeClock clock{kStart};
  SeededRandom random{42};
  TokenProjector projector;
  std::unique_ptr<EventStore> store;
  // The check's index, loaded at open and kept by the commit listener as
  // the server keeps it.
  std::unique_ptr<AuthIndex> index;

  Fixture() { Reopen(); }
  void Reopen() {
    store.reset();
    auto opened = EventStore::Open(dir.path(), OpenMode::kReadWrite, projector, clock);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    index = std::make_unique<AuthIndex>();
    REQUIRE(index->Load(store->committed()).ok());
    store->SetCommitListener([this](const std::vector<Event>&, const storage::CommittedWrites& w) {
      Status read = w.Visit(
          {Keyspace::kUsers, Keyspace::kTokens},
          [&](Keyspace ks, std::string_view key, std::optional<std::string_view> value) {
            CHECK(index->OnWrite(ks, key, value).ok());
          });
      CHECK(read.ok());
    });
  }

  // `index` answers for every stored token exactly what the projections
  // say, and knows no other value. Returns the number of tokens checked.
  size_t ExpectIndexMatchesProjections(const AuthIndex& idx, size_t* live = nullptr) {
    ProjectionState state(store->committed());
    size_t tokens = 0, not_revoked_or_logged = 0;
    REQUIRE(store->committed()
                .Scan(Keyspace::kTokens, "", "", false,
                      [&](std::string_view, std::string_view raw) {
                        auto t = projections::DecodeTokenRecord(raw);
                        REQUIRE(t.ok());
                        auto m = idx.Find(t->sha256);
                        REQUIRE(m);
                        INFO("token " << t->id);
                        CHECK(m->token_id() == t->id);
                        CHECK(m->owner->tenant() == t->tenant);
                        CHECK(m->owner->user() == t->user);
                        CHECK(m->expires_at == t->expires_at);
                        CHECK(m->revoked == t->revoked_at.has_value());
                        CHECK(m->expired_logged == t->expired_logged);
                        auto deactivated = state.IsDeactivated(t->tenant, t->user);
                        REQUIRE(deactivated.ok());
                        CHECK(m->owner->deactivated.load() == *deactivated);
                        ++tokens;
                        if (!t->revoked_at && !t->expired_logged) ++not_revoked_or_logged;
                        return true;
                      })
                .ok());
    CHECK(idx.size() == tokens);
    CHECK_FALSE(idx.Find(Sha256("not a stored value")));
    if (live) *live = not_revoked_or_logged;
    return tokens;
  }

  CommandContext Ctx(const std::string& tenant, const std::string& user, ActorRole role) {
    CommandContext ctx;
    ctx.tenant = tenant;
    ctx.actor = Actor{role, user, "127.0.0.1"};
    ctx.random = &random;
    return ctx;
  }

  // Runs a decision through the store; returns the decision (with the
  // committed events) or its refusal.
  template <typename F>
  Result<Decision> Run(F decide_fn) {
    Decision out;
    auto r = store->Execute([&](const KeyspaceReader& ks, int64_t now) -> Result<std::vector<Event>> {
      ProjectionState state(ks);
      TL_ASSIGN_OR_RETURN(Decision d, decide_fn(state, now));
      out = d;
      return std::move(d.events);
    });
    if (!r.ok()) return r.status();
    out.events = std::move(r).value();
    return out;
  }

  Result<Decision> Mint(const std::string& tenant, const std::string& user, const std::string& label) {
    return Run([&](const StateReader& s, int64_t now) {
      auto ctx = Ctx(tenant, user, ActorRole::kUser);
      ctx.now = now;
      return DecideMint(s, ctx, user, label, ExpiryRequest{});
    });
  }

  // Every key and value of every projection keyspace, as stored.
  std::vector<std::vector<std::pair<std::string, std::string>>> Dump() {
    std::vector<std::vector<std::pair<std::string, std::string>>> out(kKeyspaceCount);
    for (size_t i = 0; i < kKeyspaceCount; ++i) {
      REQUIRE(store->committed()
                  .Scan(static_cast<Keyspace>(i), "", "", false,
                        [&](std::string_view k, std::string_view v) {
                          out[i].emplace_back(std::string(k), std::string(v));
                          return true;
                        })
                  .ok());
    }
    return out;
  }

  // The same keyspaces from a fresh in-memory replay of the log.
  std::vector<std::vector<std::pair<std::string, std::string>>> Replay() {
    MemoryKeyspaces mem;
    uint64_t expected = 1;
    Digest prev{};
    REQUIRE(store->ScanEvents(1, [&](uint64_t seq, std::string_view raw) {
      auto e = DecodeEvent(raw);
      REQUIRE(e.ok());
      CHECK(seq == expected);
      CHECK(e->seq == expected);
      CHECK(e->prev_hash == prev);
      CHECK(ComputeEventHash(*e) == e->hash);
      prev = e->hash;
      ++expected;
      REQUIRE(projector.Apply(*e, mem).ok());
      return true;
    }).ok());
    std::vector<std::vector<std::pair<std::string, std::string>>> out(kKeyspaceCount);
    for (size_t i = 0; i < kKeyspaceCount; ++i) {
      for (const auto& [k, v] : mem.keyspace(static_cast<Keyspace>(i))) out[i].emplace_back(k, v);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("appends are chained, numbered from 1 and survive a reopen") {
  Fixture f;
  auto a = f.Mint("acme", "alice@acme.example", "laptop");
  REQUIRE(a.ok());
  auto b = f.Mint("acme", "alice@acme.example", "desktop");
  REQUIRE(b.ok());
  REQUIRE(a->events.size() == 1);
  CHECK(a->events[0].seq == 1);
  CHECK(b->events[0].seq == 2);
  CHECK(a->events[0].prev_hash == kGenesisHash);
  CHECK(b->events[0].prev_hash == a->events[0].hash);
  CHECK(f.store->head().seq == 2);
  CHECK(f.store->head().hash == b->events[0].hash);

  auto before = f.Dump();
  f.Reopen();
  CHECK(f.store->head().seq == 2);
  CHECK(f.store->head().hash == b->events[0].hash);
  CHECK(f.Dump() == before);
  ProjectionState state(f.store->committed());
  auto tokens = state.UserTokens("acme", "alice@acme.example");
  REQUIRE(tokens.ok());
  REQUIRE(tokens->size() == 2);
  CHECK((*tokens)[0].label == "desktop");  // newest first
  CHECK((*tokens)[1].label == "laptop");
}

TEST_CASE("each caller gets its committed events whole, as the commit listener saw them and the log holds them") {
  Fixture f;
  std::vector<Event> seen;
  f.store->SetCommitListener([&](const std::vector<Event>& events, const storage::CommittedWrites&) {
    seen.insert(seen.end(), events.begin(), events.end());
  });
  // Three commands in turn from four threads, so that groups form: one
  // event each, or three for the commands that mint three tokens.
  std::vector<std::vector<Event>> answers(12);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < 3; ++k) {
        const size_t n = t * 3 + k;
        auto r = f.store->Execute([&](const KeyspaceReader&, int64_t now) -> Result<std::vector<Event>> {
          std::vector<Event> events;
          for (size_t i = 0; i < (n % 2 ? 3u : 1u); ++i) {
            const std::string value = "value-" + std::to_string(n) + "-" + std::to_string(i);
            Event e;
            e.time = now;
            e.tenant = "acme";
            e.user = "user" + std::to_string(n) + "@acme.example";
            e.actor = Actor{ActorRole::kUser, *e.user, "203.0.113.7"};
            TokenMinted d;
            d.label = "a label long enough to live on the heap " + std::to_string(i);
            d.hint = TokenHint(value);
            d.token_sha256 = Sha256(value);
            e.token_id = TokenIdOf(d.token_sha256);
            e.data = d;
            events.push_back(std::move(e));
          }
          return events;
        });
        if (r.ok()) answers[n] = std::move(r).value();  // (no Catch assertion off the main thread)
      }
    });
  }
  for (auto& th : threads) th.join();
  size_t total = 0;
  for (size_t n = 0; n < answers.size(); ++n) {
    INFO("command " << n);
    REQUIRE(answers[n].size() == (n % 2 ? 3u : 1u));
    for (const Event& e : answers[n]) {
      ++total;
      CHECK(e.user == "user" + std::to_string(n) + "@acme.example");
      CHECK(e.actor.user == e.user);
      CHECK(std::get<TokenMinted>(e.data).label.rfind("a label long enough", 0) == 0);
      auto logged = f.store->ReadEvent(e.seq);
      REQUIRE(logged.ok());
      REQUIRE(logged->has_value());
      CHECK(**logged == e);
      REQUIRE(e.seq >= 1);
      REQUIRE(e.seq <= seen.size());
      CHECK(seen[e.seq - 1] == e);  // the listener saw the events in seq order
    }
  }
  CHECK(seen.size() == total);
}

TEST_CASE("callers queued past a group's bound are appended in the next groups, each answered with its own events") {
  Fixture f;
  // The first command holds the writer until 530 more wait behind it: they
  // form a full group of 512 commands and a group of 18, appended in the
  // order they were queued, each caller answered with its own event.
  std::vector<size_t> group_sizes;  // events per commit, as the listener sees them
  std::vector<std::string> listened_users;
  f.store->SetCommitListener([&](const std::vector<Event>& events, const storage::CommittedWrites&) {
    group_sizes.push_back(events.size());
    for (const Event& e : events) listened_users.push_back(*e.user);
  });
  constexpr size_t kWaiting = 530;
  auto mint = [&](size_t n, std::function<void()> before) {
    return f.store->Execute([&f, n, before](const KeyspaceReader&, int64_t now)
                                -> Result<std::vector<Event>> {
      if (before) before();
      return std::vector<Event>{testing::MintedEvent(f.random, now, "acme",
                                                     "user" + std::to_string(n) + "@acme.example")};
    });
  };
  std::atomic<bool> holding{false}, all_queued{false};
  std::thread holder([&] {
    (void)mint(0, [&] {
      holding = true;
      while (!all_queued.load()) std::this_thread::yield();
    });
  });
  std::vector<std::string> answered(kWaiting + 1);
  std::vector<uint64_t> answered_seq(kWaiting + 1);
  std::vector<std::thread> callers;
  // A broken store (a caller answered at once, or never queued) fails the
  // test instead of hanging it: each wait gives up after a minute.
  auto wait_until = [](const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::yield();
    }
    return true;
  };
  size_t queued_in_turn = 0;
  if (wait_until([&] { return holding.load(); })) {
    for (size_t n = 1; n <= kWaiting; ++n) {
      // One at a time, so that the queue's order is the callers' order.
      callers.emplace_back([&, n] {
        auto r = mint(n, nullptr);
        if (r.ok() && r->size() == 1) {
          answered[n] = *(*r)[0].user;
          answered_seq[n] = (*r)[0].seq;
        }
      });
      if (!wait_until([&] { return f.store->queued() == n; })) break;
      queued_in_turn = n;
    }
  }
  all_queued = true;  // releases the writer whatever happened above
  holder.join();
  for (auto& t : callers) t.join();
  REQUIRE(queued_in_turn == kWaiting);
  CHECK(group_sizes == std::vector<size_t>{1, 512, 18});
  REQUIRE(listened_users.size() == kWaiting + 1);
  for (size_t n = 1; n <= kWaiting; ++n) {
    INFO("caller " << n);
    CHECK(answered[n] == "user" + std::to_string(n) + "@acme.example");
    CHECK(answered_seq[n] == n + 1);
    CHECK(listened_users[n] == answered[n]);
  }
  CHECK(f.store->head().seq == kWaiting + 1);
  CHECK(f.store->queued() == 0);
}

TEST_CASE("a refused command in a group leaves no trace") {
  Fixture f;
  auto bad = f.Mint("acme", "bob@acme.example", "   ");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidLabel);
  CHECK(f.store->head().seq == 0);
  auto failing = f.store->Execute([](const KeyspaceReader&, int64_t) -> Result<std::vector<Event>> {
    return Status(Code::kTokenLimitReached, "no");
  });
  REQUIRE_FALSE(failing.ok());
  CHECK(f.store->head().seq == 0);
  for (const auto& ks : f.Dump()) CHECK(ks.empty());
}

TEST_CASE("the cap is exact under 40 concurrent mints for one user") {
  Fixture f;
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      auto r = f.Mint("acme", "carol@acme.example", std::string("t").append(std::to_string(i)));
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == Code::kTokenLimitReached) {
        ++limited;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 5);
  CHECK(limited == 35);
  CHECK(other == 0);
  CHECK(f.store->head().seq == 5);
  // The refused commands of each group left nothing in the check's index.
  CHECK(f.ExpectIndexMatchesProjections(*f.index) == 5);
}

TEST_CASE("projections equal a replay of the log after a randomized workload, and after Rebuild") {
  Fixture f;
  std::mt19937 rng(7);
  const std::vector<std::string> tenants = {"acme", "globex"};
  const std::vector<std::string> users = {"a@x", "b@x", "c@x", "d@x"};
  std::vector<std::pair<std::string, std::string>> minted;  // tenant, token id
  int accepted = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string& tenant = tenants[rng() % tenants.size()];
    const std::string& user = users[rng() % users.size()];
    int op = static_cast<int>(rng() % 100);
    f.clock.Advance(static_cast<int64_t>(rng() % (6 * 3600 * 1000)));
    Result<Decision> r = Status(Code::kInvalidRequest, "unset");
    if (op < 40) {
      ExpiryRequest ex;
      if (rng() % 3 == 0) ex = ExpiryRequest{ExpiryRequest::Kind::kDays, 1 + int64_t(rng() % 30)};
      r = f.Run([&](const StateReader& s, int64_t now) {
        auto ctx = f.Ctx(tenant, user, ActorRole::kUser);
        ctx.now = now;
        return DecideMint(s, ctx, user, std::string("label ").append(std::to_string(i)), ex);
      });
      if (r.ok()) minted.emplace_back(tenant, *r->token_id);
    } else if (op < 55 && !minted.empty()) {
      auto [t, id] = minted[rng() % minted.size()];
      r = f.Run([&](const StateReader& s, int64_t now) {
        auto ctx = f.Ctx(t, "admin@x", ActorRole::kAdmin);
        ctx.now = now;
        return DecideRevoke(s, ctx, TokenScope{t, std::nullopt}, id, RevokeReason::kAdmin,
                            std::nullopt);
      });
    } else if (op < 68 && !minted.empty()) {
      auto [t, id] = minted[rng() % minted.size()];
      r = f.Run([&](const StateReader& s, int64_t now) {
        auto ctx = f.Ctx(t, "admin@x", ActorRole::kAdmin);
        ctx.now = now;
        return DecideRotate(s, ctx, TokenScope{t, std::nullopt}, id, ExpiryRequest{});
      });
      if (r.ok()) minted.emplace_back(t, *r->token_id);
    } else if (op < 76) {
      PolicyLimits limits;
      limits.default_lifetime_days = 1 + static_cast<int32_t>(rng() % 20);
      if (rng() % 4 != 0) limits.max_lifetime_days = limits.default_lifetime_days + int32_t(rng() % 40);
      else limits.max_lifetime_days.reset();
      r = f.Run([&](const StateReader& s, int64_t now) {
        auto ctx = f.Ctx(tenant, "admin@x", ActorRole::kAdmin);
        ctx.now = now;
        return DecideSetPolicy(s, ctx, limits);
      });
    } else if (op < 82) {
      r = f.Run([&](const StateReader& s, int64_t now) {
        auto ctx = f.Ctx(tenant, "admin@x", ActorRole::kAdmin);
        ctx.now = now;
        return DecideDeactivate(s, ctx, user);
      });
    } else if (op < 88) {
      r = f.Run([&](const StateReader& s, int64_t now) {
        auto ctx = f.Ctx(tenant, "admin@x", ActorRole::kAdmin);
        ctx.now = now;
        return DecideReactivate(s, ctx, user);
      });
    } else {
      r = f.Run([&](const StateReader& s, int64_t now) { return DecideExpireDue(s, now, 100); });
    }
    r.ok() ? ++accepted : ++refused;
  }
  INFO("accepted " << accepted << ", refused " << refused << ", head " << f.store->head().seq);
  CHECK(accepted > 1000);
  CHECK(f.store->head().seq > 1000);

  auto live = f.Dump();
  CHECK(live == f.Replay());

  // user_live holds exactly the user's tokens neither revoked nor logged
  // expired, newest first (what the cap reads instead of the whole history).
  {
    ProjectionState state(f.store->committed());
    size_t in_live = 0, all = 0;
    for (const auto& tenant : tenants) {
      for (const auto& user : users) {
        auto every = state.UserTokens(tenant, user);
        auto live_only = state.LiveUserTokens(tenant, user);
        REQUIRE(every.ok());
        REQUIRE(live_only.ok());
        std::vector<std::string> expected, got;
        for (const auto& t : *every) {
          if (!t.revoked_at && !t.expired_logged) expected.push_back(t.id);
        }
        for (const auto& t : *live_only) got.push_back(t.id);
        CHECK(got == expected);
        in_live += got.size();
        all += every->size();
      }
    }
    CHECK(in_live > 0);
    CHECK(in_live < all);
  }

  // The check's index kept live by the commit listener equals one loaded
  // from the projections, and both equal the projections.
  CHECK(f.ExpectIndexMatchesProjections(*f.index) == minted.size());
  AuthIndex loaded;
  auto live_loaded = loaded.Load(f.store->committed());
  REQUIRE(live_loaded.ok());
  size_t live_expected = 0;
  f.ExpectIndexMatchesProjections(loaded, &live_expected);
  CHECK(*live_loaded == live_expected);
  CHECK(live_expected > 0);
  CHECK(live_expected < minted.size());

  REQUIRE(f.store->Rebuild().ok());
  CHECK(f.Dump() == live);
  // Many small bulk loads: entries updated and deleted across load
  // boundaries end the same.
  REQUIRE(f.store->Rebuild(nullptr, 300).ok());
  CHECK(f.Dump() == live);
  f.Reopen();
  CHECK(f.Dump() == live);

  // A rebuild that crashed after ingesting can leave its temporary file
  // names as hard links to live SST files; the next rebuild must not write
  // through them. Link live files under the names it will use. (Background
  // compaction may delete a listed file before it is linked: skip that one.)
  const std::filesystem::path tmp = std::filesystem::path(f.dir.path()) / "rebuild.tmp";
  std::filesystem::create_directories(tmp);
  size_t linked = 0;
  for (const auto& file : std::filesystem::directory_iterator(f.dir.path())) {
    if (file.path().extension() != ".sst" || linked == kKeyspaceCount) continue;
    std::error_code ec;
    std::filesystem::create_hard_link(file.path(), tmp / (std::to_string(linked) + "-1.sst"), ec);
    if (ec == std::errc::no_such_file_or_directory) continue;
    REQUIRE_FALSE(ec);
    ++linked;
  }
  REQUIRE(linked > 0);
  REQUIRE(f.store->Rebuild().ok());
  CHECK(f.Dump() == live);
  f.Reopen();
  CHECK(f.Dump() == live);
}

namespace {

// The compression of every table in the projection column families of the
// RocksDB directory `path`, read with RocksDB itself: name -> tables.
std::map<std::string, size_t> ProjectionCompression(const std::string& path) {
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, size_t> out;
  for (size_t i = 0; i < handles.size(); ++i) {
    bool projection = false;
    for (size_t k = 0; k < kKeyspaceCount; ++k) {
      projection |= names[i] == KeyspaceName(static_cast<Keyspace>(k));
    }
    rocksdb::TablePropertiesCollection tables;
    REQUIRE(db->GetPropertiesOfAllTables(handles[i], &tables).ok());
    if (projection) {
      for (const auto& [file, props] : tables) ++out[props->compression_name];
    }
    REQUIRE(db->DestroyColumnFamilyHandle(handles[i]).ok());
  }
  return out;
}

}  // namespace

TEST_CASE("a rebuild into empty projections (a backup's copy) writes compressed tables") {
  Fixture f;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(f.Mint("acme", "user" + std::to_string(i % 40) + "@acme.example", "t").ok());
  }
  testing::TempDir copy_root;
  const std::string copy = copy_root.path() + "/copy";
  REQUIRE(EventStore::Backup(f.dir.path(), copy, f.projector, f.clock).ok());
  // Backup() reopens the copy, which rebuilt its projections from nothing:
  // those tables land in the lowest levels, where no compaction rewrites
  // them, so they must not be the uncompressed kind a rebuild of a cleared
  // keyspace writes.
  auto compression = ProjectionCompression(copy);
  size_t tables = 0;
  std::string seen;
  for (const auto& [name, n] : compression) {
    tables += n;
    seen += name + ": " + std::to_string(n) + " ";
  }
  INFO("tables by compression: " << seen);
  CHECK(tables > 0);
  CHECK(compression.count("NoCompression") == 0);
}

TEST_CASE("a backup whose read of the log has a gap is refused, and leaves nothing") {
  Fixture f;
  for (int i = 0; i < 30; ++i) REQUIRE(f.Mint("acme", "u" + std::to_string(i % 10) + "@x", "t").ok());
  f.store.reset();
  {
    // What a secondary instance that missed a log file reads: seq 10 absent.
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), f.dir.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), f.dir.path(), cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const size_t events = std::find(names.begin(), names.end(), "events") - names.begin();
    REQUIRE(events < names.size());
    const std::string key = EncodeU64(10);
    std::string value;
    REQUIRE(db->Get(rocksdb::ReadOptions(), handles[events], key, &value).ok());
    REQUIRE(db->Delete(rocksdb::WriteOptions(), handles[events], key).ok());
    for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  }
  testing::TempDir root;
  auto copied = EventStore::Backup(f.dir.path(), root.path() + "/copy", f.projector, f.clock);
  REQUIRE_FALSE(copied.ok());
  CHECK(copied.status().code() == Code::kUnavailable);
  CHECK_THAT(copied.status().detail(), Catch::Contains("gap at seq 10"));
  CHECK(std::filesystem::is_empty(root.path()));
}

TEST_CASE("a backup appears under its name only once complete; a target in use is refused") {
  Fixture f;
  for (int i = 0; i < 50; ++i) REQUIRE(f.Mint("acme", "u" + std::to_string(i % 20) + "@x", "t").ok());
  const storage::LogHead head = f.store->head();
  testing::TempDir root;
  auto entries = [&] {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(root.path())) {
      names.insert(e.path().filename().string());
    }
    return names;
  };
  // Absent: made, and nothing else is left beside it.
  auto made = EventStore::Backup(f.dir.path(), root.path() + "/a", f.projector, f.clock);
  REQUIRE(made.ok());
  CHECK(*made == head);
  CHECK(entries() == std::set<std::string>{"a"});
  // An empty directory: filled (a trailing slash names it too).
  std::filesystem::create_directory(root.path() + "/b");
  REQUIRE(EventStore::Backup(f.dir.path(), root.path() + "/b/", f.projector, f.clock).ok());
  CHECK(entries() == std::set<std::string>{"a", "b"});
  // Not empty, or not a directory: refused, and nothing is left behind.
  auto into_a = EventStore::Backup(f.dir.path(), root.path() + "/a", f.projector, f.clock);
  CHECK(into_a.status().code() == Code::kInvalidRequest);
  { std::ofstream(root.path() + "/file") << "x"; }
  auto into_file = EventStore::Backup(f.dir.path(), root.path() + "/file", f.projector, f.clock);
  CHECK(into_file.status().code() == Code::kInvalidRequest);
  CHECK(entries() == std::set<std::string>{"a", "b", "file"});
  // Each copy opens at the source's head.
  for (const char* name : {"a", "b"}) {
    TokenProjector projector;
    auto copy = EventStore::Open(root.path() + "/" + name, OpenMode::kReadOnly, projector, f.clock);
    REQUIRE(copy.ok());
    CHECK((*copy)->head() == head);
  }
}

namespace {

// Writes keys of awkward shapes, chosen from each event's seq, to three
// scan-only keyspaces: rows whose keys share long prefixes, differ only past
// the 44 key bytes a bulk-load row holds, are prefixes of one another, hold zero
// and 0xFF bytes, are written again or deleted.
class KeyShapesProjector final : public Projector {
 public:
  Status Apply(const Event& e, KeyspaceWriter& out) const override {
    std::mt19937_64 rng(e.seq * 7919);
    for (int i = 0; i < 6; ++i) {
      const auto ks = AuditKeyspace(rng() % 3);
      std::string key = Key(ks, rng);
      if (rng() % 5 == 0) {
        out.Delete(ks, key);
      } else {
        out.Put(ks, key, "v" + std::to_string(e.seq) + "." + std::to_string(i));
      }
    }
    return Status();
  }
  // The same writes into `expected`, in log order.
  void Expect(uint64_t seq, std::vector<std::map<std::string, std::string>>& expected) const {
    std::mt19937_64 rng(seq * 7919);
    for (int i = 0; i < 6; ++i) {
      const size_t k = rng() % 3;
      std::string key = Key(AuditKeyspace(k), rng);
      if (rng() % 5 == 0) {
        expected[k].erase(key);
      } else {
        expected[k][key] = "v" + std::to_string(seq) + "." + std::to_string(i);
      }
    }
  }

 private:
  // kAuditTenant, kAuditUser or kAuditToken.
  static Keyspace AuditKeyspace(size_t i) {
    return static_cast<Keyspace>(static_cast<size_t>(Keyspace::kAuditTenant) + i);
  }
  static std::string Key(Keyspace ks, std::mt19937_64& rng) {
    // A small alphabet, so that keys collide, tie over many bytes and are
    // prefixes of one another.
    auto tail = [&](size_t max) {
      std::string t(rng() % (max + 1), '\0');
      const char alphabet[] = {'\0', 'a', 'b', '\xff'};
      for (char& c : t) c = alphabet[rng() % 4];
      return t;
    };
    switch (ks) {
      case Keyspace::kAuditTenant:  // mixed: no shared prefix at all
        return rng() % 2 == 0 ? tail(6) : std::string(44 + rng() % 8, 'p') + tail(3);
      case Keyspace::kAuditUser:  // a 30-byte shared prefix, short tails
        return std::string(30, 'q') + tail(22);
      default:  // longer than a row's 44 key bytes, differing only past them
        return std::string(47 + rng() % 3, 'r') + tail(4);
    }
  }
};

}  // namespace

namespace {

// Appends `total` token.minted events of tenant acme, `batch` to a command;
// the j-th event of a command is for user_of(j).
void AppendMints(EventStore& store, RandomSource& random, int total, int batch,
                 const std::function<std::string(int)>& user_of) {
  for (int i = 0; i < total; i += batch) {
    auto r = store.Execute([&](const KeyspaceReader&, int64_t now) -> Result<std::vector<Event>> {
      std::vector<Event> events;
      for (int j = 0; j < batch; ++j) {
        events.push_back(testing::MintedEvent(random, now, "acme", user_of(j)));
      }
      return events;
    });
    REQUIRE(r.ok());
  }
}

}  // namespace

TEST_CASE("a rebuild writes keys of any shape in byte order, the last write of each winning") {
  testing::TempDir dir;
  FakeClock clock{kStart};
  KeyShapesProjector projector;
  auto opened = EventStore::Open(dir.path(), OpenMode::kReadWrite, projector, clock);
  REQUIRE(opened.ok());
  std::unique_ptr<EventStore> store = std::move(opened).value();
  SeededRandom random(3);
  const int kEvents = 2000;
  AppendMints(*store, random, kEvents, 50, [](int) { return std::string("a@x"); });
  std::vector<std::map<std::string, std::string>> expected(3);
  for (uint64_t seq = 1; seq <= kEvents; ++seq) projector.Expect(seq, expected);

  auto stored = [&] {
    std::vector<std::map<std::string, std::string>> out(3);
    for (size_t k = 0; k < 3; ++k) {
      auto ks = static_cast<Keyspace>(static_cast<size_t>(Keyspace::kAuditTenant) + k);
      std::string previous;
      bool first = true;
      REQUIRE(store->committed()
                  .Scan(ks, "", "", false,
                        [&](std::string_view key, std::string_view value) {
                          if (!first) CHECK(previous < key);  // byte order, no repeats
                          previous = std::string(key);
                          first = false;
                          out[k].emplace(std::string(key), std::string(value));
                          return true;
                        })
                  .ok());
    }
    return out;
  };
  for (size_t k = 0; k < 3; ++k) CHECK(expected[k].size() > 100);
  CHECK(stored() == expected);  // as written live
  REQUIRE(store->Rebuild().ok());  // one bulk load
  CHECK(stored() == expected);
  REQUIRE(store->Rebuild(nullptr, 500).ok());  // many, keys rewritten across them
  CHECK(stored() == expected);
}

TEST_CASE("a rebuild leaves auto compaction on for every projection") {
  // The rebuild pauses compaction of the keyspaces it loads (a SetOptions
  // call each, recorded in RocksDB's OPTIONS file) and must turn it back on
  // by its end, or level 0 would pile up. (This checks the end state: the
  // resume past kPausedLoads loads is not told apart from the final one.)
  testing::TempDir dir;
  FakeClock clock{kStart};
  TokenProjector projector;
  auto opened = EventStore::Open(dir.path(), OpenMode::kReadWrite, projector, clock);
  REQUIRE(opened.ok());
  std::unique_ptr<EventStore> store = std::move(opened).value();
  SeededRandom random(9);
  AppendMints(*store, random, 2000, 100, [](int j) { return "u" + std::to_string(j % 7) + "@x"; });
  auto compaction_on_everywhere = [&] {
    rocksdb::DBOptions db_options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    rocksdb::ConfigOptions config;
    config.ignore_unknown_options = true;
    REQUIRE(rocksdb::LoadLatestOptions(config, dir.path(), &db_options, &families).ok());
    REQUIRE(families.size() == kKeyspaceCount + 3);
    for (const auto& f : families) {
      INFO(f.name);
      CHECK_FALSE(f.options.disable_auto_compactions);
    }
  };
  REQUIRE(store->Rebuild().ok());  // one load
  compaction_on_everywhere();
  REQUIRE(store->Rebuild(nullptr, 300).ok());  // 12 loads (sizes double every four)
  compaction_on_everywhere();
}

TEST_CASE("a store lacking a projection added since opens for reading with a clear error") {
  // An earlier version's store: every column family but user_live.
  testing::TempDir dir;
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : {"default", "events", "meta"}) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    for (size_t i = 0; i < kKeyspaceCount; ++i) {
      auto ks = static_cast<Keyspace>(i);
      if (ks != Keyspace::kUserLive) families.emplace_back(std::string(KeyspaceName(ks)), rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(options, dir.path(), families, &handles, &db).ok());
    for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  TokenProjector projector;
  FakeClock clock(kStart);
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kSecondary}) {
    auto opened = EventStore::Open(dir.path(), mode, projector, clock);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == Code::kUnavailable);
    CHECK_THAT(opened.status().detail(), Catch::Contains("no user_live") &&
                                             Catch::Contains("tokenlog rebuild"));
  }
  // A writable open adds it; then reading opens work.
  REQUIRE(EventStore::Open(dir.path(), OpenMode::kReadWrite, projector, clock).ok());
  CHECK(EventStore::Open(dir.path(), OpenMode::kReadOnly, projector, clock).ok());
}

TEST_CASE("another application's RocksDB database is refused, for writing too, and left as it was") {
  testing::TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(options, dir.path(), &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), "their key", "their value").ok());
    delete db;
  }
  TokenProjector projector;
  FakeClock clock(kStart);
  // What serve checks before it writes anything (its dev key) into the directory.
  auto check = EventStore::CheckNewStoreDirectory(dir.path(), {});
  CHECK(check.code() == Code::kInvalidRequest);
  CHECK_THAT(check.detail(), Catch::Contains("not tokenlog's"));
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly, OpenMode::kSecondary}) {
    auto opened = EventStore::Open(dir.path(), mode, projector, clock);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == Code::kInvalidRequest);
    CHECK_THAT(opened.status().detail(), Catch::Contains("not tokenlog's"));
  }
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
  CHECK(names == std::vector<std::string>{"default"});
}

TEST_CASE("a store whose creation was cut short before its column families opens and is completed") {
  // RocksDB writes CURRENT with `default` first, then adds the column
  // families one by one: a store killed in between has some or none of ours.
  for (bool with_events : {false, true}) {
    testing::TempDir dir;
    {
      rocksdb::DBOptions options;
      options.create_if_missing = true;
      options.create_missing_column_families = true;
      std::vector<rocksdb::ColumnFamilyDescriptor> families = {{"default", {}}};
      if (with_events) families.emplace_back("events", rocksdb::ColumnFamilyOptions());
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::DB* db = nullptr;
      REQUIRE(rocksdb::DB::Open(options, dir.path(), families, &handles, &db).ok());
      for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
      delete db;
    }
    INFO("with events: " << with_events);
    CHECK(EventStore::CheckNewStoreDirectory(dir.path(), {}).ok());
    TokenProjector projector;
    FakeClock clock(kStart);
    auto reading = EventStore::Open(dir.path(), OpenMode::kReadOnly, projector, clock);
    REQUIRE_FALSE(reading.ok());
    CHECK_THAT(reading.status().detail(), Catch::Contains("tokenlog serve"));
    auto writing = EventStore::Open(dir.path(), OpenMode::kReadWrite, projector, clock);
    REQUIRE(writing.ok());
    CHECK((*writing)->head().seq == 0);
  }
}
