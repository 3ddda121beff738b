// Who may call what: every route x every kind of caller, table-driven.
#include <catch2/catch.hpp>

#include "tests/api/test_server.h"

using namespace tokenlog;
using namespace tokenlog::testing;

namespace {

enum Caller { kOwner, kOtherUser, kAdmin, kOtherTenantAdmin, kNoToken, kPatAsBearer, kCallerCount };
const char* const kCallerNames[] = {"owner", "other user", "admin", "other tenant's admin",
                                    "no token", "PAT as bearer"};

struct Row {
  const char* method;
  const char* path;  // {token} -> a fresh token of the owner; {user} -> carol
  const char* body;  // {value} -> that token's value
  int expect[kCallerCount];
};

// Expected status per caller, in Caller order.
const Row kMatrix[] = {
    {"POST", "/v1/tokens", R"({"label":"m"})", {201, 201, 201, 201, 401, 401}},
    {"GET", "/v1/tokens", "", {200, 200, 200, 200, 401, 401}},
    {"GET", "/v1/tokens/{token}", "", {200, 404, 404, 404, 401, 401}},
    {"POST", "/v1/tokens/{token}/revoke", "", {200, 404, 404, 404, 401, 401}},
    {"POST", "/v1/tokens/{token}/rotate", "", {201, 404, 404, 404, 401, 401}},
    {"GET", "/v1/activity", "", {200, 200, 200, 200, 401, 401}},
    {"GET", "/v1/admin/policy", "", {403, 403, 200, 200, 401, 401}},
    {"PUT", "/v1/admin/policy", R"({"max_lifetime_days":365,"default_lifetime_days":90})",
     {403, 403, 200, 200, 401, 401}},
    {"POST", "/v1/admin/policy/preview", R"({"max_lifetime_days":30,"default_lifetime_days":30})",
     {403, 403, 200, 200, 401, 401}},
    {"GET", "/v1/admin/tokens", "", {403, 403, 200, 200, 401, 401}},
    {"POST", "/v1/admin/tokens/{token}/revoke", "", {403, 403, 200, 404, 401, 401}},
    {"POST", "/v1/admin/tokens/lookup", R"({"token":"{value}"})", {403, 403, 200, 404, 401, 401}},
    // Users are not registered: another tenant's admin acts on its own
    // tenant's "carol", never on acme's (checked below).
    {"POST", "/v1/admin/users/{user}/deactivate", "", {403, 403, 200, 200, 401, 401}},
    {"POST", "/v1/admin/users/{user}/reactivate", "", {403, 403, 200, 200, 401, 401}},
    {"GET", "/v1/admin/activity", "", {403, 403, 200, 200, 401, 401}},
    {"GET", "/healthz", "", {200, 200, 200, 200, 200, 200}},
    {"GET", "/readyz", "", {200, 200, 200, 200, 200, 200}},
    {"GET", "/metrics", "", {200, 200, 200, 200, 200, 200}},
};

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) {
    s.replace(i, from.size(), to);
  }
  return s;
}

}  // namespace

TEST_CASE("authorization matrix: every route for every kind of caller") {
  ServerOptions options;
  options.service.max_active_tokens = 1000;  // the owner mints a token per cell
  TestServer s(options);
  const std::string owner = s.Jwt("alice@acme.example");
  const std::string pat = Str(s.Mint(owner, "pat"), "token");
  const std::string jwts[kCallerCount] = {
      owner, s.Jwt("bob@acme.example"), s.AdminJwt(), s.AdminJwt("root@globex.example", "globex"),
      "", pat};
  // carol of acme has an active token throughout: only acme's admin may touch her.
  const std::string carol = s.Jwt("carol@acme.example");
  const std::string carol_value = Str(s.Mint(carol, "carol"), "token");

  for (const Row& row : kMatrix) {
    for (int c = 0; c < kCallerCount; ++c) {
      auto fresh = s.Mint(owner, "cell");
      std::string path = Replace(Replace(row.path, "{token}", Str(fresh, "id")), "{user}",
                                 "carol@acme.example");
      std::string body = Replace(row.body, "{value}", Str(fresh, "token"));
      httplib::Headers headers;
      if (!jwts[c].empty()) headers.emplace("Authorization", "Bearer " + jwts[c]);
      uint64_t head = s.HeadSeq();
      Resp r = s.Send(row.method, path, headers, body, "application/json",
                      /*may_hold_value=*/true);
      INFO(row.method << " " << row.path << " as " << kCallerNames[c] << ": " << r.Text());
      CHECK(r.status == row.expect[c]);
      if (r.status >= 400) {
        CHECK(r.Header("Content-Type") == "application/problem+json");
        if (r.status == 404 && std::string(row.path) == "/v1/admin/tokens/lookup") {
          // A lookup that finds nothing in the caller's tenant is still
          // audited: one token.looked_up (found false), naming no token.
          CHECK(s.HeadSeq() == head + 1);
        } else {
          // A refusal changes nothing.
          CHECK(s.HeadSeq() == head);
        }
      }
      if (c == kOtherTenantAdmin || c == kOtherUser) {
        // Never a change to the owner's token.
        Resp mine = s.Get("/v1/tokens/" + Str(fresh, "id"), owner);
        CHECK(Str(mine.Object(), "status") == "active");
      }
    }
    // Whatever the other tenant's admin did, acme's carol is untouched unless
    // acme's admin deactivated her (then reactivated: her token stays revoked).
    if (std::string(row.path).find("{user}/reactivate") != std::string::npos) {
      CHECK(s.Check("carol@acme.example", carol_value).status == 401);  // revoked by acme's admin
    }
  }
  // globex's deactivate/reactivate of "carol" appended events in globex only.
  Resp globex = s.Get("/v1/admin/activity?user=carol@acme.example",
                      s.AdminJwt("root@globex.example", "globex"));
  const auto page = globex.Object();
  REQUIRE(page.at("events").as_array().size() == 2);  // its deactivate and reactivate
  for (const auto& e : page.at("events").as_array()) {
    CHECK(Str(e.as_object(), "tenant") == "globex");
  }
  s.ExpectNoValueLeaks();
}
