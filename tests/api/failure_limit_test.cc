// Client addresses, trusted proxies and the failed-check limiter.
#include <catch2/catch.hpp>

#include "api/client_address.h"
#include "api/failure_limiter.h"
#include "core/token_codec.h"
#include "tests/api/test_server.h"

using namespace tokenlog;
using namespace tokenlog::api;
using tokenlog::testing::kTestNow;

TEST_CASE("trusted proxies: only they may name the client in X-Forwarded-For") {
  auto nets = ParseCidrList("10.0.0.0/8, 192.168.1.7 ::1,fd00::/8");
  REQUIRE(nets.ok());
  REQUIRE(nets->size() == 4);
  ClientAddressResolver r(*nets);
  // An untrusted peer: its own address, whatever it claims.
  CHECK(r.Resolve("203.0.113.9", {"198.51.100.1"}) == "203.0.113.9");
  // A trusted peer: the right-most untrusted hop.
  CHECK(r.Resolve("10.1.2.3", {"198.51.100.1, 203.0.113.5, 10.9.9.9"}) == "203.0.113.5");
  CHECK(r.Resolve("::1", {"198.51.100.1", "192.168.1.7"}) == "198.51.100.1");
  CHECK(r.Resolve("::ffff:10.1.2.3", {"198.51.100.1"}) == "198.51.100.1");
  // Every hop trusted: the left-most; garbage: the peer.
  CHECK(r.Resolve("10.1.2.3", {"10.0.0.2, 10.0.0.1"}) == "10.0.0.2");
  CHECK(r.Resolve("10.1.2.3", {"not-an-ip"}) == "10.1.2.3");
  CHECK(r.Resolve("10.1.2.3", {}) == "10.1.2.3");
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "example.com", "1.2.3"}) {
    CHECK_FALSE(ParseCidrList(bad).ok());
  }
  CHECK(ParseCidrList("").ok());
}

TEST_CASE("failures count per IPv4 address and per IPv6 /64") {
  CHECK(FailureKey("203.0.113.7") == "203.0.113.7");
  CHECK(FailureKey("::ffff:203.0.113.7") == "203.0.113.7");
  CHECK(FailureKey("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64");
  CHECK(FailureKey("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64");
  CHECK(FailureKey("2001:db8:1:3::1") == "2001:db8:1:3::/64");
}

TEST_CASE("the limiter allows `limit` failures a minute, then asks to wait") {
  FailureLimiter limiter(3, 1000);
  const int64_t t = kTestNow + 10'000;  // 10 s into a minute window
  for (int i = 0; i < 3; ++i) {
    CHECK(limiter.RetryAfter("a", t) == 0);
    limiter.RecordFailure("a", t);
  }
  uint32_t wait = limiter.RetryAfter("a", t);
  CHECK(wait >= 1);
  CHECK(wait <= 60);
  CHECK(limiter.RetryAfter("b", t) == 0);  // per key
  // Two minutes later the key is clear again.
  CHECK(limiter.RetryAfter("a", t + 120'000) == 0);
  // Disabled.
  FailureLimiter off(0, 10);
  for (int i = 0; i < 100; ++i) off.RecordFailure("a", t);
  CHECK(off.RetryAfter("a", t) == 0);
}

TEST_CASE("the limiter's memory is bounded when addresses rotate") {
  FailureLimiter limiter(5, 160);
  for (int i = 0; i < 100'000; ++i) limiter.RecordFailure("k" + std::to_string(i), kTestNow);
  CHECK(limiter.tracked() <= 160 + 16);
}

TEST_CASE("over the limit a failed check is 429 with Retry-After and a valid token still passes") {
  tokenlog::testing::ServerOptions options;
  options.service.auth_failure_limit = 5;
  tokenlog::testing::TestServer s(options);
  auto token = s.Mint(s.Jwt("alice@acme.example"));
  const std::string value = tokenlog::testing::Str(token, "token");
  CryptoRandom random;
  const std::string unknown = GenerateTokenValue(random).value();
  // Anonymous challenges never count.
  for (int i = 0; i < 20; ++i) CHECK(s.Send("GET", "/v1/auth/check").status == 401);
  for (int i = 0; i < 5; ++i) CHECK(s.Check("alice@acme.example", unknown).status == 401);
  auto limited = s.Check("alice@acme.example", unknown);
  EXPECT_PROBLEM(limited, 429, "rate_limited");
  CHECK(!limited.Header("Retry-After").empty());
  CHECK(std::stoi(limited.Header("Retry-After")) >= 1);
  CHECK_FALSE(limited.Has("WWW-Authenticate"));
  // The honest client behind the same address is still checked and allowed.
  auto ok = s.Check("alice@acme.example", value);
  CHECK(ok.status == 200);
  CHECK(ok.Header("X-Auth-User") == "alice@acme.example");
  // X-Forwarded-For from an untrusted peer changes nothing.
  CHECK(s.Check("alice@acme.example", unknown, {{"X-Forwarded-For", "198.51.100.1"}}).status ==
        429);
  // A minute later it is a plain 401 again.
  s.clock.Advance(120'000);
  CHECK(s.Check("alice@acme.example", unknown).status == 401);
}

TEST_CASE("behind a trusted proxy failures count per forwarded client") {
  tokenlog::testing::ServerOptions options;
  options.service.auth_failure_limit = 2;
  options.service.trusted_proxies = ParseCidrList("127.0.0.1").value();
  tokenlog::testing::TestServer s(options);
  CryptoRandom random;
  const std::string unknown = GenerateTokenValue(random).value();
  httplib::Headers a = {{"X-Forwarded-For", "198.51.100.1"}};
  httplib::Headers b = {{"X-Forwarded-For", "198.51.100.2"}};
  CHECK(s.Check("u", unknown, a).status == 401);
  CHECK(s.Check("u", unknown, a).status == 401);
  CHECK(s.Check("u", unknown, a).status == 429);
  CHECK(s.Check("u", unknown, b).status == 401);  // another client behind the proxy
}
