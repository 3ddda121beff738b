// GET /v1/activity and /v1/admin/activity over real HTTP: paging, filters,
// scoping and cursor binding.
#include <catch2/catch.hpp>

#include <set>

#include "core/time_format.h"
#include "tests/api/test_server.h"

using namespace tokenlog;
using namespace tokenlog::testing;

namespace {

struct Page {
  std::vector<boost::json::object> events;
  std::optional<std::string> next;
};

Page GetPage(TestServer& s, const std::string& path, const std::string& jwt) {
  Resp r = s.Get(path, jwt);
  INFO(path << " -> " << r.Text());
  REQUIRE(r.status == 200);
  auto o = r.Object();
  Page p;
  for (const auto& e : o.at("events").as_array()) p.events.push_back(e.as_object());
  if (!o.at("next_cursor").is_null()) p.next = Str(o.at("next_cursor"));
  return p;
}

// Every event of a query, walking pages of `limit`; checks newest first and
// no repeats across pages.
std::vector<boost::json::object> Walk(TestServer& s, const std::string& path,
                                      const std::string& jwt, int limit) {
  std::vector<boost::json::object> all;
  std::string sep = path.find('?') == std::string::npos ? "?" : "&";
  std::string url = path + sep + "limit=" + std::to_string(limit);
  for (int pages = 0; pages < 10000; ++pages) {
    Page p = GetPage(s, url, jwt);
    CHECK(p.events.size() <= static_cast<size_t>(limit));
    for (auto& e : p.events) all.push_back(std::move(e));
    if (!p.next) break;
    url = path + sep + "limit=" + std::to_string(limit) + "&cursor=" + *p.next;
  }
  std::set<int64_t> seen;
  for (size_t i = 0; i < all.size(); ++i) {
    int64_t seq = all[i].at("seq").as_int64();
    CHECK(seen.insert(seq).second);
    if (i > 0) CHECK(seq < all[i - 1].at("seq").as_int64());
  }
  return all;
}

std::vector<int64_t> Seqs(const std::vector<boost::json::object>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.at("seq").as_int64());
  return out;
}

}  // namespace

TEST_CASE("activity pages walk a user's events newest first, each exactly once, with filters") {
  TestServer s;
  const std::string alice = s.Jwt("alice@acme.example");
  const std::string bob = s.Jwt("bob@acme.example");
  const std::string admin = s.AdminJwt();
  std::vector<std::string> alice_tokens;
  // A few hundred events: alice mints and revokes, bob mints now and then,
  // the admin revokes some of alice's tokens; the clock moves a second each.
  for (int i = 0; i < 120; ++i) {
    auto t = s.Mint(alice, "t" + std::to_string(i));
    std::string id = Str(t, "id");
    alice_tokens.push_back(id);
    s.clock.Advance(1000);
    if (i % 3 == 0) {
      REQUIRE(s.Post("/v1/admin/tokens/" + id + "/revoke", admin).status == 200);
    } else {
      REQUIRE(s.Revoke(alice, id).status == 200);
    }
    s.clock.Advance(1000);
    if (i % 10 == 0) {
      auto b = s.Mint(bob, "bob " + std::to_string(i));
      REQUIRE(s.Revoke(bob, Str(b, "id")).status == 200);
    }
  }
  const uint64_t head = s.HeadSeq();
  REQUIRE(head == 240 + 24);

  // Alice: 240 events (her mints and revocations, by her or by the admin).
  auto mine = Walk(s, "/v1/activity", alice, 7);
  CHECK(mine.size() == 240);
  for (const auto& e : mine) CHECK(Str(e, "user") == "alice@acme.example");
  CHECK(mine.front().at("seq").as_int64() > mine.back().at("seq").as_int64());
  // Other page sizes give the same sequence.
  CHECK(Seqs(Walk(s, "/v1/activity", alice, 500)) == Seqs(mine));
  CHECK(Seqs(Walk(s, "/v1/activity", alice, 1)).size() == 240);

  // Each filter alone.
  auto revoked = Walk(s, "/v1/activity?type=token.revoked", alice, 7);
  CHECK(revoked.size() == 120);
  for (const auto& e : revoked) CHECK(Str(e, "type") == "token.revoked");
  CHECK(Walk(s, "/v1/activity?type=token.minted,token.revoked", alice, 7).size() == 240);
  CHECK(Walk(s, "/v1/activity?type=token.minted&type=token.revoked", alice, 9).size() == 240);
  auto one_token = Walk(s, "/v1/activity?token_id=" + alice_tokens[5], alice, 7);
  REQUIRE(one_token.size() == 2);
  CHECK(Str(one_token[0], "type") == "token.revoked");
  CHECK(Str(one_token[1], "type") == "token.minted");
  // since (inclusive) / until (exclusive): the first 10 cycles took 20 s.
  std::string t0 = FormatTime(kTestNow);
  std::string t20 = FormatTime(kTestNow + 20'000);
  auto early = Walk(s, "/v1/activity?since=" + t0 + "&until=" + t20, alice, 7);
  CHECK(early.size() == 20);
  for (const auto& e : early) CHECK(Str(e, "time") < t20);
  auto late = Walk(s, "/v1/activity?since=" + t20, alice, 7);
  CHECK(late.size() == 220);
  // A bound past the millisecond: the mint at exactly t20 is before
  // t20 + 0.1 µs, so until takes it and since does not.
  std::string t20_and_a_bit = t20.substr(0, t20.size() - 1) + "0001Z";
  CHECK(Walk(s, "/v1/activity?since=" + t0 + "&until=" + t20_and_a_bit, alice, 7).size() == 21);
  CHECK(Walk(s, "/v1/activity?since=" + t20_and_a_bit, alice, 7).size() == 219);
  // Combined: the admin's revocations of alice's tokens in the tenant view.
  auto by_admin = Walk(s, "/v1/admin/activity?type=token.revoked&user=root@acme.example",
                       admin, 7);
  CHECK(by_admin.size() == 40);
  for (const auto& e : by_admin) {
    CHECK(Str(e.at("actor").as_object(), "role") == "admin");
    CHECK(Str(e, "user") == "alice@acme.example");
  }
  // Alice sees the admin's revocations of her tokens (she is their subject).
  CHECK(Walk(s, "/v1/activity?user=root@acme.example", alice, 7).size() == 40);
  // Bob sees only his own.
  auto bobs = Walk(s, "/v1/activity", bob, 7);
  CHECK(bobs.size() == 24);
  for (const auto& e : bobs) CHECK(Str(e, "user") == "bob@acme.example");
  // Another user's token id, or one that does not exist, is 404 (API.md: any
  // token id but the caller's own), for an admin on /v1/activity too.
  const std::string unknown_token = "tok_0000000000000000";
  EXPECT_PROBLEM(s.Get("/v1/activity?token_id=" + alice_tokens[0], bob), 404, "not_found");
  EXPECT_PROBLEM(s.Get("/v1/activity?token_id=" + unknown_token, bob), 404, "not_found");
  EXPECT_PROBLEM(s.Get("/v1/activity?token_id=" + alice_tokens[0], admin), 404, "not_found");

  // The admin sees the whole tenant.
  CHECK(Walk(s, "/v1/admin/activity", admin, 50).size() == head);
  // Another tenant's admin sees nothing of it.
  const std::string other = s.AdminJwt("root@globex.example", "globex");
  CHECK(Walk(s, "/v1/admin/activity", other, 50).empty());
  // Another tenant's token is 404, exactly as one that does not exist.
  EXPECT_PROBLEM(s.Get("/v1/admin/activity?token_id=" + alice_tokens[0], other), 404,
                 "not_found");
  EXPECT_PROBLEM(s.Get("/v1/admin/activity?token_id=" + unknown_token, admin), 404, "not_found");
  CHECK(Walk(s, "/v1/admin/activity?token_id=" + alice_tokens[0], admin, 50).size() ==
        2);
  CHECK(Walk(s, "/v1/admin/activity?user=alice@acme.example", other, 50).empty());
}

TEST_CASE("activity refuses bad parameters and cursors bound to another caller or filters") {
  TestServer s;
  const std::string alice = s.Jwt("alice@acme.example");
  const std::string bob = s.Jwt("bob@acme.example");
  for (int i = 0; i < 5; ++i) {
    auto t = s.Mint(alice, "t" + std::to_string(i));
    REQUIRE(s.Revoke(alice, Str(t, "id")).status == 200);
  }
  Page first = GetPage(s, "/v1/activity?limit=2", alice);
  REQUIRE(first.next.has_value());
  CHECK(GetPage(s, "/v1/activity?limit=2&cursor=" + *first.next, alice).events.size() == 2);

  for (std::string q : {"limit=0", "limit=501", "limit=abc", "limit=-1", "type=bogus",
                        "type=token.minted,", "since=yesterday", "until=2026-13-01T00:00:00Z",
                        "token_id=tok_short", "user=a:b", "color=red", "limit=5&limit=6"}) {
    EXPECT_PROBLEM(s.Get("/v1/activity?" + q, alice), 400, "invalid_request");
  }
  // A cursor used by another caller, with other filters, or altered.
  EXPECT_PROBLEM(s.Get("/v1/activity?limit=2&cursor=" + *first.next, bob), 400,
                 "invalid_request");
  EXPECT_PROBLEM(s.Get("/v1/activity?limit=2&type=token.minted&cursor=" + *first.next, alice),
                 400, "invalid_request");
  std::string altered = *first.next;
  altered[3] = altered[3] == 'A' ? 'B' : 'A';
  EXPECT_PROBLEM(s.Get("/v1/activity?limit=2&cursor=" + altered, alice), 400, "invalid_request");
  EXPECT_PROBLEM(s.Get("/v1/activity?limit=2&cursor=", alice), 400, "invalid_request");
  // A user is not an admin.
  EXPECT_PROBLEM(s.Get("/v1/admin/activity", alice), 403, "forbidden");
  // Without a JWT.
  EXPECT_PROBLEM(s.Send("GET", "/v1/activity"), 401, "unauthenticated");
}
