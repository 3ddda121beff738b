// Golden renderings of every event type (API.md "Events"), the JCS string
// escaping they rest on, and the hash chain over the kLog form.
//
// The expected texts and hashes below were written out independently of this
// code (Python's json.dumps(sort_keys=True, separators=(",", ":"),
// ensure_ascii=False) and hashlib.sha256): they are the contract, byte for
// byte, that an exported log must keep forever.
#include "core/event_json.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/jcs.h"
#include "core/sha256.h"

namespace tokenlog {
namespace {

constexpr int64_t kTime = 1'795'924'800'000;  // 2026-11-29T04:00:00.000Z
constexpr const char* kTokenId = "tok_7kQ2mZ9xLp4RtV8w";
constexpr const char* kOldTokenId = "tok_1a2b3c4d5e6f7g8h";
constexpr const char* kAlice = "alice@acme.example";
constexpr const char* kCarol = "carol@acme.example";
// Sha256("event 41"): the prev_hash of every golden event.
constexpr const char* kPrevHex = "2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0";

Actor UserActor() { return Actor{ActorRole::kUser, kAlice, "203.0.113.7"}; }
Actor AdminActor() { return Actor{ActorRole::kAdmin, "bob@acme.example", "198.51.100.4"}; }
Actor SystemActor() { return Actor{ActorRole::kSystem, std::nullopt, std::nullopt}; }
Actor BasicActor() { return Actor{ActorRole::kBasic, std::nullopt, "192.0.2.9"}; }

Event MakeEvent(Actor actor, std::optional<std::string> user, std::optional<std::string> token_id,
                EventData data) {
  Event e;
  e.seq = 42;
  e.time = kTime;
  e.tenant = "acme";
  e.actor = std::move(actor);
  e.user = std::move(user);
  e.token_id = std::move(token_id);
  e.data = std::move(data);
  e.prev_hash = Sha256("event 41");
  return e;
}

TokenMinted MintedData() {
  TokenMinted d;
  d.label = "Power BI Desktop \xE2\x80\x94 laptop";  // U+2014 EM DASH
  d.expires_at = kTime + 90 * kMillisPerDay;
  d.hint = "tlp_\xE2\x80\xA6Wx3Q";  // U+2026 HORIZONTAL ELLIPSIS
  d.token_sha256 = Sha256("tlp_value_minted");
  return d;
}

// Checks both forms of `e`: kApi exactly `api`, and kLog (with e.hash set to
// the chain hash) exactly `log`.
void CheckGolden(Event e, const std::string& api, const std::string& log) {
  CHECK(RenderEvent(e, EventForm::kApi) == api);
  e.hash = ComputeEventHash(e);
  CHECK(RenderEvent(e, EventForm::kLog) == log);
  CHECK(EventToJcs(e, EventForm::kLog).Render() == log);
}

// The kLog text with its `"hash":"<64 hex>",` member removed.
std::string WithoutHashMember(const std::string& log) {
  auto at = log.find(",\"hash\":\"");
  REQUIRE(at != std::string::npos);
  std::string out = log;
  out.erase(at, std::string(",\"hash\":\"").size() + 64 + 1);
  return out;
}

std::string Jcs(std::string_view s) {
  std::string out;
  AppendJcsString(out, s);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// JCS strings and objects

TEST_CASE("AppendJcsString escapes quote, backslash and the short control escapes",
          "[event_json][jcs]") {
  CHECK(Jcs("") == R"("")");
  CHECK(Jcs("plain") == R"("plain")");
  CHECK(Jcs("\"") == R"("\"")");
  CHECK(Jcs("\\") == R"("\\")");
  CHECK(Jcs("\b") == R"("\b")");
  CHECK(Jcs("\f") == R"("\f")");
  CHECK(Jcs("\n") == R"("\n")");
  CHECK(Jcs("\r") == R"("\r")");
  CHECK(Jcs("\t") == R"("\t")");
  CHECK(Jcs("a\"b\\c\bd\fe\nf\rg\th") == R"("a\"b\\c\bd\fe\nf\rg\th")");
}

TEST_CASE("AppendJcsString writes other C0 controls as lower-case \\u00xx", "[event_json][jcs]") {
  CHECK(Jcs(std::string_view("\x00", 1)) == R"("\u0000")");
  CHECK(Jcs("\x01") == R"("\u0001")");
  CHECK(Jcs("\x0b") == R"("\u000b")");
  CHECK(Jcs("\x0e") == R"("\u000e")");
  CHECK(Jcs("\x1f") == R"("\u001f")");
  CHECK(Jcs("x\x1fy\x01z") == R"("x\u001fy\u0001z")");
}

TEST_CASE("AppendJcsString passes through DEL, slash, non-ASCII and U+2028 raw",
          "[event_json][jcs]") {
  CHECK(Jcs("\x7f") == "\"\x7f\"");
  CHECK(Jcs("a/b") == R"("a/b")");
  CHECK(Jcs("caf\xC3\xA9") == "\"caf\xC3\xA9\"");            // é
  CHECK(Jcs("\xE2\x80\x94") == "\"\xE2\x80\x94\"");          // —
  CHECK(Jcs("\xF0\x9F\x98\x80") == "\"\xF0\x9F\x98\x80\"");  // U+1F600
  CHECK(Jcs("a\xE2\x80\xA8z") == "\"a\xE2\x80\xA8z\"");      // U+2028, not \u2028
  CHECK(Jcs("a\xE2\x80\xA9z") == "\"a\xE2\x80\xA9z\"");      // U+2029, not \u2029
}

TEST_CASE("AppendJcsString appends to what is already in the output", "[event_json][jcs]") {
  std::string out = "prefix:";
  AppendJcsString(out, "v\n");
  CHECK(out == "prefix:\"v\\n\"");
}

TEST_CASE("JcsObject sorts members by key and renders without white space", "[event_json][jcs]") {
  CHECK(JcsObject().Render() == "{}");
  JcsObject inner;
  inner.Null("z").Bool("a", false);
  JcsObject o;
  o.Str("b", "x").Int("a", -7).Uint("c", 18'446'744'073'709'551'615ull).Bool("aa", true);
  o.Obj("d", inner).Raw("ab", "[1,2]");
  CHECK(
      o.Render() ==
      R"({"a":-7,"aa":true,"ab":[1,2],"b":"x","c":18446744073709551615,"d":{"a":false,"z":null}})");
  o.Str("b", "replaced");
  CHECK(
      o.Render() ==
      R"({"a":-7,"aa":true,"ab":[1,2],"b":"replaced","c":18446744073709551615,"d":{"a":false,"z":null}})");
  JcsObject escaped_key;
  escaped_key.Str("k\"", "v");
  CHECK(escaped_key.Render() == R"({"k\"":"v"})");
}

// ---------------------------------------------------------------------------
// Golden renderings, one per type (and per optional field)

TEST_CASE("token.minted renders golden without rotated_from", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(UserActor(), kAlice, kTokenId, MintedData()),
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"expires_at":"2027-02-27T04:00:00.000Z","hint":"tlp_…Wx3Q","label":"Power BI Desktop — laptop","token_sha256":"a84ea3ef586dbef515ac5cf874edec2ef0931708969706a3cde6ead1c6379ebe"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.minted","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"expires_at":"2027-02-27T04:00:00.000Z","hint":"tlp_…Wx3Q","label":"Power BI Desktop — laptop","token_sha256":"a84ea3ef586dbef515ac5cf874edec2ef0931708969706a3cde6ead1c6379ebe"},"hash":"9190899cedb888261b48ad194dbd68bd814e76734da1d87eee8dce2f5ed64012","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.minted","user":"alice@acme.example"})js");
}

TEST_CASE("token.minted renders golden with rotated_from and a null expires_at",
          "[event_json][golden]") {
  TokenMinted d = MintedData();
  d.expires_at.reset();
  d.rotated_from = kOldTokenId;
  CheckGolden(
      MakeEvent(UserActor(), kAlice, kTokenId, d),
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"expires_at":null,"hint":"tlp_…Wx3Q","label":"Power BI Desktop — laptop","rotated_from":"tok_1a2b3c4d5e6f7g8h","token_sha256":"a84ea3ef586dbef515ac5cf874edec2ef0931708969706a3cde6ead1c6379ebe"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.minted","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"expires_at":null,"hint":"tlp_…Wx3Q","label":"Power BI Desktop — laptop","rotated_from":"tok_1a2b3c4d5e6f7g8h","token_sha256":"a84ea3ef586dbef515ac5cf874edec2ef0931708969706a3cde6ead1c6379ebe"},"hash":"955c8d8c5eef6d1ab39d19db9ed3c4931e06001fdc3a95702d41ebef9215692b","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.minted","user":"alice@acme.example"})js");
}

TEST_CASE("token.revoked renders golden without note or replaced_by", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(UserActor(), kAlice, kTokenId, TokenRevoked{RevokeReason::kUser, {}, {}}),
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"reason":"user"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.revoked","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"reason":"user"},"hash":"dfdea2bb229708a7ea9797aca6f76068e873ee43e7deb33daaf57996120da017","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.revoked","user":"alice@acme.example"})js");
}

TEST_CASE("token.revoked renders golden with an admin note holding a quote and a backslash",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), kAlice, kTokenId,
                TokenRevoked{RevokeReason::kAdmin, "left \"Acme\" \\ team", {}}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"note":"left \"Acme\" \\ team","reason":"admin"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.revoked","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"note":"left \"Acme\" \\ team","reason":"admin"},"hash":"b6bf468e2913a3300d2dd16068ce437da6feae32a6e43b34f2066a3978f71ae5","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.revoked","user":"alice@acme.example"})js");
}

TEST_CASE("token.revoked renders golden for a rotation with replaced_by", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(UserActor(), kAlice, kOldTokenId,
                TokenRevoked{RevokeReason::kRotated, {}, std::string(kTokenId)}),
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"reason":"rotated","replaced_by":"tok_7kQ2mZ9xLp4RtV8w"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_1a2b3c4d5e6f7g8h","type":"token.revoked","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"reason":"rotated","replaced_by":"tok_7kQ2mZ9xLp4RtV8w"},"hash":"46b23e15c3fd035734d7a5ebe696a2f1fbd1838a6775db2b9e51bb55ec58646b","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_1a2b3c4d5e6f7g8h","type":"token.revoked","user":"alice@acme.example"})js");
}

TEST_CASE("token.expired renders golden with a system actor whose user and ip are null",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(SystemActor(), kAlice, kTokenId, TokenExpired{kTime - 500}),
      R"js({"actor":{"ip":null,"role":"system","user":null},"data":{"expires_at":"2026-11-29T03:59:59.500Z"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.expired","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":null,"role":"system","user":null},"data":{"expires_at":"2026-11-29T03:59:59.500Z"},"hash":"a441a1f2c13c8a53e1e35b78b5828b65c941d00575504457323d9c3f911f3467","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.expired","user":"alice@acme.example"})js");
}

TEST_CASE("token.expiry_shortened renders golden with expires_at_before set",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), kAlice, kTokenId,
                TokenExpiryShortened{kTime + 90 * kMillisPerDay, kTime + 30 * kMillisPerDay, 3}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"expires_at_after":"2026-12-29T04:00:00.000Z","expires_at_before":"2027-02-27T04:00:00.000Z","policy_version":3},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.expiry_shortened","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"expires_at_after":"2026-12-29T04:00:00.000Z","expires_at_before":"2027-02-27T04:00:00.000Z","policy_version":3},"hash":"5e515a57e5d8041476ce806db1ea4815d9f06e7fb7e5bed443c971478b3cb682","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.expiry_shortened","user":"alice@acme.example"})js");
}

TEST_CASE("token.expiry_shortened renders golden with a null expires_at_before",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), kAlice, kTokenId,
                TokenExpiryShortened{std::nullopt, kTime + 30 * kMillisPerDay, 3}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"expires_at_after":"2026-12-29T04:00:00.000Z","expires_at_before":null,"policy_version":3},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.expiry_shortened","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"expires_at_after":"2026-12-29T04:00:00.000Z","expires_at_before":null,"policy_version":3},"hash":"b60d25f38fc0358d207e49d2971c7cfcfbd2faabda881464f234505e7cf03ac7","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.expiry_shortened","user":"alice@acme.example"})js");
}

TEST_CASE("token.used renders golden with millisecond first_at and last_at",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(SystemActor(), kAlice, kTokenId,
                TokenUsed{"203.0.113.7",
                          "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)",
                          17, kTime - 600'000 + 1, kTime - 1000}),
      R"js({"actor":{"ip":null,"role":"system","user":null},"data":{"count":17,"first_at":"2026-11-29T03:50:00.001Z","ip":"203.0.113.7","last_at":"2026-11-29T03:59:59.000Z","user_agent":"Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.used","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":null,"role":"system","user":null},"data":{"count":17,"first_at":"2026-11-29T03:50:00.001Z","ip":"203.0.113.7","last_at":"2026-11-29T03:59:59.000Z","user_agent":"Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)"},"hash":"ee001a50cdf72660a5fa3de1722b94b7890fe6b75f573ac04d90ebf8d9265c0b","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.used","user":"alice@acme.example"})js");
}

TEST_CASE("auth.denied renders golden with a basic actor holding only an ip",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(BasicActor(), kAlice, kTokenId,
                AuthDenied{DenyReason::kUserMismatch, "mallory@acme.example", "192.0.2.9",
                           "PowerBI/2.0", 3}),
      R"js({"actor":{"ip":"192.0.2.9","role":"basic","user":null},"data":{"claimed_user":"mallory@acme.example","count":3,"ip":"192.0.2.9","reason":"user_mismatch","user_agent":"PowerBI/2.0"},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"auth.denied","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"192.0.2.9","role":"basic","user":null},"data":{"claimed_user":"mallory@acme.example","count":3,"ip":"192.0.2.9","reason":"user_mismatch","user_agent":"PowerBI/2.0"},"hash":"181912ac461e9b5d09ec1513fee5b6df01e0b23a7deda4891b9bef0fa26484d4","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"auth.denied","user":"alice@acme.example"})js");
}

TEST_CASE("token.looked_up renders golden when found", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), kAlice, kTokenId, TokenLookedUp{true}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"found":true},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.looked_up","user":"alice@acme.example"})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"found":true},"hash":"0d4a0fb73912c80a34ed5ff3640bd361ba99f1eeda1128b9ee8be59ad2d28e02","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.looked_up","user":"alice@acme.example"})js");
}

TEST_CASE("token.looked_up renders golden when not found, with null user and token_id",
          "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), std::nullopt, std::nullopt, TokenLookedUp{false}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"found":false},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"token.looked_up","user":null})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"found":false},"hash":"04c8c683b6ff446b6e72c098ef21edd58691632621ab9a1937d9008705da1762","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"token.looked_up","user":null})js");
}

TEST_CASE("policy.changed renders golden with a null max in after", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), std::nullopt, std::nullopt,
                PolicyChanged{PolicyLimits{365, 90}, PolicyLimits{std::nullopt, 30}, 2}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"after":{"default_lifetime_days":30,"max_lifetime_days":null},"before":{"default_lifetime_days":90,"max_lifetime_days":365},"version":2},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"policy.changed","user":null})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"after":{"default_lifetime_days":30,"max_lifetime_days":null},"before":{"default_lifetime_days":90,"max_lifetime_days":365},"version":2},"hash":"ef6d06b8de8dce806afb045b25d950b4d4d2e3625a8a6c6f88d0966bd41ccd73","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"policy.changed","user":null})js");
}

TEST_CASE("user.deactivated renders golden with revoked_tokens", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), kCarol, std::nullopt, UserDeactivated{2}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"revoked_tokens":2},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"user.deactivated","user":"carol@acme.example"})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{"revoked_tokens":2},"hash":"9c4f9c691b9338da74748cff17018a19c4c5fcf7144d375ada3fe3b02531319e","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"user.deactivated","user":"carol@acme.example"})js");
}

TEST_CASE("user.reactivated renders golden with empty data", "[event_json][golden]") {
  CheckGolden(
      MakeEvent(AdminActor(), kCarol, std::nullopt, UserReactivated{}),
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{},"seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"user.reactivated","user":"carol@acme.example"})js",
      R"js({"actor":{"ip":"198.51.100.4","role":"admin","user":"bob@acme.example"},"data":{},"hash":"c9fcbf41eaee8e011c9821eb3cdd6cabdc82fea65c80b2c626f971981e63a975","prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":null,"type":"user.reactivated","user":"carol@acme.example"})js");
}

TEST_CASE("every event type has its API.md name, and the name parses back", "[event_json]") {
  const std::vector<std::pair<EventType, std::string>> names = {
      {EventType::kTokenMinted, "token.minted"},
      {EventType::kTokenRevoked, "token.revoked"},
      {EventType::kTokenExpired, "token.expired"},
      {EventType::kTokenExpiryShortened, "token.expiry_shortened"},
      {EventType::kTokenUsed, "token.used"},
      {EventType::kAuthDenied, "auth.denied"},
      {EventType::kTokenLookedUp, "token.looked_up"},
      {EventType::kPolicyChanged, "policy.changed"},
      {EventType::kUserDeactivated, "user.deactivated"},
      {EventType::kUserReactivated, "user.reactivated"},
  };
  REQUIRE(names.size() == kMaxEventType);
  for (const auto& [type, name] : names) {
    CHECK(EventTypeName(type) == name);
    CHECK(ParseEventType(name) == type);
  }
  CHECK_FALSE(ParseEventType("token.Minted").has_value());
  CHECK_FALSE(ParseEventType("").has_value());
}

TEST_CASE("the revoke and deny reasons render with their API.md names", "[event_json]") {
  CHECK(RevokeReasonName(RevokeReason::kUser) == "user");
  CHECK(RevokeReasonName(RevokeReason::kAdmin) == "admin");
  CHECK(RevokeReasonName(RevokeReason::kRotated) == "rotated");
  CHECK(RevokeReasonName(RevokeReason::kUserDeactivated) == "user_deactivated");
  CHECK(RevokeReasonName(RevokeReason::kLeaked) == "leaked");
  CHECK(DenyReasonName(DenyReason::kRevoked) == "revoked");
  CHECK(DenyReasonName(DenyReason::kExpired) == "expired");
  CHECK(DenyReasonName(DenyReason::kUserDeactivated) == "user_deactivated");
  CHECK(DenyReasonName(DenyReason::kUserMismatch) == "user_mismatch");
  CHECK(DenyReasonName(DenyReason::kTenantMismatch) == "tenant_mismatch");
  CHECK(ActorRoleName(ActorRole::kUser) == "user");
  CHECK(ActorRoleName(ActorRole::kAdmin) == "admin");
  CHECK(ActorRoleName(ActorRole::kSystem) == "system");
  CHECK(ActorRoleName(ActorRole::kBasic) == "basic");
}

// ---------------------------------------------------------------------------
// The hash chain

TEST_CASE("ComputeEventHash is SHA-256 of the kLog text without its hash member, built by hand",
          "[event_json][hash]") {
  Event e = MakeEvent(UserActor(), kAlice, kTokenId, MintedData());
  // The kLog object of the golden token.minted event minus "hash", typed out.
  const std::string hashed =
      R"js({"actor":{"ip":"203.0.113.7","role":"user","user":"alice@acme.example"},"data":{"expires_at":"2027-02-27T04:00:00.000Z","hint":"tlp_…Wx3Q","label":"Power BI Desktop — laptop","token_sha256":"a84ea3ef586dbef515ac5cf874edec2ef0931708969706a3cde6ead1c6379ebe"},"prev_hash":"2b5efe1b17ef34287cd751ceafca51a89be92940151d1fc45dab0e901665e3b0","seq":42,"tenant":"acme","time":"2026-11-29T04:00:00.000Z","token_id":"tok_7kQ2mZ9xLp4RtV8w","type":"token.minted","user":"alice@acme.example"})js";
  CHECK(ComputeEventHash(e) == Sha256(hashed));
  CHECK(HexLower(ComputeEventHash(e)) ==
        "9190899cedb888261b48ad194dbd68bd814e76734da1d87eee8dce2f5ed64012");
  CHECK(HexLower(e.prev_hash) == kPrevHex);

  e.hash = ComputeEventHash(e);
  CHECK(WithoutHashMember(RenderEvent(e, EventForm::kLog)) == hashed);
}

TEST_CASE("ComputeEventHash ignores the event's own hash field", "[event_json][hash]") {
  Event e = MakeEvent(UserActor(), kAlice, kTokenId, MintedData());
  Digest first = ComputeEventHash(e);
  e.hash = Sha256("anything at all");
  CHECK(ComputeEventHash(e) == first);
  e.hash = Digest{};
  CHECK(ComputeEventHash(e) == first);
}

TEST_CASE("for every type the hash is SHA-256 of the rendered kLog line minus hash",
          "[event_json][hash]") {
  const std::vector<Event> events = {
      MakeEvent(UserActor(), kAlice, kTokenId, MintedData()),
      MakeEvent(UserActor(), kAlice, kTokenId, TokenRevoked{RevokeReason::kUser, "n", "r"}),
      MakeEvent(SystemActor(), kAlice, kTokenId, TokenExpired{kTime}),
      MakeEvent(AdminActor(), kAlice, kTokenId, TokenExpiryShortened{std::nullopt, kTime, 1}),
      MakeEvent(SystemActor(), kAlice, kTokenId, TokenUsed{"ip", "ua", 1, kTime, kTime}),
      MakeEvent(BasicActor(), kAlice, kTokenId, AuthDenied{DenyReason::kExpired, "u", "i", "a", 1}),
      MakeEvent(AdminActor(), kAlice, kTokenId, TokenLookedUp{true}),
      MakeEvent(AdminActor(), std::nullopt, std::nullopt, PolicyChanged{{}, {30, 7}, 1}),
      MakeEvent(AdminActor(), kCarol, std::nullopt, UserDeactivated{0}),
      MakeEvent(AdminActor(), kCarol, std::nullopt, UserReactivated{}),
  };
  for (Event e : events) {
    INFO(EventTypeName(e.type()));
    e.hash = ComputeEventHash(e);
    std::string log = RenderEvent(e, EventForm::kLog);
    CHECK(log.find("\"hash\":\"" + HexLower(e.hash) + "\"") != std::string::npos);
    CHECK(Sha256(WithoutHashMember(log)) == e.hash);
  }
}

TEST_CASE("the genesis prev_hash renders as 64 zeros", "[event_json][hash]") {
  Event e = MakeEvent(UserActor(), kAlice, kTokenId, MintedData());
  e.seq = 1;
  e.prev_hash = kGenesisHash;
  e.hash = ComputeEventHash(e);
  std::string log = RenderEvent(e, EventForm::kLog);
  CHECK(log.find("\"prev_hash\":\"" + std::string(64, '0') + "\"") != std::string::npos);
  CHECK(log.find("\"seq\":1,") != std::string::npos);
  CHECK(RenderEvent(e, EventForm::kApi).find("hash") == std::string::npos);
}

TEST_CASE("changing any field of an event changes its hash", "[event_json][hash]") {
  const Event base = MakeEvent(UserActor(), kAlice, kTokenId, MintedData());
  std::vector<std::pair<std::string, Event>> variants;
  auto vary = [&](std::string what, auto change) {
    Event e = base;
    change(e);
    variants.emplace_back(std::move(what), std::move(e));
  };
  auto minted = [](Event& e) -> TokenMinted& { return std::get<TokenMinted>(e.data); };
  vary("seq", [](Event& e) { e.seq = 43; });
  vary("time", [](Event& e) { e.time += 1; });
  vary("tenant", [](Event& e) { e.tenant = "acmf"; });
  vary("actor role", [](Event& e) { e.actor.role = ActorRole::kAdmin; });
  vary("actor user", [](Event& e) { e.actor.user = "alicf@acme.example"; });
  vary("actor user null", [](Event& e) { e.actor.user.reset(); });
  vary("actor ip", [](Event& e) { e.actor.ip = "203.0.113.8"; });
  vary("actor ip null", [](Event& e) { e.actor.ip.reset(); });
  vary("user", [](Event& e) { e.user = "bob@acme.example"; });
  vary("user null", [](Event& e) { e.user.reset(); });
  vary("token_id", [](Event& e) { e.token_id = kOldTokenId; });
  vary("token_id null", [](Event& e) { e.token_id.reset(); });
  vary("prev_hash", [](Event& e) { e.prev_hash[31] ^= 1; });
  vary("prev_hash genesis", [](Event& e) { e.prev_hash = kGenesisHash; });
  vary("label", [&](Event& e) { minted(e).label += "!"; });
  vary("expires_at", [&](Event& e) { *minted(e).expires_at += 1; });
  vary("expires_at null", [&](Event& e) { minted(e).expires_at.reset(); });
  vary("hint", [&](Event& e) { minted(e).hint = "tlp_\xE2\x80\xA6Wx3R"; });
  vary("token_sha256", [&](Event& e) { minted(e).token_sha256[0] ^= 0x80; });
  vary("rotated_from", [&](Event& e) { minted(e).rotated_from = kOldTokenId; });
  // A change of type (the base as token.revoked), then the fields of the
  // other types, each against that event.
  const Event revoked = MakeEvent(UserActor(), kAlice, kTokenId, TokenRevoked{});
  variants.emplace_back("revoked", revoked);
  for (auto [what, data] : std::vector<std::pair<std::string, EventData>>{
           {"revoked reason", TokenRevoked{RevokeReason::kAdmin, {}, {}}},
           {"revoked note", TokenRevoked{RevokeReason::kUser, "n", {}}},
           {"revoked replaced_by", TokenRevoked{RevokeReason::kUser, {}, "r"}},
           {"expired", TokenExpired{kTime}},
           {"expired expires_at", TokenExpired{kTime + 1}},
           {"shortened", TokenExpiryShortened{kTime, kTime, 1}},
           {"shortened before null", TokenExpiryShortened{std::nullopt, kTime, 1}},
           {"shortened after", TokenExpiryShortened{kTime, kTime + 1, 1}},
           {"shortened version", TokenExpiryShortened{kTime, kTime, 2}},
           {"used", TokenUsed{"i", "a", 1, kTime, kTime}},
           {"used ip", TokenUsed{"j", "a", 1, kTime, kTime}},
           {"used user_agent", TokenUsed{"i", "b", 1, kTime, kTime}},
           {"used count", TokenUsed{"i", "a", 2, kTime, kTime}},
           {"used first_at", TokenUsed{"i", "a", 1, kTime - 1, kTime}},
           {"used last_at", TokenUsed{"i", "a", 1, kTime, kTime + 1}},
           {"denied", AuthDenied{DenyReason::kRevoked, "c", "i", "a", 1}},
           {"denied reason", AuthDenied{DenyReason::kExpired, "c", "i", "a", 1}},
           {"denied claimed_user", AuthDenied{DenyReason::kRevoked, "d", "i", "a", 1}},
           {"denied ip", AuthDenied{DenyReason::kRevoked, "c", "j", "a", 1}},
           {"denied user_agent", AuthDenied{DenyReason::kRevoked, "c", "i", "b", 1}},
           {"denied count", AuthDenied{DenyReason::kRevoked, "c", "i", "a", 2}},
           {"looked_up true", TokenLookedUp{true}},
           {"looked_up false", TokenLookedUp{false}},
           {"policy", PolicyChanged{{365, 90}, {30, 30}, 1}},
           {"policy before max", PolicyChanged{{364, 90}, {30, 30}, 1}},
           {"policy before max null", PolicyChanged{{std::nullopt, 90}, {30, 30}, 1}},
           {"policy before default", PolicyChanged{{365, 91}, {30, 30}, 1}},
           {"policy after max null", PolicyChanged{{365, 90}, {std::nullopt, 30}, 1}},
           {"policy after default", PolicyChanged{{365, 90}, {30, 29}, 1}},
           {"policy version", PolicyChanged{{365, 90}, {30, 30}, 2}},
           {"deactivated", UserDeactivated{1}},
           {"deactivated count", UserDeactivated{2}},
           {"reactivated", UserReactivated{}},
       }) {
    Event e = revoked;
    e.data = data;
    variants.emplace_back(what, std::move(e));
  }

  std::set<Digest> hashes = {ComputeEventHash(base)};
  for (const auto& [what, e] : variants) {
    INFO(what);
    CHECK(ComputeEventHash(e) != ComputeEventHash(base));
    hashes.insert(ComputeEventHash(e));
  }
  // Every variant differs from every other one, not just from the base.
  CHECK(hashes.size() == variants.size() + 1);
}

}  // namespace tokenlog
