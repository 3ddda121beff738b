// Tenant and username grammar (core/names.h), and the allocation-free
// username comparison the OData check uses, against NormalizeUsername.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/names.h"
#include "core/random.h"
#include "core/token_codec.h"

using namespace tokenlog;

TEST_CASE("tenant ids: lower-case letters, digits and inner hyphens, 1..63") {
  CHECK(IsValidTenant("acme"));
  CHECK(IsValidTenant("a"));
  CHECK(IsValidTenant("acme-2"));
  CHECK(IsValidTenant(std::string(63, 'a')));
  CHECK_FALSE(IsValidTenant(""));
  CHECK_FALSE(IsValidTenant(std::string(64, 'a')));
  CHECK_FALSE(IsValidTenant("-acme"));
  CHECK_FALSE(IsValidTenant("Acme"));
  CHECK_FALSE(IsValidTenant("ac me"));
}

TEST_CASE("usernames are printable ASCII without ':' or '/', 1..254, lower-cased") {
  CHECK(NormalizeUsername("Ada.Lovelace@Acme.Example").value() == "ada.lovelace@acme.example");
  CHECK(NormalizeUsername(std::string(254, 'X')).value() == std::string(254, 'x'));
  CHECK_FALSE(NormalizeUsername("").ok());
  CHECK_FALSE(NormalizeUsername(std::string(255, 'x')).ok());
  CHECK_FALSE(NormalizeUsername("ada lovelace").ok());
  CHECK_FALSE(NormalizeUsername("ada:x").ok());
  CHECK_FALSE(NormalizeUsername("ada/x").ok());
  CHECK_FALSE(NormalizeUsername("ad\xC3\xA9").ok());
  CHECK(NormalizeUsername("a b", Code::kUnauthenticated).status().code() == Code::kUnauthenticated);
}

TEST_CASE("a username that may hold a token value is refused, and the detail never echoes it") {
  SeededRandom random(5);
  Result<std::string> value = GenerateTokenValue(random);
  REQUIRE(value.ok());
  const std::vector<std::string> names = {*value, "TLP_abc", "x@tlp_.example", value->substr(4),
                                          "a" + value->substr(4) + "@acme.example"};
  for (const std::string& name : names) {
    INFO(name);
    auto refused = NormalizeUsername(name);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::kInvalidRequest);
    CHECK(refused.status().detail().find(value->substr(4)) == std::string::npos);
    CHECK(refused.status().detail().find("token value") != std::string::npos);
  }
  CHECK(NormalizeUsername("tlp@acme.example").ok());
  CHECK(NormalizeUsername("t_lp@acme.example").ok());
}

TEST_CASE("UsernameMatches answers as NormalizeUsername followed by a comparison") {
  // Every pair of claims and stored names drawn from a set that covers each
  // rule: case, length bounds, each forbidden character, bytes past ASCII.
  std::vector<std::string> names = {
      "", "a", "A", "ada", "ADA", "Ada", "adb", "ada ", " ada", "ad:a", "ad/a", "ad\x7F" "a",
      "ad\x20" "a", "ad\x21" "a", "ad\x7E" "a", "ad\xC3\xA9", std::string("ad\0a", 4),
      "ada@acme.example", "ADA@ACME.EXAMPLE", "ada@acme.exampl", std::string(254, 'q'),
      std::string(254, 'Q'), std::string(255, 'q'), "[", "{", "@", "`"};
  size_t matches = 0;
  for (const std::string& claimed : names) {
    auto normalized = NormalizeUsername(claimed);
    for (const std::string& stored : names) {
      bool expected = normalized.ok() && *normalized == stored;
      INFO("claimed '" << claimed << "', stored '" << stored << "'");
      CHECK(UsernameMatches(claimed, stored) == expected);
      matches += expected;
    }
  }
  CHECK(matches >= 6);  // the set does exercise matching pairs, not only refusals
  // And on their own, not through NormalizeUsername: the ends of the range
  // ('!' 0x21, '~' 0x7E) are allowed, DEL (0x7F) and space are not; only
  // the claim is folded, the stored name is already lower-case.
  CHECK(UsernameMatches("!~", "!~"));
  CHECK(UsernameMatches("Ada@Acme.Example", "ada@acme.example"));
  CHECK_FALSE(UsernameMatches("ada", "ADA"));
  CHECK_FALSE(UsernameMatches("ad\x7F", "ad\x7F"));
  CHECK_FALSE(UsernameMatches("a b", "a b"));
  CHECK_FALSE(UsernameMatches("a:b", "a:b"));
  CHECK_FALSE(UsernameMatches("a/b", "a/b"));
  CHECK_FALSE(UsernameMatches("", ""));
  CHECK_FALSE(UsernameMatches(std::string(255, 'a'), std::string(255, 'a')));
  CHECK(UsernameMatches(std::string(254, 'A'), std::string(254, 'a')));
  // '@' (0x40) and '`' (0x60) sit beside 'A' and 'a': no false fold.
  CHECK_FALSE(UsernameMatches("@", "`"));
  CHECK_FALSE(UsernameMatches("[", "{"));
}
