// UsageLedger: throttled token.used / auth.denied from in-memory counts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "core/random.h"
#include "core/token_codec.h"
#include "core/usage_ledger.h"

using namespace tokenlog;

namespace {

constexpr int64_t kT0 = 1'795'910'400'000;
constexpr int64_t kMinute = 60'000;

TokenRecord Token(const std::string& id) {
  TokenRecord t;
  t.id = id;
  t.tenant = "acme";
  t.user = "alice@acme.example";
  return t;
}

}  // namespace

TEST_CASE("the first use is due at once, then at most one token.used per interval") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 100});
  TokenRecord t = Token("tok_aaaaaaaaaaaaaaaa");
  ledger.RecordUse(t.ref(), "203.0.113.7", "Microsoft.Data.Mashup", kT0);
  ledger.RecordUse(t.ref(), "203.0.113.8", "PowerBI\xff", kT0 + 5);

  auto first = ledger.TakeDue(kT0 + 2000, false);
  REQUIRE(first.size() == 1);
  CHECK(first[0].type() == EventType::kTokenUsed);
  CHECK(first[0].tenant == "acme");
  CHECK(first[0].user == std::optional<std::string>("alice@acme.example"));
  CHECK(first[0].token_id == std::optional<std::string>("tok_aaaaaaaaaaaaaaaa"));
  CHECK(first[0].actor.role == ActorRole::kSystem);
  CHECK_FALSE(first[0].actor.user.has_value());
  const auto& used = std::get<TokenUsed>(first[0].data);
  CHECK(used.count == 2);
  CHECK(used.first_at == kT0);
  CHECK(used.last_at == kT0 + 5);
  CHECK(used.ip == "203.0.113.8");                  // the latest use
  CHECK(used.user_agent == "PowerBI\xEF\xBF\xBD");  // sanitized
  CHECK(ledger.LastUsed(t.id) == std::optional<int64_t>(kT0 + 5));

  // More uses inside the interval wait for it.
  for (int i = 0; i < 100; ++i) ledger.RecordUse(t.ref(), "203.0.113.7", "ua", kT0 + kMinute + i);
  CHECK(ledger.TakeDue(kT0 + 5 * kMinute, false).empty());
  auto second = ledger.TakeDue(kT0 + 2000 + 10 * kMinute, false);
  REQUIRE(second.size() == 1);
  CHECK(std::get<TokenUsed>(second[0].data).count == 100);
  CHECK(ledger.TakeDue(kT0 + 30 * kMinute, false).empty());
}

TEST_CASE("denials are due at once, then at most one per minute per token") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 100});
  TokenRecord t = Token("tok_bbbbbbbbbbbbbbbb");
  ledger.RecordDenial(t.ref(), DenyReason::kRevoked, "Alice@Acme.example", "198.51.100.1", "PBI", kT0);
  auto first = ledger.TakeDue(kT0 + 1000, false);
  REQUIRE(first.size() == 1);
  CHECK(first[0].type() == EventType::kAuthDenied);
  CHECK(first[0].actor.role == ActorRole::kBasic);
  CHECK(first[0].actor.ip == std::optional<std::string>("198.51.100.1"));
  const auto& d = std::get<AuthDenied>(first[0].data);
  CHECK(d.reason == DenyReason::kRevoked);
  CHECK(d.claimed_user == "Alice@Acme.example");
  CHECK(d.count == 1);

  ledger.RecordDenial(t.ref(), DenyReason::kRevoked, "x", "198.51.100.1", "PBI", kT0 + 2000);
  ledger.RecordDenial(t.ref(), DenyReason::kRevoked, "x", "198.51.100.1", "PBI", kT0 + 3000);
  CHECK(ledger.TakeDue(kT0 + 30'000, false).empty());
  auto second = ledger.TakeDue(kT0 + 1000 + kMinute, false);
  REQUIRE(second.size() == 1);
  CHECK(std::get<AuthDenied>(second[0].data).count == 2);
}

TEST_CASE("a claimed user or User-Agent holding a token value is withheld from the events") {
  // Someone pastes their token into Power BI's username field too: the value
  // matches a token, the username does not match its owner (user_mismatch),
  // and the claimed user is that value.
  SeededRandom random(11);
  Result<std::string> value = GenerateTokenValue(random);
  REQUIRE(value.ok());
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 100});
  TokenRecord t = Token("tok_dddddddddddddddd");
  ledger.RecordDenial(t.ref(), DenyReason::kUserMismatch, *value, "198.51.100.1",
                      "agent " + *value, kT0);
  ledger.RecordUse(t.ref(), "198.51.100.2", "Tlp_" + value->substr(4), kT0);
  auto due = ledger.TakeDue(kT0 + 1000, false);
  REQUIRE(due.size() == 2);
  for (const Event& ev : due) {
    if (const auto* d = std::get_if<AuthDenied>(&ev.data)) {
      CHECK(d->reason == DenyReason::kUserMismatch);
      CHECK(d->claimed_user == "(withheld: it held a token prefix)");
      CHECK(d->user_agent == "(withheld: it held a token prefix)");
      CHECK(d->ip == "198.51.100.1");
    } else {
      const auto& used = std::get<TokenUsed>(ev.data);
      CHECK(used.user_agent == "(withheld: it held a token prefix)");
      CHECK(used.count == 1);
    }
  }
  CHECK(std::count_if(due.begin(), due.end(), [](const Event& ev) {
          return std::holds_alternative<AuthDenied>(ev.data);
        }) == 1);
  // The same agent again stays withheld; another one is then recorded.
  ledger.RecordUse(t.ref(), "198.51.100.2", "Tlp_" + value->substr(4), kT0 + kMinute);
  auto again = ledger.TakeDue(kT0 + 11 * kMinute, false);
  REQUIRE(again.size() == 1);
  CHECK(std::get<TokenUsed>(again[0].data).user_agent == "(withheld: it held a token prefix)");
  ledger.RecordUse(t.ref(), "198.51.100.2", "Tlp_" + value->substr(4), kT0 + 12 * kMinute);
  ledger.RecordUse(t.ref(), "198.51.100.2", "Microsoft.Data.Mashup", kT0 + 12 * kMinute + 1);
  auto then = ledger.TakeDue(kT0 + 22 * kMinute, false);
  REQUIRE(then.size() == 1);
  CHECK(std::get<TokenUsed>(then[0].data).user_agent == "Microsoft.Data.Mashup");
  CHECK(std::get<TokenUsed>(then[0].data).count == 2);
}

TEST_CASE("everything flushes pending counts regardless of throttles and requeue restores them") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 100});
  TokenRecord t = Token("tok_cccccccccccccccc");
  ledger.RecordUse(t.ref(), "ip", "ua", kT0);
  REQUIRE(ledger.TakeDue(kT0, false).size() == 1);
  ledger.RecordUse(t.ref(), "ip", "ua", kT0 + 1);
  CHECK(ledger.TakeDue(kT0 + 2, false).empty());
  auto all = ledger.TakeDue(kT0 + 3, true);
  REQUIRE(all.size() == 1);
  CHECK(std::get<TokenUsed>(all[0].data).count == 1);

  // An append that failed puts the counts back, due again at once.
  ledger.Requeue(all);
  auto again = ledger.TakeDue(kT0 + 4, false);
  REQUIRE(again.size() == 1);
  CHECK(std::get<TokenUsed>(again[0].data).count == 1);
}

TEST_CASE("the ledger tracks at most max_tokens tokens") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 2});
  ledger.RecordUse(Token("tok_1111111111111111").ref(), "ip", "ua", kT0);
  ledger.RecordUse(Token("tok_2222222222222222").ref(), "ip", "ua", kT0);
  ledger.RecordUse(Token("tok_3333333333333333").ref(), "ip", "ua", kT0);
  CHECK(ledger.TakeDue(kT0 + 1, false).size() == 2);
  CHECK_FALSE(ledger.LastUsed("tok_3333333333333333").has_value());
}

TEST_CASE("ids up to 31 bytes are tracked, longer ones (never a token id) are not") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 100});
  const std::string longest(31, 'a'), too_long(32, 'b');
  ledger.RecordUse(Token(longest).ref(), "ip", "ua", kT0);
  ledger.RecordUse(Token(too_long).ref(), "ip", "ua", kT0);
  auto due = ledger.TakeDue(kT0 + 1, false);
  REQUIRE(due.size() == 1);
  CHECK(due[0].token_id == longest);
  CHECK(ledger.LastUsed(longest) == kT0);
  CHECK_FALSE(ledger.LastUsed(too_long).has_value());
}

TEST_CASE("concurrent uses over many tokens, each after a prefetch, are counted exactly; forgotten tokens free their room") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 500});
  auto id = [](size_t n) {
    std::string s = std::to_string(n);
    return "tok_" + std::string(16 - s.size(), '0') + s;
  };
  // Prefetch is a hint: on an empty ledger and for an over-long id it does
  // nothing.
  ledger.Prefetch(id(1));
  ledger.Prefetch(std::string(64, 'x'));
  // 4 threads, 200 uses each, over 400 tokens (every token used twice, by
  // different threads, across the ledger's shards), each use after a
  // Prefetch of its slot, as a check does, while other threads grow the
  // tables (under TSan: its lock-free reads race with nothing).
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < 200; ++i) {
        ledger.Prefetch(id((t * 200 + i) % 400));
        ledger.RecordUse(Token(id((t * 200 + i) % 400)).ref(), "ip", "ua", kT0);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto due = ledger.TakeDue(kT0 + 1, true);
  uint64_t uses = 0;
  std::set<std::string> tokens;
  for (const auto& e : due) {
    uses += std::get<TokenUsed>(e.data).count;
    tokens.insert(*e.token_id);
  }
  CHECK(due.size() == 400);
  CHECK(tokens.size() == 400);
  CHECK(uses == 800);
  // Past the interval with nothing pending, the 400 are forgotten: 500 new
  // tokens fit, the 501st does not.
  CHECK(ledger.TakeDue(kT0 + 10 * kMinute + 1, false).empty());
  for (size_t i = 1000; i < 1501; ++i) {
    ledger.RecordUse(Token(id(i)).ref(), "ip", "ua", kT0 + 11 * kMinute);
  }
  CHECK(ledger.TakeDue(kT0 + 11 * kMinute + 1, true).size() == 500);
}

TEST_CASE("forgetting some tokens keeps every other token's counts and last use") {
  // 3000 tokens over the ledger's shards, so that its tables have long runs
  // that wrap around; then a third is forgotten while the rest still wait
  // on their throttle or have uses pending. Every survivor must still be
  // found with its exact counts (a wrong shift on removal loses some).
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 5000});
  auto id = [](size_t n) {
    std::string s = std::to_string(n);
    return "tok_" + std::string(16 - s.size(), '0') + s;
  };
  const size_t kTokens = 3000;
  for (size_t i = 0; i < kTokens; ++i) {
    ledger.RecordUse(Token(id(i)).ref(), "ip", "ua", kT0);
  }
  REQUIRE(ledger.TakeDue(kT0 + 1, false).size() == kTokens);  // first uses, due at once
  // Token i % 3 == 0: used again later (its throttle restarts later);
  // i % 3 == 1: a use pending; i % 3 == 2: nothing more, to be forgotten.
  for (size_t i = 0; i < kTokens; i += 3) {
    ledger.RecordUse(Token(id(i)).ref(), "ip", "ua", kT0 + 5 * kMinute);
  }
  REQUIRE(ledger.TakeDue(kT0 + 5 * kMinute, true).size() == kTokens / 3);
  for (size_t i = 1; i < kTokens; i += 3) {
    ledger.RecordUse(Token(id(i)).ref(), "ip2", "ua2", kT0 + 6 * kMinute + i);
    ledger.RecordUse(Token(id(i)).ref(), "ip3", "ua3", kT0 + 6 * kMinute + i);
  }
  // Denials pending on every sixth token (i % 3 == 0, so throttled for
  // uses): they must survive the removals around them.
  for (size_t i = 0; i < kTokens; i += 6) {
    ledger.RecordDenial(Token(id(i)).ref(), DenyReason::kUserMismatch, "mallory", "ip9", "ua9",
                        kT0 + 6 * kMinute);
  }
  // Past the first interval: i % 3 == 2 are quiet and forgotten, i % 3 == 1
  // are due (their last event was the first use), i % 3 == 0 stay throttled
  // (their last event was at 5 min).
  auto due = ledger.TakeDue(kT0 + 10 * kMinute + 2, false);
  REQUIRE(due.size() == kTokens / 3 + kTokens / 6);
  std::set<std::string> due_ids, denied_ids;
  for (const auto& e : due) {
    if (const auto* denied = std::get_if<AuthDenied>(&e.data)) {
      CHECK(denied->count == 1);
      CHECK(denied->claimed_user == "mallory");
      CHECK(denied->reason == DenyReason::kUserMismatch);
      denied_ids.insert(*e.token_id);
      continue;
    }
    const auto& used = std::get<TokenUsed>(e.data);
    CHECK(used.count == 2);
    CHECK(used.ip == "ip3");
    CHECK(used.user_agent == "ua3");
    due_ids.insert(*e.token_id);
  }
  for (size_t i = 1; i < kTokens; i += 3) CHECK(due_ids.count(id(i)) == 1);
  for (size_t i = 0; i < kTokens; i += 6) CHECK(denied_ids.count(id(i)) == 1);
  CHECK(due_ids.size() == kTokens / 3);
  CHECK(denied_ids.size() == kTokens / 6);
  auto last_used = [&](size_t i) -> std::optional<int64_t> {
    if (i % 3 == 0) return kT0 + 5 * kMinute;
    return kT0 + 6 * kMinute + static_cast<int64_t>(i);
  };
  for (size_t i = 0; i < kTokens; ++i) {
    INFO("token " << i);
    CHECK(ledger.LastUsed(id(i)) == (i % 3 == 2 ? std::nullopt : last_used(i)));
  }
  // At 16 min the i % 3 == 0 are quiet too (their denials' minute has
  // passed) and go; i % 3 == 1 (event at 10 min) stay.
  CHECK(ledger.TakeDue(kT0 + 16 * kMinute, false).empty());
  for (size_t i = 0; i < kTokens; ++i) {
    INFO("token " << i);
    CHECK(ledger.LastUsed(id(i)) == (i % 3 == 1 ? last_used(i) : std::nullopt));
  }
  // Their room is free again: 4000 more fit beside the 1000 left, no more.
  for (size_t i = 10'000; i < 14'001; ++i) {
    ledger.RecordUse(Token(id(i)).ref(), "ip", "ua", kT0 + 17 * kMinute);
  }
  CHECK(ledger.TakeDue(kT0 + 17 * kMinute, true).size() == 4000);
}

TEST_CASE("a requeue after the token was forgotten restores its counts, client and last use") {
  UsageLedger ledger(UsageLedgerConfig{10 * kMinute, kMinute, 100});
  TokenRecord t = Token("tok_dddddddddddddddd");
  // A User-Agent longer than the ledger keeps inline, then a short one,
  // then one past the 256-byte bound (kept cut to 256).
  const std::string long_agent = "Mozilla/5.0 " + std::string(150, 'm');
  ledger.RecordUse(t.ref(), "192.0.2.1", long_agent, kT0);
  auto first = ledger.TakeDue(kT0, false);
  REQUIRE(first.size() == 1);
  CHECK(std::get<TokenUsed>(first[0].data).user_agent == long_agent);
  // Forgotten once its interval passes with nothing pending.
  CHECK(ledger.TakeDue(kT0 + 10 * kMinute, false).empty());
  CHECK_FALSE(ledger.LastUsed(t.id).has_value());
  // The append of `first` failed late: requeued, it is tracked again, due
  // at once, with its own client and last use.
  ledger.Requeue(first);
  CHECK(ledger.LastUsed(t.id) == std::optional<int64_t>(kT0));
  ledger.RecordUse(t.ref(), "192.0.2.2", "short", kT0 + 10 * kMinute + 5);
  CHECK(ledger.LastUsed(t.id) == std::optional<int64_t>(kT0 + 10 * kMinute + 5));
  auto again = ledger.TakeDue(kT0 + 10 * kMinute + 6, false);
  REQUIRE(again.size() == 1);
  const auto& used = std::get<TokenUsed>(again[0].data);
  CHECK(used.count == 2);
  CHECK(used.first_at == kT0);
  CHECK(used.last_at == kT0 + 10 * kMinute + 5);
  CHECK(used.ip == "192.0.2.2");
  CHECK(used.user_agent == "short");
  ledger.RecordUse(t.ref(), "192.0.2.2", std::string(300, 'z'), kT0 + 21 * kMinute);
  auto cut = ledger.TakeDue(kT0 + 21 * kMinute, false);
  REQUIRE(cut.size() == 1);
  CHECK(std::get<TokenUsed>(cut[0].data).user_agent == std::string(256, 'z'));
}
