// The expiry sweeper's unit of work: Service::ExpireDue on a real store.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/jwt.h"
#include "api/service.h"
#include "core/event_codec.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"
#include "tests/minted_event.h"
#include "tests/temp_dir.h"

using namespace tokenlog;

namespace {

constexpr int64_t kNow = 1'795'910'400'000;  // 2026-11-29T00:00:00Z
constexpr const char* kSecret = "sweeper-test-secret";

struct Harness {
  testing::TempDir dir;
  FakeClock clock{kNow};
  CryptoRandom random;
  projections::TokenProjector projector;
  std::unique_ptr<storage::EventStore> store;
  std::unique_ptr<api::JwtVerifier> verifier;
  api::Metrics metrics;
  std::unique_ptr<api::Service> service;

  Harness() {
    store = std::move(storage::EventStore::Open(dir.path(), storage::OpenMode::kReadWrite,
                                                projector, clock))
                .value();
    api::JwtConfig config;
    config.hs256_secret = kSecret;
    verifier = std::move(api::JwtVerifier::Create(config)).value();
    service = std::make_unique<api::Service>(*store, clock, random, *verifier, metrics,
                                             api::ServiceConfig{});
    // What serve does before serving: the sweeper's candidates come from
    // the index it loads and keeps.
    REQUIRE(service->Start().ok());
  }

  api::Reply Call(const std::string& method, const std::string& path, const std::string& user,
                  const std::string& body = "", const std::string& role = "user") {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.remote_addr = "127.0.0.1";
    std::string claims = R"({"sub":")" + user + R"(","tenant":"acme","role":")" + role +
                         R"(","exp":)" +
                         std::to_string(clock.NowMillis() / 1000 + 3600) + "}";
    req.headers.emplace("Authorization", "Bearer " + api::SignJwtHs256(claims, kSecret));
    std::string route;
    return service->Handle(req, route);
  }

  std::string Mint(const std::string& user, int days) {
    auto r = Call("POST", "/v1/tokens", user,
                  R"({"label":"t","expires_in_days":)" + std::to_string(days) + "}");
    REQUIRE(r.status == 201);
    return std::string(boost::json::parse(r.body).at("id").as_string());
  }

  std::vector<Event> EventsOfType(EventType type) {
    std::vector<Event> out;
    REQUIRE(store->ScanEvents(1, [&](uint64_t, std::string_view raw) {
      auto e = DecodeEvent(raw);
      REQUIRE(e.ok());
      if (e->type() == type) out.push_back(*e);
      return true;
    }).ok());
    return out;
  }
};

}  // namespace

TEST_CASE("the sweeper logs token.expired once for each token past its expiry") {
  Harness h;
  std::string a = h.Mint("a@acme.example", 1);
  std::string b = h.Mint("b@acme.example", 1);
  std::string revoked = h.Mint("b@acme.example", 1);
  std::string later = h.Mint("a@acme.example", 30);
  REQUIRE(h.Call("POST", "/v1/tokens/" + revoked + "/revoke", "b@acme.example").status == 200);

  auto none = h.service->ExpireDue();
  REQUIRE(none.ok());
  CHECK(*none == 0);

  h.clock.Advance(2 * kMillisPerDay);
  // Status is already computed against the clock, before any sweep.
  auto before = h.Call("GET", "/v1/tokens/" + a, "a@acme.example");
  CHECK(std::string(boost::json::parse(before.body).at("status").as_string()) == "expired");
  CHECK(h.EventsOfType(EventType::kTokenExpired).empty());

  uint64_t head = h.store->head().seq;
  auto swept = h.service->ExpireDue();
  REQUIRE(swept.ok());
  CHECK(*swept == 2);
  CHECK(h.store->head().seq == head + 2);
  auto expired = h.EventsOfType(EventType::kTokenExpired);
  REQUIRE(expired.size() == 2);
  std::set<std::string> ids;
  for (const auto& e : expired) {
    ids.insert(*e.token_id);
    CHECK(e.actor.role == ActorRole::kSystem);
    CHECK_FALSE(e.actor.user.has_value());
    CHECK(std::get<TokenExpired>(e.data).expires_at == kNow + kMillisPerDay);
  }
  CHECK(ids == std::set<std::string>{a, b});

  auto again = h.service->ExpireDue();
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(h.store->head().seq == head + 2);

  auto still = h.Call("GET", "/v1/tokens/" + later, "a@acme.example");
  CHECK(std::string(boost::json::parse(still.body).at("status").as_string()) == "active");
}

TEST_CASE("the sweeper finds a token whose expiry a policy shortened after a sweep found none due") {
  Harness h;
  std::string a = h.Mint("a@acme.example", 30);
  std::string b = h.Mint("b@acme.example", 60);
  h.clock.Advance(kMillisPerDay);
  // Nothing due: the index's bound, lowered by the mints to the earliest
  // expiry (29 days ahead), spares this sweep even a scan...
  auto none = h.service->ExpireDue();
  REQUIRE(none.ok());
  CHECK(*none == 0);
  // ...and a shortened expiry must lower it, or the next sweeps would skip
  // the token for four weeks.
  auto policy = h.Call("PUT", "/v1/admin/policy", "root@acme.example",
                       R"({"max_lifetime_days":2,"default_lifetime_days":1})", "admin");
  REQUIRE(policy.status == 200);
  CHECK(h.EventsOfType(EventType::kTokenExpiryShortened).size() == 2);
  h.clock.Advance(kMillisPerDay + 1);
  uint64_t head = h.store->head().seq;
  auto swept = h.service->ExpireDue();
  REQUIRE(swept.ok());
  CHECK(*swept == 2);
  CHECK(h.store->head().seq == head + 2);
  std::set<std::string> ids;
  for (const auto& e : h.EventsOfType(EventType::kTokenExpired)) ids.insert(*e.token_id);
  CHECK(ids == std::set<std::string>{a, b});
  auto again = h.service->ExpireDue();
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

TEST_CASE("after a restart the sweeper works through more due tokens than one batch, the earliest first") {
  Harness h;
  // 1,203 tokens of 3 users (no cap applies to events appended directly),
  // expiring a millisecond apart, the first 1,200 due.
  std::vector<std::string> ids;
  auto appended = h.store->Execute([&](const KeyspaceReader&, int64_t now) -> Result<std::vector<Event>> {
    std::vector<Event> events;
    SeededRandom random(3);
    for (int i = 0; i < 1203; ++i) {
      // Later mints expire earlier.
      events.push_back(testing::MintedEvent(random, now, "acme",
                                            "u" + std::to_string(i % 3) + "@acme.example",
                                            kNow + 1000 + (1203 - i)));
      ids.push_back(*events.back().token_id);
    }
    return events;
  });
  REQUIRE(appended.ok());
  h.clock.Advance(1000 + 1200);
  // A service started now loads these tokens (and its bound) from the
  // projections, as serve does at start-up.
  api::Service restarted(*h.store, h.clock, h.random, *h.verifier, h.metrics,
                         api::ServiceConfig{});
  REQUIRE(restarted.Start().ok());
  auto swept = restarted.ExpireDue();
  REQUIRE(swept.ok());
  CHECK(*swept == 1200);
  auto expired = h.EventsOfType(EventType::kTokenExpired);
  REQUIRE(expired.size() == 1200);
  // Logged in expiry order: the last minted first; the first three minted
  // (expiring latest) are not due.
  for (size_t i = 0; i < expired.size(); ++i) CHECK(*expired[i].token_id == ids[1202 - i]);
}
