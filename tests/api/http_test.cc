// The HTTP contract of API.md, end to end over real sockets against an
// in-process server (tests/api/test_server.h) with a fake clock.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "core/label.h"
#include "core/time_format.h"
#include "core/token_codec.h"
#include "tests/api/test_server.h"

using namespace tokenlog;
using namespace tokenlog::testing;
namespace json = boost::json;

namespace {

const std::string kAlice = "alice@acme.example";
const std::string kBob = "bob@acme.example";
const std::string kAdmin = "root@acme.example";

std::string At(int64_t millis) { return FormatTime(millis); }

bool IsTime(const json::value& v) {
  static const std::regex re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
  return v.is_string() && std::regex_match(std::string(v.as_string()), re);
}

bool IsTimeOrNull(const json::value& v) { return v.is_null() || IsTime(v); }

std::set<std::string> Keys(const json::object& o) {
  std::set<std::string> out;
  for (const auto& m : o) out.emplace(m.key());
  return out;
}

// Every member of API.md's token object, of the right shape; `token` only
// when `with_value`.
void ExpectTokenObject(const json::object& t, bool with_value) {
  INFO(json::serialize(t));
  std::set<std::string> want = {"id",         "label",        "hint",       "status",
                                "user",       "created_at",   "expires_at", "last_used_at",
                                "revoked_at", "revoked_reason"};
  if (with_value) want.insert("token");
  CHECK(Keys(t) == want);
  REQUIRE(t.at("id").is_string());
  CHECK(IsValidTokenId(std::string(t.at("id").as_string())));
  CHECK(t.at("label").is_string());
  CHECK(t.at("hint").is_string());
  REQUIRE(t.at("status").is_string());
  std::set<std::string> statuses = {"active", "revoked", "expired"};
  CHECK(statuses.count(std::string(t.at("status").as_string())) == 1);
  CHECK(t.at("user").is_string());
  CHECK(IsTime(t.at("created_at")));
  CHECK(IsTimeOrNull(t.at("expires_at")));
  CHECK(IsTimeOrNull(t.at("last_used_at")));
  CHECK(IsTimeOrNull(t.at("revoked_at")));
  CHECK((t.at("revoked_reason").is_null() || t.at("revoked_reason").is_string()));
  if (with_value) {
    REQUIRE(t.at("token").is_string());
    std::string value(t.at("token").as_string());
    CHECK(value.size() == 40);
    CHECK(value.rfind("tlp_", 0) == 0);
    CHECK(ValidateTokenValue(value).ok());
    CHECK(Str(t, "hint") == "tlp_\u2026" + value.substr(36));
  }
}

std::string Id(const json::object& t) { return Str(t, "id"); }
std::string Value(const json::object& t) { return Str(t, "token"); }

// The ids of a {"tokens":[…]} page, in order.
std::vector<std::string> Ids(const json::object& page) {
  std::vector<std::string> out;
  for (const auto& t : page.at("tokens").as_array()) out.push_back(Id(t.as_object()));
  return out;
}

// The value of an unlabelled metric line `name value` on /metrics.
uint64_t MetricValue(const std::string& text, const std::string& name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.rfind(name + " ", 0) == 0) return std::stoull(line.substr(name.size() + 1));
    pos = end + 1;
  }
  FAIL("no metric " << name);
  return 0;
}

uint64_t MetricsHeadSeq(TestServer& h) {
  Resp m = h.Send("GET", "/metrics");
  REQUIRE(m.status == 200);
  return MetricValue(m.body, "tokenlog_log_head_seq");
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// A label body with raw JSON text for the label's value.
std::string LabelBody(const std::string& json_value) { return "{\"label\":" + json_value + "}"; }

}  // namespace

// ---------------------------------------------------------------- POST /v1/tokens

TEST_CASE("http: mint answers 201 with the token object and its value, shown once",
          "[http][mint]") {
  TestServer h;
  std::string jwt = h.Jwt("Alice@ACME.example");  // usernames are lower-cased
  uint64_t head = h.HeadSeq();
  Resp r = h.MintRaw(jwt, R"({"label":"  Power BI Desktop — laptop \t"})");
  INFO(r.Text());
  REQUIRE(r.status == 201);
  CHECK(r.Header("Content-Type") == "application/json");
  auto t = r.Object();
  ExpectTokenObject(t, true);
  CHECK(Str(t, "label") == "Power BI Desktop — laptop");  // trimmed
  CHECK(Str(t, "status") == "active");
  CHECK(Str(t, "user") == kAlice);
  CHECK(Str(t, "created_at") == "2026-11-29T00:00:00.000Z");
  CHECK(Str(t, "expires_at") == At(kTestNow + 90 * kDayMillis));  // the policy default
  CHECK(t.at("last_used_at").is_null());
  CHECK(t.at("revoked_at").is_null());
  CHECK(t.at("revoked_reason").is_null());
  CHECK(h.HeadSeq() == head + 1);

  // Later answers show the token without its value.
  Resp one = h.Get("/v1/tokens/" + Id(t), jwt);
  REQUIRE(one.status == 200);
  ExpectTokenObject(one.Object(), false);
  CHECK(Str(one.Object(), "hint") == Str(t, "hint"));
  // The mint's answer (built from the committed event, not read back) is
  // the stored token, plus its value.
  json::object stored = t;
  stored.erase("token");
  CHECK(one.Object() == stored);
  Resp list = h.Get("/v1/tokens", jwt);
  REQUIRE(list.status == 200);
  ExpectTokenObject(list.Object().at("tokens").as_array().at(0).as_object(), false);

  // The value works on the OData check.
  CHECK(h.Check(kAlice, Value(t)).status == 200);
  // Two mints never share a value or id.
  auto t2 = h.Mint(jwt, "second");
  CHECK(Value(t2) != Value(t));
  CHECK(Id(t2) != Id(t));
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: mint refuses bad labels with invalid_label", "[http][mint]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  uint64_t head = h.HeadSeq();

  for (const std::string& body : std::vector<std::string>{
           std::string("{}"),                                   // missing
           std::string(R"({"expires_in_days":30})"),            // missing
           LabelBody("5"), LabelBody("null"), LabelBody("true"),  // wrong type
           LabelBody("[\"a\"]"), LabelBody("{}"),
           LabelBody("\"\""), LabelBody("\"   \""), LabelBody("\" \\t\\n \""),  // blank
           LabelBody("\"" + Repeat("a", 101) + "\""),            // 101 code points
           LabelBody("\"" + Repeat("é", 101) + "\""),
           LabelBody("\"a\\u0007b\""),                           // control char (Cc)
           LabelBody("\"a\\u0000b\""), LabelBody("\"a\\u007fb\""),
           LabelBody("\"a\\u0085b\""),
           LabelBody("\"evil \u202e txt\""),                     // bidi override, raw
           LabelBody("\"evil \\u202E txt\""),                    // bidi override, escaped
           LabelBody("\"a\\u2066b\""),
           LabelBody("\"line\\u2028break\""),                    // line separator
           LabelBody("\"para\\u2029break\""),
       }) {
    INFO("body: " << body);
    EXPECT_PROBLEM(h.MintRaw(jwt, body), 400, "invalid_label");
  }
  // Invalid UTF-8 inside the JSON string: the body is not JSON.
  for (const std::string& body : std::vector<std::string>{
           std::string("{\"label\":\"bad \xff byte\"}"),
           std::string("{\"label\":\"overlong \xc0\xaf\"}"),
           std::string("{\"label\":\"surrogate \xed\xa0\x80\"}"),
           std::string("{\"label\":\"cut \xe2\x82\"}"),
       }) {
    EXPECT_PROBLEM(h.MintRaw(jwt, body), 400, "invalid_request");
  }
  CHECK(h.HeadSeq() == head);  // refusals change nothing
  CHECK(h.Get("/v1/tokens", jwt).Object().at("tokens").as_array().empty());

  // 100 code points are fine, multibyte too; white space around is trimmed.
  auto t = h.Mint(jwt, Repeat("é", 100));
  CHECK(Str(t, "label") == Repeat("é", 100));
  auto t2 = h.Mint(jwt, "\u00a0 " + Repeat("x", 100) + " \u3000");
  CHECK(Str(t2, "label") == Repeat("x", 100));
  auto t3 = h.Mint(jwt, "📊 Excel — Q4");
  CHECK(Str(t3, "label") == "📊 Excel — Q4");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: mint refuses bad expiries with invalid_expiry", "[http][mint]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  std::string admin = h.AdminJwt();
  uint64_t head = h.HeadSeq();
  for (const std::string& days : std::vector<std::string>{"0", "-1", "366", "3650", "3651", "1.5", "1e2", "10.0", "\"10\"",
                                 "null", "true", "[10]", "{}", "99999999999999999999",
                                 "-9223372036854775808"}) {
    INFO("expires_in_days: " << days);
    EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x","expires_in_days":)" + days + "}"), 400,
                   "invalid_expiry");
  }
  CHECK(h.HeadSeq() == head);

  auto max = h.Mint(jwt, "a year", "365");
  CHECK(Str(max, "expires_at") == At(kTestNow + 365 * kDayMillis));
  auto one = h.Mint(jwt, "a day", "1");
  CHECK(Str(one, "expires_at") == At(kTestNow + kDayMillis));

  // With no max, null means "never expires", and up to 3650 days.
  Resp p = h.Put("/v1/admin/policy", admin,
                 R"({"max_lifetime_days":null,"default_lifetime_days":90})");
  REQUIRE(p.status == 200);
  auto forever = h.Mint(jwt, "forever", "null");
  CHECK(forever.at("expires_at").is_null());
  CHECK(Str(forever, "status") == "active");
  auto ten_years = h.Mint(jwt, "ten years", "3650");
  CHECK(Str(ten_years, "expires_at") == At(kTestNow + 3650 * kDayMillis));
  head = h.HeadSeq();
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x","expires_in_days":3651})"), 400,
                 "invalid_expiry");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x","expires_in_days":0})"), 400, "invalid_expiry");
  CHECK(h.HeadSeq() == head);
  // A never-expiring token is still never expired far in the future.
  h.clock.Advance(4000 * kDayMillis);
  CHECK(Str(h.Get("/v1/tokens/" + Id(forever), jwt).Object(), "status") == "active");
  CHECK(h.Check(kAlice, Value(forever)).status == 200);
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: mint refuses malformed requests and changes nothing", "[http][mint]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  uint64_t head = h.HeadSeq();

  // Unknown field, not an object, not JSON.
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x","scopes":["read"]})"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x","Label":"y"})"), 400, "invalid_request");
  // A field named twice, however spelled, whichever value would win.
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"a","label":"b"})"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"a","l\u0061bel":"a"})"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"(["label","x"])"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"("x")"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, "42"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, "null"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x")"), 400, "invalid_request");
  EXPECT_PROBLEM(h.MintRaw(jwt, "label=x"), 400, "invalid_request");

  // A body that is not application/json.
  EXPECT_PROBLEM(h.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), R"({"label":"x"})",
                        "text/plain"),
                 415, "unsupported_media_type");
  EXPECT_PROBLEM(h.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), "label=x",
                        "application/x-www-form-urlencoded"),
                 415, "unsupported_media_type");
  // A form (multipart or urlencoded) is refused before httplib takes it
  // apart: it would otherwise reach the route as an empty body, "{}".
  {
    auto t = h.Mint(jwt, "form target");
    ++head;
    const std::string rotate = "/v1/tokens/" + Str(t, "id") + "/rotate";
    const std::string multipart =
        "--XyZ\r\nContent-Disposition: form-data; name=\"expires_in_days\"\r\n\r\n5\r\n--XyZ--\r\n";
    EXPECT_PROBLEM(h.Send("POST", rotate, TestServer::Bearer(jwt), multipart,
                          "multipart/form-data; boundary=XyZ"),
                   415, "unsupported_media_type");
    EXPECT_PROBLEM(h.Send("POST", rotate, TestServer::Bearer(jwt),
                          "expires_in_days=5&pad=" + std::string(9000, 'p'),
                          "application/x-www-form-urlencoded"),
                   415, "unsupported_media_type");
    CHECK(h.HeadSeq() == head);
    CHECK(Str(h.Get("/v1/tokens/" + Str(t, "id"), jwt).Object(), "status") == "active");
    REQUIRE(h.Revoke(jwt, Str(t, "id")).status == 200);
    ++head;
  }
  // A charset other than UTF-8 would be misread: refused.
  for (const char* type :
       {"application/json; charset=latin1", "application/json;charset=\"utf-16\"",
        "application/json; foo=bar; charset=iso-8859-1"}) {
    INFO(type);
    EXPECT_PROBLEM(h.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), R"({"label":"x"})", type),
                   415, "unsupported_media_type");
  }
  // application/json with parameters or in another case is JSON.
  for (const char* type : {"application/json;charset=\"UTF-8\"", "application/json; foo=bar"}) {
    Resp r = h.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), R"({"label":"ct"})", type, true);
    CHECK(r.status == 201);
    ++head;
    REQUIRE(h.Revoke(jwt, Str(r.Object(), "id")).status == 200);
    ++head;
  }
  {
    Resp r = h.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), R"({"label":"ct params"})",
                    "Application/JSON; charset=utf-8", true);
    CHECK(r.status == 201);
    ++head;
  }

  // No body at all: the label is required.
  EXPECT_PROBLEM(h.Send("POST", "/v1/tokens", TestServer::Bearer(jwt)), 400, "invalid_label");

  // A body over max_body_bytes, refused before it is read.
  {
    std::string big = R"({"label":")" + std::string(70000, 'a') + R"("})";
    EXPECT_PROBLEM(h.MintRaw(jwt, big), 413, "payload_too_large");
  }
  // A chunked body: 411, whatever the content.
  {
    httplib::Client cli("127.0.0.1", h.port);
    cli.set_read_timeout(60, 0);
    auto res = cli.Post(
        "/v1/tokens", TestServer::Bearer(jwt),
        [](size_t offset, httplib::DataSink& sink) {
          if (offset == 0) {
            std::string chunk = R"({"label":"chunked"})";
            sink.write(chunk.data(), chunk.size());
          }
          sink.done();
          return true;
        },
        "application/json");
    REQUIRE(res);
    Resp r{res->status, res->headers, res->body};
    EXPECT_PROBLEM(r, 411, "length_required");
  }
  CHECK(h.HeadSeq() == head);
  // The four minted above (three of them revoked again), nothing else.
  CHECK(h.Get("/v1/tokens", jwt).Object().at("tokens").as_array().size() == 4);
}

TEST_CASE("http: a sixth active token is token_limit_reached and revoked or expired ones free "
          "a slot",
          "[http][mint]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  std::vector<json::object> tokens;
  for (int i = 0; i < 4; ++i) tokens.push_back(h.Mint(jwt, "t" + std::to_string(i)));
  tokens.push_back(h.Mint(jwt, "short", "1"));
  uint64_t head = h.HeadSeq();
  Resp sixth = h.MintRaw(jwt, R"({"label":"sixth"})");
  EXPECT_PROBLEM(sixth, 409, "token_limit_reached");
  CHECK(h.HeadSeq() == head);
  // Another user has a cap of their own.
  h.Mint(h.Jwt(kBob), "bob's");

  // A revoked token frees its slot.
  REQUIRE(h.Revoke(jwt, Id(tokens[0])).status == 200);
  auto again = h.Mint(jwt, "replacement");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x"})"), 409, "token_limit_reached");

  // An expired token frees its slot at once, before any sweeper logs it.
  h.clock.Advance(kDayMillis);  // exactly at expires_at: expired
  Resp list = h.Get("/v1/tokens", jwt);
  CHECK(list.Object().at("active_count").as_int64() == 4);
  auto after_expiry = h.Mint(jwt, "after expiry");
  CHECK(Str(after_expiry, "status") == "active");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x"})"), 409, "token_limit_reached");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: 40 concurrent mints for one user make exactly 5 tokens", "[http][mint]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  constexpr int kClients = 40;
  std::vector<int> statuses(kClients, 0);
  std::vector<std::string> types(kClients);
  std::latch start(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = h.TrySend("POST", "/v1/tokens", TestServer::Bearer(jwt),
                         R"({"label":"race )" + std::to_string(i) + R"("})",
                         "application/json", true);
      if (!r) return;  // status stays 0: a transport error
      statuses[i] = r->status;
      boost::json::error_code ec;
      auto v = json::parse(r->body, ec);
      if (!ec && v.is_object() && v.as_object().contains("type")) {
        types[i] = std::string(v.as_object().at("type").as_string());
      }
    });
  }
  for (auto& t : threads) t.join();
  int created = 0, refused = 0;
  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i << ": " << statuses[i] << " " << types[i]);
    CHECK((statuses[i] == 201 || (statuses[i] == 409 && types[i] == "token_limit_reached")));
    created += statuses[i] == 201;
    refused += statuses[i] == 409;
  }
  CHECK(created == 5);
  CHECK(refused == 35);
  auto list = h.Get("/v1/tokens", jwt).Object();
  CHECK(list.at("tokens").as_array().size() == 5);
  CHECK(list.at("active_count").as_int64() == 5);
  CHECK(h.HeadSeq() == 5);
  h.ExpectNoValueLeaks();
}

// ---------------------------------------------------------------- GET /v1/tokens

TEST_CASE("http: list tokens is newest first with statuses, counts and a status filter",
          "[http][list]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  auto t1 = h.Mint(jwt, "one", "1");
  auto t2 = h.Mint(jwt, "two");
  auto t3 = h.Mint(jwt, "three");
  auto t4 = h.Mint(jwt, "four");
  h.Mint(h.Jwt(kBob), "bob's");
  h.Mint(h.Jwt(kAlice, "other"), "alice in another tenant");
  REQUIRE(h.Revoke(jwt, Id(t2)).status == 200);
  h.clock.Advance(kDayMillis + 1);

  Resp r = h.Get("/v1/tokens", jwt);
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type") == "application/json");
  auto page = r.Object();
  CHECK(Keys(page) == std::set<std::string>{"tokens", "active_count", "max_active"});
  CHECK(Ids(page) == std::vector<std::string>{Id(t4), Id(t3), Id(t2), Id(t1)});
  std::vector<std::string> statuses;
  for (const auto& t : page.at("tokens").as_array()) {
    ExpectTokenObject(t.as_object(), false);
    statuses.push_back(Str(t.as_object(), "status"));
    CHECK(Str(t.as_object(), "user") == kAlice);
  }
  CHECK(statuses == std::vector<std::string>{"active", "active", "revoked", "expired"});
  CHECK(page.at("active_count").as_int64() == 2);
  CHECK(page.at("max_active").as_int64() == 5);

  auto revoked = h.Get("/v1/tokens?status=revoked", jwt).Object();
  CHECK(Ids(revoked) == std::vector<std::string>{Id(t2)});
  CHECK(revoked.at("active_count").as_int64() == 2);
  CHECK(Ids(h.Get("/v1/tokens?status=expired", jwt).Object()) ==
        std::vector<std::string>{Id(t1)});
  CHECK(Ids(h.Get("/v1/tokens?status=active", jwt).Object()) ==
        std::vector<std::string>{Id(t4), Id(t3)});

  EXPECT_PROBLEM(h.Get("/v1/tokens?status=bogus", jwt), 400, "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/tokens?status=", jwt), 400, "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/tokens?status=ACTIVE", jwt), 400, "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/tokens?limit=2", jwt), 400, "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/tokens?status=active&status=revoked", jwt), 400, "invalid_request");

  // Bob sees only his own.
  auto bob = h.Get("/v1/tokens", h.Jwt(kBob)).Object();
  CHECK(bob.at("tokens").as_array().size() == 1);
  // A user with none gets an empty list.
  auto carol = h.Get("/v1/tokens", h.Jwt("carol@acme.example")).Object();
  CHECK(carol.at("tokens").as_array().empty());
  CHECK(carol.at("active_count").as_int64() == 0);
  CHECK(carol.at("max_active").as_int64() == 5);
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: max_active follows the server's max-active-tokens setting", "[http][list]") {
  ServerOptions options;
  options.service.max_active_tokens = 2;
  TestServer h(options);
  std::string jwt = h.Jwt(kAlice);
  h.Mint(jwt, "a");
  h.Mint(jwt, "b");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"c"})"), 409, "token_limit_reached");
  CHECK(h.Get("/v1/tokens", jwt).Object().at("max_active").as_int64() == 2);
  CHECK(h.Get("/v1/admin/policy", h.AdminJwt()).Object().at("max_active_tokens").as_int64() == 2);
}

TEST_CASE("http: get token by id sees only the caller's own tokens, for admins too",
          "[http][list]") {
  TestServer h;
  std::string alice = h.Jwt(kAlice);
  auto t = h.Mint(alice, "mine");
  Resp own = h.Get("/v1/tokens/" + Id(t), alice);
  REQUIRE(own.status == 200);
  auto o = own.Object();
  ExpectTokenObject(o, false);
  json::object minted = t;
  minted.erase("token");
  CHECK(o == minted);
  // Username case does not matter for ownership.
  CHECK(h.Get("/v1/tokens/" + Id(t), h.Jwt("ALICE@acme.example")).status == 200);

  EXPECT_PROBLEM(h.Get("/v1/tokens/" + Id(t), h.Jwt(kBob)), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/tokens/" + Id(t), h.AdminJwt()), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/tokens/" + Id(t), h.Jwt(kAlice, "other")), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/tokens/tok_0000000000000000", alice), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/tokens/not-a-token-id", alice), 404, "not_found");
  // Bob cannot revoke or rotate it either.
  uint64_t head = h.HeadSeq();
  EXPECT_PROBLEM(h.Revoke(h.Jwt(kBob), Id(t)), 404, "not_found");
  EXPECT_PROBLEM(h.Rotate(h.Jwt(kBob), Id(t)), 404, "not_found");
  EXPECT_PROBLEM(h.Revoke(h.AdminJwt(), Id(t)), 404, "not_found");
  CHECK(h.HeadSeq() == head);
  CHECK(Str(h.Get("/v1/tokens/" + Id(t), alice).Object(), "status") == "active");
  h.ExpectNoValueLeaks();
}

// ---------------------------------------------------------------- revoke

TEST_CASE("http: revoke answers the revoked token, is idempotent and denies the check",
          "[http][revoke]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  auto t = h.Mint(jwt, "to revoke");
  REQUIRE(h.Check(kAlice, Value(t)).status == 200);
  h.clock.Advance(5000);
  uint64_t head = h.HeadSeq();

  Resp r = h.Revoke(jwt, Id(t));
  REQUIRE(r.status == 200);
  auto o = r.Object();
  ExpectTokenObject(o, false);
  CHECK(Str(o, "status") == "revoked");
  CHECK(Str(o, "revoked_reason") == "user");
  CHECK(Str(o, "revoked_at") == At(kTestNow + 5000));
  CHECK(h.HeadSeq() == head + 1);
  CHECK(MetricsHeadSeq(h) == head + 1);

  // Again: same answer, nothing appended.
  Resp again = h.Revoke(jwt, Id(t));
  REQUIRE(again.status == 200);
  CHECK(again.Object() == o);
  CHECK(h.HeadSeq() == head + 1);
  CHECK(MetricsHeadSeq(h) == head + 1);
  // `{}` is an accepted body too, and anything else is not.
  CHECK(h.Post("/v1/tokens/" + Id(t) + "/revoke", jwt, "{}").status == 200);
  EXPECT_PROBLEM(h.Post("/v1/tokens/" + Id(t) + "/revoke", jwt, R"({"reason":"x"})"), 400,
                 "invalid_request");
  CHECK(h.HeadSeq() == head + 1);

  EXPECT_PROBLEM(h.Check(kAlice, Value(t)), 401, "unauthenticated");
  EXPECT_PROBLEM(h.Revoke(jwt, "tok_0000000000000000"), 404, "not_found");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: revoking an expired token keeps it expired and appends nothing",
          "[http][revoke]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  auto t = h.Mint(jwt, "short", "1");
  h.clock.Advance(kDayMillis + 1);
  uint64_t head = h.HeadSeq();
  Resp r = h.Revoke(jwt, Id(t));
  REQUIRE(r.status == 200);
  auto o = r.Object();
  CHECK(Str(o, "status") == "expired");
  CHECK(o.at("revoked_at").is_null());
  CHECK(o.at("revoked_reason").is_null());
  CHECK(h.HeadSeq() == head);
  EXPECT_PROBLEM(h.Check(kAlice, Value(t)), 401, "unauthenticated");
}

// ---------------------------------------------------------------- rotate

TEST_CASE("http: rotate mints a replacement with the same label and revokes the old one",
          "[http][rotate]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  auto old = h.Mint(jwt, "Power BI gateway", "30");
  h.clock.Advance(60'000);
  uint64_t head = h.HeadSeq();

  Resp r = h.Rotate(jwt, Id(old));
  REQUIRE(r.status == 201);
  auto fresh = r.Object();
  ExpectTokenObject(fresh, true);
  CHECK(Id(fresh) != Id(old));
  CHECK(Value(fresh) != Value(old));
  CHECK(Str(fresh, "label") == "Power BI gateway");
  CHECK(Str(fresh, "status") == "active");
  CHECK(Str(fresh, "created_at") == At(kTestNow + 60'000));
  CHECK(Str(fresh, "expires_at") == At(kTestNow + 60'000 + 90 * kDayMillis));  // policy default
  CHECK(h.HeadSeq() == head + 2);  // revoke + mint, one append
  json::object stored = fresh;
  stored.erase("token");
  CHECK(h.Get("/v1/tokens/" + Id(fresh), jwt).Object() == stored);

  auto old_now = h.Get("/v1/tokens/" + Id(old), jwt).Object();
  CHECK(Str(old_now, "status") == "revoked");
  CHECK(Str(old_now, "revoked_reason") == "rotated");
  CHECK(Str(old_now, "revoked_at") == At(kTestNow + 60'000));
  EXPECT_PROBLEM(h.Check(kAlice, Value(old)), 401, "unauthenticated");
  CHECK(h.Check(kAlice, Value(fresh)).status == 200);

  // expires_in_days from the body.
  Resp seven = h.Rotate(jwt, Id(fresh), R"({"expires_in_days":7})");
  REQUIRE(seven.status == 201);
  CHECK(Str(seven.Object(), "expires_at") == At(kTestNow + 60'000 + 7 * kDayMillis));
  CHECK(Str(seven.Object(), "label") == "Power BI gateway");

  // Refusals change nothing.
  head = h.HeadSeq();
  std::string live = Id(seven.Object());
  EXPECT_PROBLEM(h.Rotate(jwt, live, R"({"expires_in_days":366})"), 400, "invalid_expiry");
  EXPECT_PROBLEM(h.Rotate(jwt, live, R"({"expires_in_days":1.5})"), 400, "invalid_expiry");
  EXPECT_PROBLEM(h.Rotate(jwt, live, R"({"expires_in_days":null})"), 400, "invalid_expiry");
  EXPECT_PROBLEM(h.Rotate(jwt, live, R"({"label":"new"})"), 400, "invalid_request");
  EXPECT_PROBLEM(h.Rotate(jwt, live, "[]"), 400, "invalid_request");
  EXPECT_PROBLEM(h.Rotate(jwt, Id(old), ""), 409, "token_not_active");  // revoked
  EXPECT_PROBLEM(h.Rotate(jwt, "tok_0000000000000000"), 404, "not_found");
  CHECK(h.HeadSeq() == head);
  CHECK(Str(h.Get("/v1/tokens/" + live, jwt).Object(), "status") == "active");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: rotate works at the cap and refuses expired tokens", "[http][rotate]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  std::vector<json::object> tokens;
  for (int i = 0; i < 4; ++i) tokens.push_back(h.Mint(jwt, "t" + std::to_string(i)));
  auto short_lived = h.Mint(jwt, "short", "1");
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x"})"), 409, "token_limit_reached");

  Resp r = h.Rotate(jwt, Id(tokens[0]));
  REQUIRE(r.status == 201);
  CHECK(Str(r.Object(), "label") == "t0");
  CHECK(h.Get("/v1/tokens", jwt).Object().at("active_count").as_int64() == 5);

  h.clock.Advance(kDayMillis + 1);
  uint64_t head = h.HeadSeq();
  EXPECT_PROBLEM(h.Rotate(jwt, Id(short_lived)), 409, "token_not_active");
  CHECK(h.HeadSeq() == head);
  h.ExpectNoValueLeaks();
}

// ---------------------------------------------------------------- admin policy

TEST_CASE("http: admin policy defaults, validation and versions", "[http][admin][policy]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  Resp g = h.Get("/v1/admin/policy", admin);
  REQUIRE(g.status == 200);
  CHECK(g.Header("Content-Type") == "application/json");
  auto p = g.Object();
  CHECK(Keys(p) == std::set<std::string>{"max_lifetime_days", "default_lifetime_days",
                                         "max_active_tokens", "version", "updated_at",
                                         "updated_by"});
  CHECK(p.at("max_lifetime_days").as_int64() == 365);
  CHECK(p.at("default_lifetime_days").as_int64() == 90);
  CHECK(p.at("max_active_tokens").as_int64() == 5);
  CHECK(p.at("version").as_int64() == 0);
  CHECK(p.at("updated_at").is_null());
  CHECK(p.at("updated_by").is_null());

  uint64_t head = h.HeadSeq();
  for (const std::string& body : std::vector<std::string>{
           std::string(""), std::string("{}"),
           std::string(R"({"max_lifetime_days":30})"),
           std::string(R"({"default_lifetime_days":30})"),
           std::string(R"({"max_lifetime_days":30,"default_lifetime_days":31})"),
           std::string(R"({"max_lifetime_days":0,"default_lifetime_days":0})"),
           std::string(R"({"max_lifetime_days":30,"default_lifetime_days":0})"),
           std::string(R"({"max_lifetime_days":3651,"default_lifetime_days":30})"),
           std::string(R"({"max_lifetime_days":null,"default_lifetime_days":3651})"),
           std::string(R"({"max_lifetime_days":-5,"default_lifetime_days":1})"),
           std::string(R"({"max_lifetime_days":30.5,"default_lifetime_days":10})"),
           std::string(R"({"max_lifetime_days":1e2,"default_lifetime_days":10})"),
           std::string(R"({"max_lifetime_days":"30","default_lifetime_days":10})"),
           std::string(R"({"max_lifetime_days":30,"default_lifetime_days":null})"),
           std::string(R"({"max_lifetime_days":30,"default_lifetime_days":true})"),
       }) {
    INFO("body: " << body);
    EXPECT_PROBLEM(h.Put("/v1/admin/policy", admin, body), 400, "invalid_policy");
  }
  EXPECT_PROBLEM(h.Put("/v1/admin/policy", admin,
                       R"({"max_lifetime_days":30,"default_lifetime_days":10,"max_active_tokens":9})"),
                 400, "invalid_request");
  EXPECT_PROBLEM(h.Put("/v1/admin/policy", admin, "[30,10]"), 400, "invalid_request");
  CHECK(h.HeadSeq() == head);
  CHECK(h.Get("/v1/admin/policy", admin).Object().at("version").as_int64() == 0);

  // The built-in defaults are in force: putting them appends nothing.
  Resp same = h.Put("/v1/admin/policy", admin,
                    R"({"max_lifetime_days":365,"default_lifetime_days":90})");
  REQUIRE(same.status == 200);
  CHECK(same.Object().at("version").as_int64() == 0);
  CHECK(same.Object().at("affected_tokens").as_int64() == 0);
  CHECK(same.Object().at("updated_by").is_null());
  CHECK(h.HeadSeq() == head);

  h.clock.Advance(1234);
  Resp put = h.Put("/v1/admin/policy", admin,
                   R"({"max_lifetime_days":30,"default_lifetime_days":10})");
  REQUIRE(put.status == 200);
  auto v1 = put.Object();
  CHECK(v1.at("max_lifetime_days").as_int64() == 30);
  CHECK(v1.at("default_lifetime_days").as_int64() == 10);
  CHECK(v1.at("max_active_tokens").as_int64() == 5);
  CHECK(v1.at("version").as_int64() == 1);
  CHECK(Str(v1, "updated_at") == At(kTestNow + 1234));
  CHECK(Str(v1, "updated_by") == kAdmin);
  CHECK(v1.at("affected_tokens").as_int64() == 0);
  json::object read = h.Get("/v1/admin/policy", admin).Object();
  json::object expected = v1;
  expected.erase("affected_tokens");
  CHECK(read == expected);

  // The new default and max apply to mints.
  std::string jwt = h.Jwt(kAlice);
  CHECK(Str(h.Mint(jwt, "default"), "expires_at") == At(kTestNow + 1234 + 10 * kDayMillis));
  EXPECT_PROBLEM(h.MintRaw(jwt, R"({"label":"x","expires_in_days":31})"), 400, "invalid_expiry");

  Resp put2 = h.Put("/v1/admin/policy", h.AdminJwt("Boss@ACME.example"),
                    R"({"max_lifetime_days":null,"default_lifetime_days":3650})");
  REQUIRE(put2.status == 200);
  auto v2 = put2.Object();
  CHECK(v2.at("max_lifetime_days").is_null());
  CHECK(v2.at("default_lifetime_days").as_int64() == 3650);
  CHECK(v2.at("version").as_int64() == 2);
  CHECK(Str(v2, "updated_by") == "boss@acme.example");

  // Another tenant still has the defaults.
  auto other = h.Get("/v1/admin/policy", h.AdminJwt("root@other.example", "other")).Object();
  CHECK(other.at("version").as_int64() == 0);
  CHECK(other.at("max_lifetime_days").as_int64() == 365);
}

TEST_CASE("http: policy preview lists the tokens a policy would clamp and appends nothing",
          "[http][admin][policy]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  std::string alice = h.Jwt(kAlice);
  auto long_lived = h.Mint(alice, "long", "300");
  auto short_lived = h.Mint(alice, "short", "10");
  auto revoked = h.Mint(alice, "revoked", "300");
  REQUIRE(h.Revoke(alice, Id(revoked)).status == 200);
  auto bobs = h.Mint(h.Jwt(kBob), "bob long", "200");
  h.Mint(h.Jwt("carol@other.example", "other"), "other tenant", "300");
  uint64_t head = h.HeadSeq();

  Resp r = h.Post("/v1/admin/policy/preview", admin,
                  R"({"max_lifetime_days":30,"default_lifetime_days":30})");
  REQUIRE(r.status == 200);
  auto o = r.Object();
  CHECK(Keys(o) == std::set<std::string>{"affected"});
  std::map<std::string, json::object> by_id;
  for (const auto& a : o.at("affected").as_array()) by_id[Str(a.as_object(), "token_id")] =
      a.as_object();
  REQUIRE(by_id.size() == 2);
  REQUIRE(by_id.count(Id(long_lived)) == 1);
  REQUIRE(by_id.count(Id(bobs)) == 1);
  auto a = by_id[Id(long_lived)];
  CHECK(Keys(a) == std::set<std::string>{"token_id", "user", "label", "expires_at_before",
                                         "expires_at_after", "expires_now"});
  CHECK(Str(a, "user") == kAlice);
  CHECK(Str(a, "label") == "long");
  CHECK(Str(a, "expires_at_before") == At(kTestNow + 300 * kDayMillis));
  CHECK(Str(a, "expires_at_after") == At(kTestNow + 30 * kDayMillis));
  CHECK(a.at("expires_now").as_bool() == false);
  CHECK(Str(by_id[Id(bobs)], "user") == kBob);

  // A max whose cap is already past: expires_now.
  h.clock.Advance(3 * kDayMillis);
  auto now_page = h.Post("/v1/admin/policy/preview", admin,
                         R"({"max_lifetime_days":2,"default_lifetime_days":1})")
                      .Object();
  REQUIRE(now_page.at("affected").as_array().size() == 3);
  for (const auto& e : now_page.at("affected").as_array()) {
    CHECK(e.as_object().at("expires_now").as_bool() == true);
    CHECK(Str(e.as_object(), "expires_at_after") == At(kTestNow + 2 * kDayMillis));
  }
  // Nothing to clamp.
  auto none = h.Post("/v1/admin/policy/preview", admin,
                     R"({"max_lifetime_days":365,"default_lifetime_days":90})")
                  .Object();
  CHECK(none.at("affected").as_array().empty());
  // Preview validates like PUT.
  EXPECT_PROBLEM(h.Post("/v1/admin/policy/preview", admin, R"({"max_lifetime_days":30})"), 400,
                 "invalid_policy");
  EXPECT_PROBLEM(h.Post("/v1/admin/policy/preview", admin,
                        R"({"max_lifetime_days":3,"default_lifetime_days":4})"),
                 400, "invalid_policy");

  CHECK(h.HeadSeq() == head);
  CHECK(MetricsHeadSeq(h) == head);
  CHECK(h.Get("/v1/admin/policy", admin).Object().at("version").as_int64() == 0);
  CHECK(Str(h.Get("/v1/tokens/" + Id(long_lived), alice).Object(), "expires_at") ==
        At(kTestNow + 300 * kDayMillis));
  CHECK(Str(h.Get("/v1/tokens/" + Id(short_lived), alice).Object(), "expires_at") ==
        At(kTestNow + 10 * kDayMillis));
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: put policy clamps existing tokens, never extends them, and expires them at "
          "once when the cap is past",
          "[http][admin][policy]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  std::string alice = h.Jwt(kAlice);
  auto t300 = h.Mint(alice, "three hundred", "300");
  auto t10 = h.Mint(alice, "ten", "10");
  int64_t created = kTestNow;

  uint64_t head = h.HeadSeq();
  Resp put = h.Put("/v1/admin/policy", admin,
                   R"({"max_lifetime_days":30,"default_lifetime_days":30})");
  REQUIRE(put.status == 200);
  CHECK(put.Object().at("affected_tokens").as_int64() == 1);
  CHECK(h.HeadSeq() == head + 2);  // policy.changed + token.expiry_shortened
  auto clamped = h.Get("/v1/tokens/" + Id(t300), alice).Object();
  CHECK(Str(clamped, "expires_at") == At(created + 30 * kDayMillis));
  CHECK(Str(clamped, "status") == "active");
  CHECK(Str(h.Get("/v1/tokens/" + Id(t10), alice).Object(), "expires_at") ==
        At(created + 10 * kDayMillis));

  // Raising the max back never extends a token.
  Resp back = h.Put("/v1/admin/policy", admin,
                    R"({"max_lifetime_days":365,"default_lifetime_days":90})");
  REQUIRE(back.status == 200);
  CHECK(back.Object().at("affected_tokens").as_int64() == 0);
  CHECK(back.Object().at("version").as_int64() == 2);
  CHECK(Str(h.Get("/v1/tokens/" + Id(t300), alice).Object(), "expires_at") ==
        At(created + 30 * kDayMillis));

  // 20 days later a max of 5 days is already past for t300: expired at once.
  // t10 expired on its own; a fresh token gets shortened instead.
  h.clock.Advance(20 * kDayMillis);
  auto fresh = h.Mint(alice, "fresh");
  REQUIRE(h.Check(kAlice, Value(t300)).status == 200);
  head = h.HeadSeq();
  Resp tight = h.Put("/v1/admin/policy", admin,
                     R"({"max_lifetime_days":5,"default_lifetime_days":5})");
  REQUIRE(tight.status == 200);
  CHECK(tight.Object().at("affected_tokens").as_int64() == 2);
  CHECK(h.HeadSeq() == head + 3);  // policy.changed, token.expired, token.expiry_shortened
  auto gone = h.Get("/v1/tokens/" + Id(t300), alice).Object();
  CHECK(Str(gone, "status") == "expired");
  CHECK(Str(gone, "expires_at") == At(created + 5 * kDayMillis));
  EXPECT_PROBLEM(h.Check(kAlice, Value(t300)), 401, "unauthenticated");
  auto shortened = h.Get("/v1/tokens/" + Id(fresh), alice).Object();
  CHECK(Str(shortened, "status") == "active");
  CHECK(Str(shortened, "expires_at") == At(kTestNow + 25 * kDayMillis));
  CHECK(h.Check(kAlice, Value(fresh)).status == 200);
  CHECK(Str(h.Get("/v1/tokens/" + Id(t10), alice).Object(), "status") == "expired");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: role user gets 403 forbidden on every admin route", "[http][admin]") {
  TestServer h;
  std::string user = h.Jwt(kAlice);
  auto t = h.Mint(user, "mine");
  uint64_t head = h.HeadSeq();
  std::string policy = R"({"max_lifetime_days":1,"default_lifetime_days":1})";
  EXPECT_PROBLEM(h.Get("/v1/admin/policy", user), 403, "forbidden");
  EXPECT_PROBLEM(h.Put("/v1/admin/policy", user, policy), 403, "forbidden");
  EXPECT_PROBLEM(h.Post("/v1/admin/policy/preview", user, policy), 403, "forbidden");
  EXPECT_PROBLEM(h.Get("/v1/admin/tokens", user), 403, "forbidden");
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", user), 403, "forbidden");
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/lookup", user,
                        R"({"token":")" + Value(t) + R"("})"),
                 403, "forbidden");
  EXPECT_PROBLEM(h.Post("/v1/admin/users/" + kBob + "/deactivate", user), 403, "forbidden");
  EXPECT_PROBLEM(h.Post("/v1/admin/users/" + kBob + "/reactivate", user), 403, "forbidden");
  // A JWT without a role claim is role user.
  std::string no_role = h.SignedJwt(R"({"sub":"alice@acme.example","tenant":"acme","exp":)" +
                                    std::to_string(h.NowSeconds() + 600) + "}");
  EXPECT_PROBLEM(h.Get("/v1/admin/policy", no_role), 403, "forbidden");
  CHECK(h.Get("/v1/tokens", no_role).status == 200);
  CHECK(h.HeadSeq() == head);
  CHECK(Str(h.Get("/v1/tokens/" + Id(t), user).Object(), "status") == "active");
  h.ExpectNoValueLeaks();
}

// ---------------------------------------------------------------- admin tokens

TEST_CASE("http: admin token list pages through the whole tenant with bound cursors",
          "[http][admin][paging]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  std::vector<std::string> minted;  // in mint order
  minted.push_back(Id(h.Mint(h.Jwt(kAlice), "a1")));
  minted.push_back(Id(h.Mint(h.Jwt(kBob), "b1")));
  minted.push_back(Id(h.Mint(h.Jwt(kAlice), "a2")));
  minted.push_back(Id(h.Mint(h.Jwt(kBob), "b2")));
  minted.push_back(Id(h.Mint(h.Jwt(kAlice), "a3")));
  auto foreign = h.Mint(h.Jwt("carol@other.example", "other"), "other tenant");
  std::vector<std::string> newest_first(minted.rbegin(), minted.rend());

  auto all = h.Get("/v1/admin/tokens", admin);
  REQUIRE(all.status == 200);
  CHECK(Keys(all.Object()) == std::set<std::string>{"tokens", "next_cursor"});
  CHECK(Ids(all.Object()) == newest_first);
  CHECK(all.Object().at("next_cursor").is_null());
  auto all_page = all.Object();
  for (const auto& t : all_page.at("tokens").as_array()) ExpectTokenObject(t.as_object(), false);

  // Walk with limit=2: 2 + 2 + 1, no overlap, no gap.
  std::vector<std::string> walked;
  std::vector<std::string> cursors;
  std::string path = "/v1/admin/tokens?limit=2";
  for (int page = 0; page < 10; ++page) {
    auto o = h.Get(path, admin).Object();
    auto ids = Ids(o);
    CHECK(ids.size() <= 2);
    walked.insert(walked.end(), ids.begin(), ids.end());
    if (o.at("next_cursor").is_null()) break;
    std::string cursor = Str(o, "next_cursor");
    for (char c : cursor) {
      CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
             c == '~'));  // URL-safe
    }
    cursors.push_back(cursor);
    path = "/v1/admin/tokens?limit=2&cursor=" + cursor;
  }
  CHECK(walked == newest_first);
  REQUIRE(cursors.size() >= 1);

  // Filters.
  CHECK(Ids(h.Get("/v1/admin/tokens?user=alice@acme.example", admin).Object()) ==
        std::vector<std::string>{minted[4], minted[2], minted[0]});
  CHECK(Ids(h.Get("/v1/admin/tokens?user=ALICE%40acme.example", admin).Object()) ==
        std::vector<std::string>{minted[4], minted[2], minted[0]});
  REQUIRE(h.Revoke(h.Jwt(kBob), minted[1]).status == 200);
  CHECK(Ids(h.Get("/v1/admin/tokens?status=revoked", admin).Object()) ==
        std::vector<std::string>{minted[1]});
  CHECK(Ids(h.Get("/v1/admin/tokens?status=active&user=bob@acme.example", admin).Object()) ==
        std::vector<std::string>{minted[3]});
  CHECK(Ids(h.Get("/v1/admin/tokens?user=nobody@acme.example", admin).Object()).empty());

  // Bad parameters.
  for (const std::string& q : std::vector<std::string>{"limit=0", "limit=501", "limit=-1", "limit=abc", "limit=",
                              "limit=2.5", "status=bogus", "user=a:b", "sort=asc",
                              "limit=2&limit=3"}) {
    INFO(q);
    EXPECT_PROBLEM(h.Get("/v1/admin/tokens?" + q, admin), 400, "invalid_request");
  }
  CHECK(h.Get("/v1/admin/tokens?limit=500", admin).status == 200);
  CHECK(h.Get("/v1/admin/tokens?limit=1", admin).status == 200);

  // Cursors: altered anywhere, or reused with other filters or by another
  // tenant, are refused.
  std::string c = cursors[0];
  for (size_t i = 0; i < c.size(); ++i) {
    std::string altered = c;
    altered[i] = altered[i] == 'a' ? 'b' : 'a';
    INFO("altered at " << i << ": " << altered);
    EXPECT_PROBLEM(h.Get("/v1/admin/tokens?limit=2&cursor=" + altered, admin), 400,
                   "invalid_request");
  }
  EXPECT_PROBLEM(h.Get("/v1/admin/tokens?limit=2&cursor=" + c.substr(1), admin), 400,
                 "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/admin/tokens?limit=2&cursor=" + c + "0", admin), 400,
                 "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/admin/tokens?limit=2&user=alice@acme.example&cursor=" + c, admin),
                 400, "invalid_request");
  EXPECT_PROBLEM(h.Get("/v1/admin/tokens?limit=2&status=active&cursor=" + c, admin), 400,
                 "invalid_request");
  std::string other_admin = h.AdminJwt("root@other.example", "other");
  EXPECT_PROBLEM(h.Get("/v1/admin/tokens?limit=2&cursor=" + c, other_admin), 400,
                 "invalid_request");
  // The same cursor with the same filters but another limit is fine.
  CHECK(h.Get("/v1/admin/tokens?limit=3&cursor=" + c, admin).status == 200);

  // Another tenant's admin sees only its own tenant.
  CHECK(Ids(h.Get("/v1/admin/tokens", other_admin).Object()) ==
        std::vector<std::string>{Id(foreign)});
  CHECK(Ids(h.Get("/v1/admin/tokens?user=alice@acme.example", other_admin).Object()).empty());
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: admin revoke with a note, within the admin's tenant only", "[http][admin]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  std::string alice = h.Jwt(kAlice);
  auto t = h.Mint(alice, "laptop");
  auto t2 = h.Mint(alice, "desktop");
  std::string other_admin = h.AdminJwt("root@other.example", "other");

  uint64_t head = h.HeadSeq();
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", other_admin), 404, "not_found");
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", other_admin,
                        R"({"note":"x"})"),
                 404, "not_found");
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/tok_0000000000000000/revoke", admin), 404,
                 "not_found");
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", admin,
                        R"({"note":"x","reason":"leaked"})"),
                 400, "invalid_request");
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", admin, R"({"note":5})"), 400,
                 "invalid_request");
  // A note breaking the label rules, or over 500 code points.
  for (const std::string& note : std::vector<std::string>{std::string("\"a\\u0007b\""), std::string("\"\\u202e\""),
                                 "\"" + Repeat("n", 501) + "\""}) {
    Resp r = h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", admin, "{\"note\":" + note + "}");
    INFO(r.Text());
    CHECK(r.status == 400);
    CHECK(r.Header("Content-Type") == "application/problem+json");
    CHECK((r.Type() == "invalid_request" || r.Type() == "invalid_label"));
  }
  CHECK(h.HeadSeq() == head);
  CHECK(h.Check(kAlice, Value(t)).status == 200);

  Resp r = h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", admin,
                  "{\"note\":\" " + Repeat("n", 500) + " \"}");
  REQUIRE(r.status == 200);
  auto o = r.Object();
  ExpectTokenObject(o, false);
  CHECK(Str(o, "status") == "revoked");
  CHECK(Str(o, "revoked_reason") == "admin");
  CHECK(Str(o, "user") == kAlice);
  CHECK(h.HeadSeq() == head + 1);
  EXPECT_PROBLEM(h.Check(kAlice, Value(t)), 401, "unauthenticated");
  // Idempotent.
  CHECK(h.Post("/v1/admin/tokens/" + Id(t) + "/revoke", admin).status == 200);
  CHECK(h.HeadSeq() == head + 1);
  // Without a body.
  Resp r2 = h.Post("/v1/admin/tokens/" + Id(t2) + "/revoke", admin);
  REQUIRE(r2.status == 200);
  CHECK(Str(r2.Object(), "revoked_reason") == "admin");
  // The owner sees the reason.
  CHECK(Str(h.Get("/v1/tokens/" + Id(t), alice).Object(), "revoked_reason") == "admin");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: admin lookup tells whose a found value is, without the value",
          "[http][admin][lookup]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  std::string alice = h.Jwt(kAlice);
  auto t = h.Mint(alice, "leaked laptop");
  std::string value = Value(t);

  uint64_t head = h.HeadSeq();
  Resp r = h.Post("/v1/admin/tokens/lookup", admin, R"({"token":")" + value + R"("})");
  REQUIRE(r.status == 200);
  auto o = r.Object();
  ExpectTokenObject(o, false);
  CHECK(Id(o) == Id(t));
  CHECK(Str(o, "user") == kAlice);
  CHECK(Str(o, "label") == "leaked laptop");
  CHECK(h.HeadSeq() == head + 1);  // token.looked_up

  // A well-formed value that is no token.
  CryptoRandom random;
  auto unknown = GenerateTokenValue(random);
  REQUIRE(unknown.ok());
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/lookup", admin, R"({"token":")" + *unknown + R"("})"),
                 404, "not_found");
  // Another tenant's admin: as if it did not exist.
  EXPECT_PROBLEM(h.Post("/v1/admin/tokens/lookup", h.AdminJwt("root@other.example", "other"),
                        R"({"token":")" + value + R"("})"),
                 404, "not_found");

  // Malformed values are 400 and append nothing.
  head = h.HeadSeq();
  std::string flipped = value;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';  // checksum no longer matches
  for (const std::string& body : std::vector<std::string>{R"({"token":")" + flipped + R"("})",
                                 R"({"token":")" + value.substr(0, 39) + R"("})",
                                 R"({"token":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"})",
                                 std::string(R"({"token":""})"), std::string(R"({"token":5})"),
                                 std::string("{}"), std::string(""),
                                 R"({"token":")" + value + R"(","x":1})"}) {
    INFO(body);
    Resp bad = h.Post("/v1/admin/tokens/lookup", admin, body);
    EXPECT_PROBLEM(bad, 400, "invalid_request");
    CHECK(bad.body.find(flipped) == std::string::npos);
  }
  CHECK(h.HeadSeq() == head);
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: deactivate revokes a user's tokens and blocks mints until reactivated",
          "[http][admin][deactivate]") {
  TestServer h;
  std::string admin = h.AdminJwt();
  std::string alice = h.Jwt(kAlice);
  auto t1 = h.Mint(alice, "one");
  auto t2 = h.Mint(alice, "two");
  auto t3 = h.Mint(alice, "three");
  REQUIRE(h.Revoke(alice, Id(t1)).status == 200);
  auto bobs = h.Mint(h.Jwt(kBob), "bob's");

  uint64_t head = h.HeadSeq();
  Resp d = h.Post("/v1/admin/users/Alice@ACME.example/deactivate", admin);
  REQUIRE(d.status == 200);
  CHECK(d.Header("Content-Type") == "application/json");
  auto o = d.Object();
  CHECK(Keys(o) == std::set<std::string>{"user", "revoked_tokens"});
  CHECK(Str(o, "user") == kAlice);
  CHECK(o.at("revoked_tokens").as_int64() == 2);
  CHECK(h.HeadSeq() == head + 3);  // two revocations + user.deactivated

  for (const auto& t : {t2, t3}) {
    auto now = h.Get("/v1/tokens/" + Id(t), alice).Object();
    CHECK(Str(now, "status") == "revoked");
    CHECK(Str(now, "revoked_reason") == "user_deactivated");
    EXPECT_PROBLEM(h.Check(kAlice, Value(t)), 401, "unauthenticated");
  }
  CHECK(Str(h.Get("/v1/tokens/" + Id(t1), alice).Object(), "revoked_reason") == "user");
  CHECK(h.Check(kBob, Value(bobs)).status == 200);  // others untouched

  head = h.HeadSeq();
  EXPECT_PROBLEM(h.MintRaw(alice, R"({"label":"again"})"), 403, "user_deactivated");
  EXPECT_PROBLEM(h.Rotate(alice, Id(t2)), 403, "user_deactivated");
  // Listing still works (a deactivated user can see what happened).
  CHECK(h.Get("/v1/tokens", alice).status == 200);
  CHECK(h.HeadSeq() == head);

  // Repeating it appends nothing.
  Resp again = h.Post("/v1/admin/users/alice@acme.example/deactivate", admin);
  REQUIRE(again.status == 200);
  CHECK(again.Object().at("revoked_tokens").as_int64() == 0);
  CHECK(h.HeadSeq() == head);
  CHECK(MetricsHeadSeq(h) == head);

  // Any well-formed username may be deactivated, even one never seen.
  Resp ghost = h.Post("/v1/admin/users/ghost@acme.example/deactivate", admin);
  REQUIRE(ghost.status == 200);
  CHECK(ghost.Object().at("revoked_tokens").as_int64() == 0);
  CHECK(h.Post("/v1/admin/users/ghost@acme.example/reactivate", admin).status == 200);

  // Malformed usernames in the path.
  head = h.HeadSeq();
  EXPECT_PROBLEM(h.Post("/v1/admin/users/a%3Ab/deactivate", admin), 400, "invalid_request");
  EXPECT_PROBLEM(h.Post("/v1/admin/users/a%3Ab/reactivate", admin), 400, "invalid_request");
  EXPECT_PROBLEM(h.Post("/v1/admin/users/a%20b/deactivate", admin), 400, "invalid_request");
  EXPECT_PROBLEM(h.Post("/v1/admin/users/" + std::string(255, 'x') + "/deactivate", admin), 400,
                 "invalid_request");
  EXPECT_PROBLEM(h.Post("/v1/admin/users/alice@acme.example/deactivate", admin, R"({"x":1})"),
                 400, "invalid_request");
  CHECK(h.HeadSeq() == head);

  // Reactivate: 200, tokens stay revoked, mints work again.
  Resp re = h.Post("/v1/admin/users/ALICE@acme.example/reactivate", admin);
  REQUIRE(re.status == 200);
  CHECK(Keys(re.Object()) == std::set<std::string>{"user"});
  CHECK(Str(re.Object(), "user") == kAlice);
  CHECK(h.HeadSeq() == head + 1);
  Resp re2 = h.Post("/v1/admin/users/alice@acme.example/reactivate", admin);
  REQUIRE(re2.status == 200);
  CHECK(h.HeadSeq() == head + 1);  // repeating appends nothing
  for (const auto& t : {t2, t3}) {
    CHECK(Str(h.Get("/v1/tokens/" + Id(t), alice).Object(), "status") == "revoked");
    EXPECT_PROBLEM(h.Check(kAlice, Value(t)), 401, "unauthenticated");
  }
  auto fresh = h.Mint(alice, "after reactivation");
  CHECK(h.Check(kAlice, Value(fresh)).status == 200);

  // Deactivation is per tenant.
  std::string other_admin = h.AdminJwt("root@other.example", "other");
  CHECK(h.Post("/v1/admin/users/alice@acme.example/deactivate", other_admin).status == 200);
  CHECK(h.Check(kAlice, Value(fresh)).status == 200);
  h.ExpectNoValueLeaks();
}

// ---------------------------------------------------------------- routing

TEST_CASE("http: unknown routes are 404, wrong methods 405 with Allow, HEAD works",
          "[http][routing]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  EXPECT_PROBLEM(h.Send("GET", "/nope"), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/nope", jwt), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/tokens/a/b/c", jwt), 404, "not_found");
  // "/" is the web page (tests/api/web_ui_test.cc); a path beside it is not.
  EXPECT_PROBLEM(h.Send("GET", "/index.htm"), 404, "not_found");

  Resp r = h.Send("DELETE", "/v1/tokens", TestServer::Bearer(jwt));
  EXPECT_PROBLEM(r, 405, "method_not_allowed");
  std::string allow = r.Header("Allow");
  CHECK(allow.find("GET") != std::string::npos);
  CHECK(allow.find("POST") != std::string::npos);
  Resp put = h.Send("PUT", "/healthz", {}, "{}");
  EXPECT_PROBLEM(put, 405, "method_not_allowed");
  CHECK(put.Header("Allow").find("GET") != std::string::npos);
  Resp get_revoke = h.Get("/v1/tokens/tok_0000000000000000/revoke", jwt);
  EXPECT_PROBLEM(get_revoke, 405, "method_not_allowed");
  CHECK(get_revoke.Header("Allow") == "POST");
  Resp get_preview = h.Get("/v1/admin/policy/preview", h.AdminJwt());
  EXPECT_PROBLEM(get_preview, 405, "method_not_allowed");
  CHECK(get_preview.Header("Allow") == "POST");
  Resp patch_policy = h.Send("PATCH", "/v1/admin/policy", TestServer::Bearer(h.AdminJwt()), "{}");
  EXPECT_PROBLEM(patch_policy, 405, "method_not_allowed");
  CHECK(patch_policy.Header("Allow").find("PUT") != std::string::npos);

  // Paths match as sent: empty segments name nothing, escapes decode within
  // their segment, a malformed escape is invalid_request and changes nothing.
  std::string admin = h.AdminJwt();
  const uint64_t seq = h.HeadSeq();
  EXPECT_PROBLEM(h.Get("/v1//tokens", jwt), 404, "not_found");
  EXPECT_PROBLEM(h.Get("/v1/tokens/", jwt), 404, "not_found");
  // ... whoever asks (no route, so no authentication to fail), and in a
  // parameter's place too.
  EXPECT_PROBLEM(h.Send("GET", "/v1/tokens/"), 404, "not_found");
  EXPECT_PROBLEM(h.Post("/v1/admin/users//deactivate", admin), 404, "not_found");
  EXPECT_PROBLEM(h.Post("/v1/tokens//revoke", jwt), 404, "not_found");
  CHECK(h.Get("/v1/%74okens", jwt).status == 200);
  for (const char* user : {"%ZZ", "a%2", "bob%", "a%2Fb", "a%3Ab", "a%00b"}) {
    INFO(user);
    EXPECT_PROBLEM(h.Post(std::string("/v1/admin/users/") + user + "/deactivate", admin), 400,
                   "invalid_request");
  }
  CHECK(h.HeadSeq() == seq);
  Resp encoded = h.Post("/v1/admin/users/Bob%40acme.example/deactivate", admin);
  REQUIRE(encoded.status == 200);
  CHECK(Str(encoded.Object(), "user") == "bob@acme.example");
  // A path must start with "/"; the check's path is matched as sent too.
  RawResult no_slash =
      RawExchange(h.port, "GET healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(no_slash.data.rfind("HTTP/1.1 404", 0) == 0);
  EXPECT_PROBLEM(h.Send("GET", "/v1/auth/%63heck"), 404, "not_found");
  EXPECT_PROBLEM(h.Send("GET", "/v1/auth/checkup"), 404, "not_found");
  // A name echoed in an error is cut to valid UTF-8 and never holds a
  // token-shaped value.
  const std::string value_like = "tlp_" + std::string(30, 'A');
  for (const std::string& key : {value_like, "x" + value_like, "TLP_" + value_like.substr(4)}) {
    Resp echoed = h.Get("/v1/tokens?" + key + "=1", jwt);
    EXPECT_PROBLEM(echoed, 400, "invalid_request");
    CHECK(echoed.body.find(value_like.substr(4)) == std::string::npos);
    // Nor is such a name a user: an admin who pastes a leaked value where a
    // username goes appends nothing naming it.
    const uint64_t before = h.HeadSeq();
    Resp as_user = h.Post("/v1/admin/users/" + key + "/deactivate", admin);
    EXPECT_PROBLEM(as_user, 400, "invalid_request");
    CHECK(as_user.body.find(value_like.substr(4)) == std::string::npos);
    CHECK(h.HeadSeq() == before);
  }
  Resp raw_bytes = h.Get("/v1/tokens?x%FF=1", jwt);
  EXPECT_PROBLEM(raw_bytes, 400, "invalid_request");
  CHECK(raw_bytes.body.find('\xFF') == std::string::npos);
  Resp long_key = h.Post("/v1/tokens", jwt, "{\"" + std::string(63, 'a') + "\xC3\xA9\":1}");
  EXPECT_PROBLEM(long_key, 400, "invalid_request");
  CHECK(IsValidUtf8(long_key.body));

  Resp head = h.Send("HEAD", "/healthz");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  Resp head_list = h.Send("HEAD", "/v1/tokens", TestServer::Bearer(jwt));
  CHECK(head_list.status == 200);
  CHECK(head_list.body.empty());
}

TEST_CASE("http: a query parameter on a write route is invalid_request and changes nothing",
          "[http][routing]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  std::string admin = h.AdminJwt();
  auto t = h.Mint(jwt, "kept");
  std::string id = Str(t, "id");
  const uint64_t head = h.HeadSeq();
  struct Call {
    std::string method, path, jwt, body;
  };
  const std::vector<Call> calls = {
      {"POST", "/v1/tokens?x=1", jwt, R"({"label":"q"})"},
      {"POST", "/v1/tokens/" + id + "/revoke?x=1", jwt, ""},
      {"POST", "/v1/tokens/" + id + "/rotate?x=1", jwt, ""},
      {"PUT", "/v1/admin/policy?x=1", admin,
       R"({"max_lifetime_days":30,"default_lifetime_days":10})"},
      {"POST", "/v1/admin/policy/preview?x=1", admin,
       R"({"max_lifetime_days":30,"default_lifetime_days":10})"},
      {"POST", "/v1/admin/tokens/lookup?x=1", admin, R"({"token":"not-a-token"})"},
      {"POST", "/v1/admin/tokens/" + id + "/revoke?x=1", admin, ""},
      {"POST", "/v1/admin/users/alice@acme.example/deactivate?x=1", admin, ""},
      {"POST", "/v1/admin/users/alice@acme.example/reactivate?x=1", admin, ""},
      {"POST", "/v1/tokens/" + id + "/revoke?", jwt, ""},  // empty query: fine
  };
  for (size_t i = 0; i + 1 < calls.size(); ++i) {
    const Call& c = calls[i];
    INFO(c.method << " " << c.path);
    Resp r = h.Send(c.method, c.path, TestServer::Bearer(c.jwt), c.body);
    EXPECT_PROBLEM(r, 400, "invalid_request");
    CHECK(r.Object().at("detail").as_string().find("\"x\"") != json::string::npos);
  }
  CHECK(h.HeadSeq() == head);
  CHECK(Str(h.Get("/v1/tokens/" + id, jwt).Object(), "status") == "active");
  // Without a valid JWT the answer is still 401 first.
  EXPECT_PROBLEM(h.Send("POST", "/v1/tokens/" + id + "/revoke?x=1"), 401, "unauthenticated");
  Resp plain = h.Send("POST", calls.back().path, TestServer::Bearer(jwt), "");
  CHECK(plain.status == 200);
  CHECK(h.HeadSeq() == head + 1);
}

// ---------------------------------------------------------------- OData check

TEST_CASE("http: OData check allows a valid token on any method, sub-path and query",
          "[http][check]") {
  TestServer h;
  auto t = h.Mint(h.Jwt(kAlice), "Power BI");
  std::string value = Value(t);
  struct Probe {
    std::string method, path;
  };
  for (const auto& p : std::vector<Probe>{
           {"GET", "/v1/auth/check"},
           {"GET", "/v1/auth/check/"},
           {"GET", "/v1/auth/check/$metadata"},
           {"GET", "/v1/auth/check/odata/Orders?$skiptoken=abc&$top=10"},
           {"GET", "/v1/auth/check?foo=bar"},
           {"POST", "/v1/auth/check"},
           {"POST", "/v1/auth/check/$batch"},
           {"HEAD", "/v1/auth/check"},
           {"HEAD", "/v1/auth/check/$metadata"},
           {"PUT", "/v1/auth/check/x"},
           {"DELETE", "/v1/auth/check/x"},
           {"OPTIONS", "/v1/auth/check"},
       }) {
    INFO(p.method << " " << p.path);
    Resp r = h.Check(kAlice, value, {{"User-Agent", "Microsoft.Data.Mashup"}}, p.path, p.method);
    INFO(r.Text());
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    CHECK(r.HeaderCount("X-Auth-User") == 1);
    CHECK(r.Header("X-Auth-User") == kAlice);
    CHECK(r.HeaderCount("X-Auth-Tenant") == 1);
    CHECK(r.Header("X-Auth-Tenant") == "acme");
    CHECK(r.HeaderCount("X-Auth-Token-Id") == 1);
    CHECK(r.Header("X-Auth-Token-Id") == Id(t));
    CHECK(r.Header("Cache-Control") == "no-store");
    CHECK(!r.Has("WWW-Authenticate"));
  }
  // A POST body to the check is ignored, whatever its type.
  {
    httplib::Headers hd{{"Authorization", BasicHeader(kAlice, value)}};
    Resp r = h.Send("POST", "/v1/auth/check/$batch", hd, "--batch_1\r\n", "multipart/mixed");
    CHECK(r.status == 200);
  }
  // Usernames compare case-insensitively; the answer names the stored form.
  Resp upper = h.Check("ALICE@Acme.Example", value);
  CHECK(upper.status == 200);
  CHECK(upper.Header("X-Auth-User") == kAlice);
  // The scheme is case-insensitive; the right tenant may be required.
  {
    Resp r = h.Send("GET", "/v1/auth/check",
                    {{"Authorization", "basic " + Base64(kAlice + ":" + value)}});
    CHECK(r.status == 200);
  }
  CHECK(h.Check(kAlice, value, {{"X-Auth-Require-Tenant", "acme"}}).status == 200);
  // Header names are case-insensitive.
  CHECK(h.Send("GET", "/v1/auth/check",
               {{"authorization", BasicHeader(kAlice, value)}, {"x-auth-require-tenant", "acme"}})
            .status == 200);
  EXPECT_PROBLEM(h.Send("GET", "/v1/auth/check",
                        {{"AUTHORIZATION", BasicHeader(kAlice, value)},
                         {"x-AUTH-require-TENANT", "other"}}),
                 401, "unauthenticated");
  // A required tenant repeated with different values matches no tenant,
  // whichever comes first (a gateway that appends it fails closed); repeated
  // with the same value it is that tenant.
  EXPECT_PROBLEM(h.Check(kAlice, value,
                         {{"X-Auth-Require-Tenant", "acme"}, {"x-auth-require-tenant", "other"}}),
                 401, "unauthenticated");
  EXPECT_PROBLEM(h.Check(kAlice, value,
                         {{"x-auth-require-tenant", "other"}, {"X-Auth-Require-Tenant", "acme"}}),
                 401, "unauthenticated");
  CHECK(h.Check(kAlice, value,
                {{"X-Auth-Require-Tenant", "acme"}, {"x-auth-require-tenant", "acme"}})
            .status == 200);
  // Authorization twice, whatever the other one holds and in either order,
  // is refused: a proxy and this server might each read a different one.
  for (const std::string& other : {std::string("Basic Zm9vOmJhcg=="), BasicHeader(kAlice, value)}) {
    EXPECT_PROBLEM(h.Send("GET", "/v1/auth/check",
                          {{"Authorization", BasicHeader(kAlice, value)}, {"authorization", other}}),
                   401, "unauthenticated");
    EXPECT_PROBLEM(h.Send("GET", "/v1/auth/check",
                          {{"authorization", other}, {"Authorization", BasicHeader(kAlice, value)}}),
                   401, "unauthenticated");
  }
  CHECK(h.Check(kAlice, value).status == 200);
  // A Range field is ignored, well-formed or not (tokenlog serves no
  // ranges; nginx's auth_request passes a client's Range on to the check):
  // the check decides on the credentials alone, and a JSON answer is whole.
  for (const char* range : {"bytes=x", "bytes=0-1", "bytes=5-2", "bytes=0-1,4-5", "items=1-2"}) {
    INFO(range);
    Resp check = h.Check(kAlice, value, {{"Range", range}});
    CHECK(check.status == 200);
    CHECK(check.Header("X-Auth-User") == kAlice);
    httplib::Headers list_headers = TestServer::Bearer(h.Jwt(kAlice));
    list_headers.emplace("range", range);
    Resp list = h.Send("GET", "/v1/tokens", list_headers);
    CHECK(list.status == 200);
    CHECK(!list.Has("Content-Range"));
    CHECK(list.Object().contains("tokens"));
  }
  // The same on the management API.
  {
    httplib::Headers twice = TestServer::Bearer(h.Jwt(kAlice));
    twice.emplace("authorization", "Bearer not-a-jwt");
    EXPECT_PROBLEM(h.Send("GET", "/v1/tokens", twice), 401, "unauthenticated");
    httplib::Headers same = TestServer::Bearer(h.Jwt(kAlice));
    same.emplace("Authorization", same.begin()->second);
    EXPECT_PROBLEM(h.Send("GET", "/v1/tokens", same), 401, "unauthenticated");
    CHECK(h.Get("/v1/tokens", h.Jwt(kAlice)).status == 200);
  }
  // No positive caching: a revocation takes effect on the next check.
  REQUIRE(h.Revoke(h.Jwt(kAlice), Id(t)).status == 200);
  EXPECT_PROBLEM(h.Check(kAlice, value), 401, "unauthenticated");
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: OData check denials are identical 401s whatever the reason",
          "[http][check]") {
  ServerOptions options;
  options.service.auth_failure_limit = 0;  // the failed-check limit is tested on its own
  TestServer h(options);
  std::string alice = h.Jwt(kAlice);
  auto good = h.Mint(alice, "good");
  auto revoked = h.Mint(alice, "revoked");
  auto expiring = h.Mint(alice, "expiring", "1");
  auto dave_token = h.Mint(h.Jwt("dave@acme.example"), "dave's");
  REQUIRE(h.Revoke(alice, Id(revoked)).status == 200);
  REQUIRE(h.Post("/v1/admin/users/dave@acme.example/deactivate", h.AdminJwt()).status == 200);
  h.clock.Advance(kDayMillis);  // `expiring` is now expired
  std::string value = Value(good);
  std::string flipped = value;
  flipped[20] = flipped[20] == 'x' ? 'y' : 'x';
  CryptoRandom random;
  auto unknown = GenerateTokenValue(random);
  REQUIRE(unknown.ok());

  struct Denial {
    std::string what;
    httplib::Headers headers;
  };
  auto basic = [](const std::string& user, const std::string& v) {
    return httplib::Headers{{"Authorization", BasicHeader(user, v)}};
  };
  std::vector<Denial> denials = {
      {"no header", {}},
      {"bearer", {{"Authorization", "Bearer " + alice}}},
      {"bearer PAT", {{"Authorization", "Bearer " + value}}},
      {"bad base64", {{"Authorization", "Basic !!!not-base64!!!"}}},
      {"unpadded base64", {{"Authorization", "Basic " + Base64Url(kAlice + ":" + value)}}},
      {"no colon", {{"Authorization", "Basic " + Base64(kAlice + value)}}},
      {"empty", {{"Authorization", "Basic "}}},
      {"bad checksum", basic(kAlice, flipped)},
      {"truncated", basic(kAlice, value.substr(0, 39))},
      {"unknown", basic(kAlice, *unknown)},
      {"revoked", basic(kAlice, Value(revoked))},
      {"expired", basic(kAlice, Value(expiring))},
      {"wrong user", basic(kBob, value)},
      {"empty user", basic("", value)},
      {"user with prefix", basic("xalice@acme.example", value)},
      {"deactivated", basic("dave@acme.example", Value(dave_token))},
      {"value and user swapped", basic(value, kAlice)},
  };
  {
    auto hd = basic(kAlice, value);
    hd.emplace("X-Auth-Require-Tenant", "other");
    denials.push_back({"other tenant required", hd});
  }
  std::string first_body;
  for (const auto& d : denials) {
    for (const std::string& path : std::vector<std::string>{"/v1/auth/check", "/v1/auth/check/$metadata"}) {
      INFO(d.what << " on " << path);
      Resp r = h.Send("GET", path, d.headers);
      EXPECT_PROBLEM(r, 401, "unauthenticated");
      CHECK(r.Header("WWW-Authenticate") == "Basic realm=\"tokenlog\", charset=\"UTF-8\"");
      CHECK(r.Header("Cache-Control") == "no-store");
      CHECK(!r.Has("X-Auth-User"));
      CHECK(!r.Has("X-Auth-Tenant"));
      CHECK(!r.Has("X-Auth-Token-Id"));
      if (first_body.empty()) first_body = r.body;
      CHECK(r.body == first_body);  // no hint of which check failed
      CHECK(r.body.find(value) == std::string::npos);
      CHECK(r.body.find("tlp_") == std::string::npos);
    }
  }
  // HEAD denials are 401 too.
  Resp head_denied = h.Send("HEAD", "/v1/auth/check", basic(kAlice, *unknown));
  CHECK(head_denied.status == 401);
  CHECK(head_denied.Header("WWW-Authenticate") == "Basic realm=\"tokenlog\", charset=\"UTF-8\"");

  // The valid token still passes.
  CHECK(h.Check(kAlice, value).status == 200);
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: the Basic realm is configurable", "[http][check]") {
  ServerOptions options;
  options.service.realm = "Contoso feeds";
  TestServer h(options);
  Resp r = h.Send("GET", "/v1/auth/check");
  EXPECT_PROBLEM(r, 401, "unauthenticated");
  CHECK(r.Header("WWW-Authenticate") == "Basic realm=\"Contoso feeds\", charset=\"UTF-8\"");
}

// ---------------------------------------------------------------- JWT refusals

TEST_CASE("http: the management API refuses anything but a valid bearer JWT",
          "[http][jwt]") {
  TestServer h;
  std::string alice = h.Jwt(kAlice);
  auto t = h.Mint(alice, "pat");
  std::string pat = Value(t);
  int64_t now = h.NowSeconds();
  auto claims = [&](const std::string& extra_and_exp) {
    return h.SignedJwt("{" + extra_and_exp + "}");
  };
  std::string exp = "\"exp\":" + std::to_string(now + 600);
  std::string base = R"("sub":"alice@acme.example","tenant":"acme",)";
  std::string header_none = Base64Url(R"({"alg":"none","typ":"JWT"})");
  std::string payload = Base64Url("{" + base + exp + "}");
  std::string other_secret_jwt =
      api::SignJwtHs256("{" + base + exp + "}", "some-other-secret-0123456789abcdef");
  std::string tampered = alice;
  {
    // Change the payload, keep the signature.
    size_t a = tampered.find('.');
    size_t b = tampered.find('.', a + 1);
    tampered = tampered.substr(0, a + 1) +
               Base64Url(R"({"sub":"alice@acme.example","tenant":"acme","role":"admin","exp":)" +
                         std::to_string(now + 600) + "}") +
               tampered.substr(b);
  }

  struct Refusal {
    std::string what;
    httplib::Headers headers;
  };
  auto bearer = [](const std::string& j) { return TestServer::Bearer(j); };
  std::vector<Refusal> refusals = {
      {"no header", {}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"garbage", bearer("not.a.jwt")},
      {"bad signature", bearer(other_secret_jwt)},
      {"tampered payload", bearer(tampered)},
      {"alg none", bearer(header_none + "." + payload + ".")},
      {"alg none with signature", bearer(header_none + "." + payload + "." +
                                         alice.substr(alice.rfind('.') + 1))},
      {"expired beyond leeway", bearer(claims(base + "\"exp\":" + std::to_string(now - 61)))},
      {"expired long ago", bearer(claims(base + "\"exp\":" + std::to_string(now - 86400)))},
      {"not yet valid", bearer(claims(base + exp + ",\"nbf\":" + std::to_string(now + 3600)))},
      {"missing sub", bearer(claims(R"("tenant":"acme",)" + exp))},
      {"missing tenant", bearer(claims(R"("sub":"alice@acme.example",)" + exp))},
      {"missing exp", bearer(claims(R"("sub":"alice@acme.example","tenant":"acme")"))},
      {"role root", bearer(claims(base + R"("role":"root",)" + exp))},
      {"role Admin", bearer(claims(base + R"("role":"Admin",)" + exp))},
      {"bad sub", bearer(claims(R"("sub":"alice:x","tenant":"acme",)" + exp))},
      {"bad tenant", bearer(claims(R"("sub":"alice@acme.example","tenant":"ACME",)" + exp))},
      {"string exp", bearer(claims(base + "\"exp\":\"" + std::to_string(now + 600) + "\""))},
      {"PAT as bearer", bearer(pat)},
      {"Basic with PAT", {{"Authorization", BasicHeader(kAlice, pat)}}},
      {"Basic with JWT", {{"Authorization", BasicHeader(kAlice, alice)}}},
      {"token scheme", {{"Authorization", "token " + alice}}},
  };
  uint64_t head = h.HeadSeq();
  for (const auto& r : refusals) {
    INFO(r.what);
    Resp get = h.Send("GET", "/v1/tokens", r.headers);
    EXPECT_PROBLEM(get, 401, "unauthenticated");
    Resp mint = h.Send("POST", "/v1/tokens", r.headers, R"({"label":"x"})");
    EXPECT_PROBLEM(mint, 401, "unauthenticated");
    Resp admin = h.Send("GET", "/v1/admin/policy", r.headers);
    EXPECT_PROBLEM(admin, 401, "unauthenticated");
    // No error echoes the Authorization header or a token value.
    for (const Resp* x : {&get, &mint, &admin}) {
      for (const auto& [k, v] : r.headers) {
        std::string cred = v.substr(v.find(' ') + 1);
        if (cred.size() > 8) CHECK(x->Text().find(cred) == std::string::npos);
      }
      CHECK(x->Text().find(pat) == std::string::npos);
    }
  }
  CHECK(h.HeadSeq() == head);

  // Within the 60 s leeway an expired JWT still works; exp far ahead too.
  CHECK(h.Send("GET", "/v1/tokens", bearer(claims(base + "\"exp\":" + std::to_string(now - 30))))
            .status == 200);
  CHECK(h.Send("GET", "/v1/tokens", bearer(claims(base + exp + R"(,"kid":"x","jku":"http://x")")))
            .status == 200);
  CHECK(h.Get("/v1/tokens", alice).status == 200);
  // The clock moves: a JWT expires.
  std::string hour = h.Jwt(kAlice, "acme", "user", 3600);
  CHECK(h.Get("/v1/tokens", hour).status == 200);
  h.clock.Advance((3600 + 60) * 1000);
  CHECK(h.Get("/v1/tokens", hour).status == 200);  // leeway
  h.clock.Advance(1000);
  EXPECT_PROBLEM(h.Get("/v1/tokens", hour), 401, "unauthenticated");
  h.ExpectNoValueLeaks();
}

namespace {

struct RsaKey {
  EVP_PKEY* key = nullptr;
  std::string public_pem;
  RsaKey() {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    REQUIRE(key != nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(bio, key) == 1);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    public_pem.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
  }
  ~RsaKey() { EVP_PKEY_free(key); }
  std::string Sign(const std::string& header_json, const std::string& payload_json) const {
    std::string input = Base64Url(header_json) + "." + Base64Url(payload_json);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
    size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    REQUIRE(EVP_DigestSign(ctx, nullptr, &len, data, input.size()) == 1);
    std::string sig(len, '\0');
    REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                           input.size()) == 1);
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return input + "." + Base64Url(sig);
  }
};

}  // namespace

TEST_CASE("http: an RS256-only server accepts RS256 JWTs and refuses HS256 keyed with its "
          "public key",
          "[http][jwt]") {
  RsaKey rsa;
  ServerOptions options;
  options.hs256_secret.reset();
  options.rs256_public_key_pem = rsa.public_pem;
  TestServer h(options);
  std::string claims = R"({"sub":"alice@acme.example","tenant":"acme","exp":)" +
                       std::to_string(h.NowSeconds() + 600) + "}";

  std::string good = rsa.Sign(R"({"alg":"RS256","typ":"JWT"})", claims);
  Resp ok = h.Get("/v1/tokens", good);
  CHECK(ok.status == 200);
  Resp minted = h.MintRaw(good, R"({"label":"rs256"})");
  CHECK(minted.status == 201);

  uint64_t head = h.HeadSeq();
  // Algorithm confusion: HMAC keyed with the PEM text (and variants of it).
  for (const std::string& key : {rsa.public_pem,
                                 rsa.public_pem.substr(0, rsa.public_pem.size() - 1)}) {
    std::string forged = api::SignJwtHs256(claims, key);
    EXPECT_PROBLEM(h.Get("/v1/tokens", forged), 401, "unauthenticated");
    EXPECT_PROBLEM(h.MintRaw(forged, R"({"label":"forged"})"), 401, "unauthenticated");
  }
  // An HS256 JWT with the test secret: no HS256 key configured.
  EXPECT_PROBLEM(h.Get("/v1/tokens", h.Jwt(kAlice)), 401, "unauthenticated");
  // RS256 with another key pair; RS256 with alg none.
  RsaKey other;
  EXPECT_PROBLEM(h.Get("/v1/tokens", other.Sign(R"({"alg":"RS256","typ":"JWT"})", claims)), 401,
                 "unauthenticated");
  // A good signature under a header claiming another algorithm.
  EXPECT_PROBLEM(h.Get("/v1/tokens", rsa.Sign(R"({"alg":"RS512","typ":"JWT"})", claims)), 401,
                 "unauthenticated");
  EXPECT_PROBLEM(h.Get("/v1/tokens", rsa.Sign(R"({"alg":"none","typ":"JWT"})", claims)), 401,
                 "unauthenticated");
  // An embedded key is ignored.
  EXPECT_PROBLEM(
      h.Get("/v1/tokens", other.Sign(R"({"alg":"RS256","jwk":{"kty":"RSA","n":"x","e":"AQAB"}})",
                                     claims)),
      401, "unauthenticated");
  CHECK(h.HeadSeq() == head);
}

// ---------------------------------------------------------------- operations

TEST_CASE("http: healthz, readyz and metrics with every family", "[http][ops]") {
  TestServer h;
  Resp health = h.Send("GET", "/healthz");
  CHECK(health.status == 200);
  Resp ready = h.Send("GET", "/readyz");
  CHECK(ready.status == 200);

  Resp m = h.Send("GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.Header("Content-Type").rfind("text/plain", 0) == 0);
  for (const std::string family :
       {"tokenlog_auth_checks_total", "tokenlog_auth_denied_total",
        "tokenlog_events_appended_total", "tokenlog_http_requests_total",
        "tokenlog_http_request_duration_seconds", "tokenlog_active_tokens",
        "tokenlog_log_head_seq"}) {
    INFO(family);
    CHECK(m.body.find("# TYPE " + family + " ") != std::string::npos);
  }
  CHECK(m.body.find("# TYPE tokenlog_http_request_duration_seconds histogram") !=
        std::string::npos);
  CHECK(MetricValue(m.body, "tokenlog_log_head_seq") == 0);
  CHECK(MetricValue(m.body, "tokenlog_active_tokens") == 0);

  // The gauges follow the log.
  std::string jwt = h.Jwt(kAlice);
  auto t = h.Mint(jwt, "a");
  h.Mint(jwt, "b");
  REQUIRE(h.Revoke(jwt, Id(t)).status == 200);
  CHECK(h.Check(kAlice, Value(t)).status == 401);
  Resp m2 = h.Send("GET", "/metrics");
  CHECK(MetricValue(m2.body, "tokenlog_log_head_seq") == 3);
  CHECK(MetricValue(m2.body, "tokenlog_active_tokens") == 1);
  CHECK(m2.body.find("tokenlog_auth_checks_total{result=\"denied\"} 1") != std::string::npos);
  CHECK(m2.body.find("tokenlog_http_requests_total{") != std::string::npos);
  h.ExpectNoValueLeaks();
}

// ---------------------------------------------------------------- raw sockets

TEST_CASE("http: raw socket: a chunked request is answered 411 once and the connection closed",
          "[http][raw]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string chunk_body = R"({"label":"x"})";
  char size_hex[16];
  std::snprintf(size_hex, sizeof(size_hex), "%zx", smuggled.size());
  std::string request = "POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                        jwt +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n" +
                        "0\r\n\r\n" + smuggled;
  uint64_t head = h.HeadSeq();
  RawResult r = RawExchange(h.port, request);
  INFO(r.data);
  CHECK(CountResponses(r.data) == 1);
  CHECK(r.data.rfind("HTTP/1.1 411", 0) == 0);
  CHECK(r.data.find("application/problem+json") != std::string::npos);
  CHECK(r.data.find("length_required") != std::string::npos);
  CHECK(r.closed);

  // Smuggling inside a chunk, and TE with a Content-Length too.
  std::string request2 = "POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                         jwt + "\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(chunk_body.size()) +
                         "\r\nTransfer-Encoding: chunked\r\n\r\n" + size_hex + "\r\n" + smuggled +
                         "\r\n0\r\n\r\n" + smuggled;
  RawResult r2 = RawExchange(h.port, request2);
  INFO(r2.data);
  CHECK(CountResponses(r2.data) == 1);
  CHECK(r2.data.rfind("HTTP/1.1 411", 0) == 0);
  CHECK(r2.closed);
  CHECK(h.HeadSeq() == head);
}

TEST_CASE("http: raw socket: a Range field is ignored in pipelined requests too", "[http][raw]") {
  TestServer h;
  const std::string value = Value(h.Mint(h.Jwt(kAlice), "Power BI"));
  const std::string basic = "Authorization: " + BasicHeader(kAlice, value) + "\r\n";
  // Three requests in one write: a check with a body before the next head
  // (so that head starts inside the buffer), a malformed Range as its first
  // header line, and one in lower case last.
  const std::string requests =
      "POST /v1/auth/check HTTP/1.1\r\nHost: x\r\n" + basic + "Content-Length: 5\r\n\r\nhello" +
      "GET /v1/auth/check HTTP/1.1\r\nRange: bytes=x\r\nHost: x\r\n" + basic + "\r\n" +
      "GET /v1/auth/check HTTP/1.1\r\nHost: x\r\n" + basic + "range:bytes=5-2\r\n" +
      "Connection: close\r\n\r\n";
  RawResult r = RawExchange(h.port, requests);
  INFO(r.data);
  CHECK(CountResponses(r.data) == 3);
  size_t ok = 0;
  for (size_t at = r.data.find("HTTP/1.1 200 OK\r\n"); at != std::string::npos;
       at = r.data.find("HTTP/1.1 200 OK\r\n", at + 1)) {
    ++ok;
  }
  CHECK(ok == 3);
  CHECK(r.data.find("HTTP/1.1 4") == std::string::npos);
}

TEST_CASE("http: raw socket: an oversized Content-Length is answered 413 and closed",
          "[http][raw]") {
  TestServer h;
  std::string jwt = h.Jwt(kAlice);
  std::string request = "POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                        jwt +
                        "\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
                        "{\"label\":\"" +
                        std::string(1000, 'a') + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  uint64_t head = h.HeadSeq();
  RawResult r = RawExchange(h.port, request);
  INFO(r.data);
  CHECK(CountResponses(r.data) == 1);
  CHECK(r.data.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(r.data.find("payload_too_large") != std::string::npos);
  CHECK(r.closed);
  CHECK(h.HeadSeq() == head);
  // One byte over the limit is refused; the limit itself is not.
  std::string over = "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 65537\r\n\r\n";
  RawResult r2 = RawExchange(h.port, over);
  CHECK(r2.data.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(r2.closed);
}

namespace {

// `r` is one problem answer with `status` and `code` (in the status line and
// the body alike), saying Connection: close and nothing of keep-alive, after
// which the server closed.
void ExpectRefusedAndClosed(const RawResult& r, int status, const std::string& code) {
  INFO(r.data);
  CHECK(CountResponses(r.data) == 1);
  CHECK(r.data.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0);
  CHECK(r.data.find("\"status\":" + std::to_string(status)) != std::string::npos);
  CHECK(r.data.find("\"type\":\"" + code + "\"") != std::string::npos);
  CHECK(r.data.find("application/problem+json") != std::string::npos);
  const std::string head = r.data.substr(0, r.data.find("\r\n\r\n"));
  CHECK(head.find("Connection: close") != std::string::npos);
  CHECK(head.find("Keep-Alive") == std::string::npos);
  CHECK(r.closed);
}

}  // namespace

TEST_CASE("http: raw socket: too many header fields or bytes are answered 431 and closed",
          "[http][raw]") {
  TestServer h;
  std::string many = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 200; ++i) many += "X-Field-" + std::to_string(i) + ": v\r\n";
  many += "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ExpectRefusedAndClosed(RawExchange(h.port, many), 431, "headers_too_large");

  std::string big = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                    std::string(20000, 'b') + "\r\n\r\n";
  ExpectRefusedAndClosed(RawExchange(h.port, big), 431, "headers_too_large");

  // One header line over 8 KiB in a head under the byte limit (the rest of
  // the head is not taken for more requests).
  std::string long_line = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                          std::string(8200, 'b') + "\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
  ExpectRefusedAndClosed(RawExchange(h.port, long_line), 431, "headers_too_large");
  // Two fields of 6000 bytes are within both limits.
  std::string two_fields = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " + std::string(6000, 'a') +
                           "\r\nX-B: " + std::string(6000, 'b') +
                           "\r\nConnection: close\r\n\r\n";
  RawResult fields = RawExchange(h.port, two_fields);
  CHECK(fields.data.rfind("HTTP/1.1 200", 0) == 0);

  // A request line over 8 KiB: 400 (414 is not in the contract's table).
  std::string long_target = "GET /v1/tokens?" + std::string(9000, 'q') +
                            " HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ExpectRefusedAndClosed(RawExchange(h.port, long_target), 400, "invalid_request");
  // ... also in a head over the byte limit: decided before the rest arrives.
  ExpectRefusedAndClosed(
      RawExchange(h.port, "GET /v1/tokens?" + std::string(17000, 'q') + " HTTP/1.1\r\n"), 400,
      "invalid_request");

  // A head httplib cannot parse: one 400, whatever follows it.
  ExpectRefusedAndClosed(
      RawExchange(h.port, "GARBAGE\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"), 400,
      "invalid_request");

  // Lines that end in a bare LF: httplib would not see the head end there
  // and read on past every limit. Refused at once.
  std::string bare = "GET /healthz HTTP/1.1\r\nHost: x\n\n";
  for (int i = 0; i < 2000; ++i) bare += "X-Field-" + std::to_string(i) + ": v\r\n";
  bare += "Connection: close\r\n\r\n";
  RawResult bare_lf = RawExchange(h.port, bare);
  ExpectRefusedAndClosed(bare_lf, 400, "invalid_request");
  CHECK(bare_lf.data.find("CRLF") != std::string::npos);
  // ... however long the line after it would be (the answer comes before
  // the client has sent it all; the rest is drained, bounded, or reset).
  RawResult endless = RawExchange(h.port, "GET /healthz HTTP/1.1\r\nHost: x\n\nX-Big: " +
                                              std::string(900 << 10, 'b'));
  CHECK(endless.data.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(CountResponses(endless.data) == 1);

  // Within the limits, keep-alive works: two pipelined requests, two answers.
  std::string two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  RawResult r3 = RawExchange(h.port, two);
  INFO(r3.data);
  CHECK(CountResponses(r3.data) == 2);
  CHECK(r3.closed);
}

// ---------------------------------------------------------------- usage

TEST_CASE("http: checks show in last_used_at at once and are logged as token.used and "
          "auth.denied off the check's path",
          "[http][usage]") {
  TestServer h;
  std::string alice = h.Jwt(kAlice);
  auto t = h.Mint(alice, "used");
  auto r = h.Mint(alice, "revoked");
  REQUIRE(h.Revoke(alice, Id(r)).status == 200);
  const std::string agent = "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)";
  h.clock.Advance(1000);
  uint64_t head = h.HeadSeq();

  REQUIRE(h.Check(kAlice, Value(t), {{"User-Agent", agent}}).status == 200);
  CHECK(Str(h.Get("/v1/tokens/" + Id(t), alice).Object(), "last_used_at") ==
        At(kTestNow + 1000));
  CHECK(h.HeadSeq() == head);  // nothing is written on the check's path
  REQUIRE(h.FlushUsage().ok());
  CHECK(h.HeadSeq() == head + 1);  // the first use is logged at the first flush

  // Within the usage interval further uses are only counted.
  h.clock.Advance(1000);
  REQUIRE(h.Check(kAlice, Value(t)).status == 200);
  REQUIRE(h.FlushUsage().ok());
  CHECK(h.HeadSeq() == head + 1);
  CHECK(Str(h.Get("/v1/tokens/" + Id(t), alice).Object(), "last_used_at") ==
        At(kTestNow + 2000));

  // Denials of a stored token are logged; of an unknown value, not.
  CryptoRandom random;
  auto unknown = GenerateTokenValue(random);
  REQUIRE(unknown.ok());
  REQUIRE(h.Check(kAlice, Value(r), {{"User-Agent", agent}}).status == 401);
  REQUIRE(h.Check(kAlice, Value(r)).status == 401);
  REQUIRE(h.Check(kAlice, *unknown).status == 401);
  REQUIRE(h.FlushUsage().ok());
  CHECK(h.HeadSeq() == head + 2);

  auto used = h.Get("/v1/activity?type=token.used", alice);
  REQUIRE(used.status == 200);
  auto used_events = used.Object().at("events").as_array();
  REQUIRE(used_events.size() == 1);
  auto u = used_events[0].as_object();
  INFO(json::serialize(u));
  CHECK(Str(u, "type") == "token.used");
  CHECK(Str(u, "token_id") == Id(t));
  CHECK(Str(u, "user") == kAlice);
  CHECK(Str(u.at("actor").as_object(), "role") == "system");
  CHECK(u.at("actor").as_object().at("user").is_null());
  auto ud = u.at("data").as_object();
  CHECK(ud.at("count").as_int64() == 1);
  CHECK(Str(ud, "ip") == "127.0.0.1");
  CHECK(Str(ud, "user_agent") == agent);
  CHECK(Str(ud, "first_at") == At(kTestNow + 1000));
  CHECK(Str(ud, "last_at") == At(kTestNow + 1000));

  auto denied = h.Get("/v1/activity?type=auth.denied", alice);
  REQUIRE(denied.status == 200);
  auto denied_events = denied.Object().at("events").as_array();
  REQUIRE(denied_events.size() == 1);
  auto d = denied_events[0].as_object();
  INFO(json::serialize(d));
  CHECK(Str(d, "token_id") == Id(r));
  CHECK(Str(d.at("actor").as_object(), "role") == "basic");
  CHECK(d.at("actor").as_object().at("user").is_null());
  auto dd = d.at("data").as_object();
  CHECK(Str(dd, "reason") == "revoked");
  CHECK(Str(dd, "claimed_user") == kAlice);
  CHECK(dd.at("count").as_int64() == 2);

  // After the interval the counted uses are logged.
  h.clock.Advance(10 * 60 * 1000);
  REQUIRE(h.FlushUsage().ok());
  CHECK(h.HeadSeq() == head + 3);
  auto used2 = h.Get("/v1/activity?type=token.used", alice).Object().at("events").as_array();
  REQUIRE(used2.size() == 2);
  auto latest = used2[0].as_object().at("data").as_object();  // newest first
  CHECK(latest.at("count").as_int64() == 1);
  CHECK(Str(latest, "last_at") == At(kTestNow + 2000));
  // No event carries the value.
  h.ExpectNoValueLeaks();
}

TEST_CASE("http: every API answer is no-store and nosniff, once", "[http][headers]") {
  TestServer h;
  const std::string alice = h.Jwt(kAlice);
  const std::string admin = h.AdminJwt();
  auto t = h.Mint(alice);
  for (const Resp& r : {h.Get("/v1/tokens", alice), h.Get("/v1/tokens/" + Id(t), alice),
                        h.Get("/v1/activity", alice), h.Get("/v1/admin/activity", admin),
                        h.Get("/v1/admin/tokens", admin), h.Get("/v1/admin/policy", admin),
                        h.Get("/v1/tokens/tok_0000000000000000", alice),
                        h.Send("GET", "/v1/tokens"), h.Send("GET", "/no/such/route"),
                        h.Send("GET", "/healthz"), h.Send("GET", "/metrics"),
                        h.Check(kAlice, Str(t, "token")), h.Check(kAlice, "tlp_wrong")}) {
    INFO(r.status << " " << r.Text());
    CHECK(r.HeaderCount("Cache-Control") == 1);
    CHECK(r.Header("Cache-Control") == "no-store");
    CHECK(r.HeaderCount("X-Content-Type-Options") == 1);
    CHECK(r.Header("X-Content-Type-Options") == "nosniff");
  }
  // The web page's script keeps its own caching (revalidated, not stored never).
  Resp js = h.Send("GET", "/app.js");
  CHECK(js.Header("Cache-Control") == "no-cache");
  CHECK(js.HeaderCount("X-Content-Type-Options") == 1);
  h.ExpectNoValueLeaks();
}
