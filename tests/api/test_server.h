// TestServer: the whole HTTP service in-process, for the HTTP tests.
//
// A fresh RocksDB store in a TempDir, a FakeClock (time only moves when a test
// advances it; token status is computed against it), CryptoRandom, the real
// projector, JWT verifier, Service and HttpServer bound to 127.0.0.1 on a free
// port and serving on its own thread. The destructor stops and joins.
//
// Every response a test receives goes through Send(), which keeps a
// transcript, so ExpectNoValueLeaks() can check that no token value ever
// appears in any response except the mint/rotate answer that created it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "api/jwt.h"
#include "api/metrics.h"
#include "api/service.h"
#include "core/clock.h"
#include "core/random.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"
#include "tests/temp_dir.h"

namespace tokenlog::testing {

inline constexpr int64_t kTestNow = 1'795'910'400'000;  // 2026-11-29T00:00:00.000Z
inline const std::string kTestSecret = "http-test-hs256-secret-0123456789abcdef";
inline constexpr int64_t kDayMillis = 86'400'000;

// Standard base64 with padding through OpenSSL, independent of core/base64.
inline std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Unpadded base64url (JWS).
inline std::string Base64Url(std::string_view bytes) {
  std::string out = Base64(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

inline std::string BasicHeader(std::string_view user, std::string_view value) {
  return "Basic " + Base64(std::string(user) + ":" + std::string(value));
}

// One HTTP response, copied out of httplib's Result.
struct Resp {
  int status = 0;
  httplib::Headers headers;
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);  // httplib's Headers compare case-insensitively
    return it == headers.end() ? std::string() : it->second;
  }
  size_t HeaderCount(const std::string& name) const { return headers.count(name); }
  bool Has(const std::string& name) const { return headers.count(name) > 0; }
  boost::json::value Json() const {
    boost::json::error_code ec;
    auto v = boost::json::parse(body, ec);
    INFO("body: " << body);
    REQUIRE(!ec);
    return v;
  }
  boost::json::object Object() const {
    auto v = Json();
    INFO("body: " << body);
    REQUIRE(v.is_object());
    return v.as_object();
  }
  // The problem `type` of an error body.
  std::string Type() const {
    auto o = Object();
    auto it = o.find("type");
    if (it == o.end() || !it->value().is_string()) return "<no type>";
    return std::string(it->value().as_string());
  }
  std::string Text() const {
    std::string out = std::to_string(status) + "\n";
    for (const auto& [k, v] : headers) out += k + ": " + v + "\n";
    return out + "\n" + body;
  }
};

// Asserts an error response: status, problem content type, `type`, and the
// problem members.
#define EXPECT_PROBLEM(resp, code, type_name)                                      \
  do {                                                                             \
    const ::tokenlog::testing::Resp& r_ = (resp);                                  \
    INFO("response: " << r_.Text());                                               \
    CHECK(r_.status == (code));                                                    \
    CHECK(r_.Header("Content-Type") == "application/problem+json");                \
    CHECK(r_.Type() == (type_name));                                               \
    auto o_ = r_.Object();                                                         \
    CHECK(o_.contains("title"));                                                   \
    CHECK(o_.contains("detail"));                                                  \
    CHECK((o_.contains("status") && o_.at("status").is_int64() &&                  \
           o_.at("status").as_int64() == (code)));                                 \
  } while (0)

inline std::string Str(const boost::json::value& v) {
  REQUIRE(v.is_string());
  return std::string(v.as_string());
}
inline std::string Str(const boost::json::object& o, const char* key) {
  INFO("member " << key << " of " << boost::json::serialize(o));
  REQUIRE(o.contains(key));
  return Str(o.at(key));
}

struct ServerOptions {
  std::optional<std::string> hs256_secret = kTestSecret;
  std::optional<std::string> rs256_public_key_pem;
  api::ServiceConfig service;
  api::HttpLimits limits = [] {
    api::HttpLimits l;
    l.threads = 48;
    return l;
  }();
};

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) : options_(std::move(options)) {
    auto opened = storage::EventStore::Open(dir_.path(), storage::OpenMode::kReadWrite,
                                            projector_, clock);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    api::JwtConfig jwt;
    jwt.hs256_secret = options_.hs256_secret;
    jwt.rs256_public_key_pem = options_.rs256_public_key_pem;
    auto verifier = api::JwtVerifier::Create(jwt);
    INFO((verifier.ok() ? std::string() : verifier.status().ToString()));
    REQUIRE(verifier.ok());
    verifier_ = std::move(verifier).value();
    service_ = std::make_unique<api::Service>(*store, clock, random_, *verifier_, metrics_,
                                              options_.service);
    REQUIRE(service_->Start().ok());
    server_ = std::make_unique<api::HttpServer>(*service_, metrics_, options_.limits);
    std::string error;
    port = server_->Bind("127.0.0.1", 0, &error);
    INFO(error);
    REQUIRE(port > 0);
    thread_ = std::thread([this] {
      server_->Serve();
      serve_returned_ = true;
    });
    // stop() is a no-op until the server runs: wait for that state (no timing).
    while (!server_->is_running() && !serve_returned_) std::this_thread::yield();
    if (serve_returned_) {
      thread_.join();
      FAIL("the HTTP server stopped as soon as it started");
    }
  }

  ~TestServer() {
    server_->stop();
    thread_.join();
    // Everything that refers to the store goes first; the store closes
    // before its directory is removed.
    server_.reset();
    service_.reset();
    store->Close();
    store.reset();
  }

  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // ---- JWTs ----

  std::string SignedJwt(const std::string& payload_json) const {
    return api::SignJwtHs256(payload_json, kTestSecret);
  }
  int64_t NowSeconds() const { return clock.NowMillis() / 1000; }
  // A valid HS256 JWT for `user` in `tenant`, expiring `exp_offset` seconds
  // after the fake clock's now (by default far beyond any clock advance of
  // the tests).
  static constexpr int64_t kLongJwtSeconds = 20LL * 365 * 86400;
  std::string Jwt(const std::string& user, const std::string& tenant = "acme",
                  const std::string& role = "user", int64_t exp_offset = kLongJwtSeconds) const {
    boost::json::object claims;
    claims["sub"] = user;
    claims["tenant"] = tenant;
    claims["role"] = role;
    claims["iat"] = NowSeconds();
    claims["exp"] = NowSeconds() + exp_offset;
    return SignedJwt(boost::json::serialize(claims));
  }
  std::string AdminJwt(const std::string& user = "root@acme.example",
                       const std::string& tenant = "acme") const {
    return Jwt(user, tenant, "admin");
  }
  static httplib::Headers Bearer(const std::string& jwt) {
    return {{"Authorization", "Bearer " + jwt}};
  }

  // ---- requests ----

  // One request on a fresh connection, without Catch assertions (safe on any
  // thread): nullopt on a transport error. `body` is sent with
  // `content_type` when non-empty. `may_hold_value`: a mint or rotate, whose
  // 201 answer carries its own new value.
  std::optional<Resp> TrySend(const std::string& method, const std::string& path,
                              httplib::Headers headers = {}, const std::string& body = "",
                              const std::string& content_type = "application/json",
                              bool may_hold_value = false) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(30, 0);
    cli.set_read_timeout(60, 0);
    cli.set_write_timeout(60, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = std::move(headers);
    req.body = body;
    if (!body.empty() && !req.has_header("Content-Type")) {
      req.headers.emplace("Content-Type", content_type);
    }
    auto res = cli.send(req);
    if (!res) return std::nullopt;
    Resp out{res->status, res->headers, res->body};
    Record(out, may_hold_value);
    return out;
  }

  Resp Send(const std::string& method, const std::string& path, httplib::Headers headers = {},
            const std::string& body = "", const std::string& content_type = "application/json",
            bool may_hold_value = false) {
    auto r = TrySend(method, path, std::move(headers), body, content_type, may_hold_value);
    INFO(method << " " << path << ": transport error");
    REQUIRE(r.has_value());
    return *r;
  }
  Resp Get(const std::string& path, const std::string& jwt) {
    return Send("GET", path, Bearer(jwt));
  }
  Resp Post(const std::string& path, const std::string& jwt, const std::string& body = "") {
    return Send("POST", path, Bearer(jwt), body);
  }
  Resp Put(const std::string& path, const std::string& jwt, const std::string& body) {
    return Send("PUT", path, Bearer(jwt), body);
  }

  // POST /v1/tokens with a raw body; the 201 answer may carry the value.
  Resp MintRaw(const std::string& jwt, const std::string& body) {
    return Send("POST", "/v1/tokens", Bearer(jwt), body, "application/json", true);
  }
  // A successful mint: the token object with `token`. `expires_in_days` is
  // JSON text ("30", "null") or empty for absent.
  boost::json::object Mint(const std::string& jwt, const std::string& label = "laptop",
                           const std::string& expires_in_days = "") {
    boost::json::object body;
    body["label"] = label;
    std::string text = boost::json::serialize(body);
    if (!expires_in_days.empty()) {
      text.pop_back();
      text += ",\"expires_in_days\":" + expires_in_days + "}";
    }
    Resp r = MintRaw(jwt, text);
    INFO(r.Text());
    REQUIRE(r.status == 201);
    return r.Object();
  }
  Resp Rotate(const std::string& jwt, const std::string& id, const std::string& body = "") {
    return Send("POST", "/v1/tokens/" + id + "/rotate", Bearer(jwt), body, "application/json",
                true);
  }
  Resp Revoke(const std::string& jwt, const std::string& id) {
    return Post("/v1/tokens/" + id + "/revoke", jwt);
  }
  Resp Check(const std::string& user, const std::string& value, httplib::Headers extra = {},
             const std::string& path = "/v1/auth/check", const std::string& method = "GET") {
    extra.emplace("Authorization", BasicHeader(user, value));
    return Send(method, path, std::move(extra));
  }

  uint64_t HeadSeq() const { return store->head().seq; }

  // What the server's periodic flush does (the in-process server runs no
  // timers): appends the due token.used and auth.denied events.
  Status FlushUsage(bool everything = false) { return service_->FlushUsage(everything); }

  // No response but a value's own mint/rotate answer contains a value.
  void ExpectNoValueLeaks() {
    std::lock_guard<std::mutex> lock(mu_);
    REQUIRE(!values_.empty());
    for (const auto& [text, own] : transcript_) {
      for (const auto& v : values_) {
        if (v == own) continue;
        INFO("a token value appears in a response: " << text);
        CHECK(text.find(v) == std::string::npos);
        // Neither its random part alone.
        CHECK(text.find(v.substr(4, 30)) == std::string::npos);
      }
    }
  }

  FakeClock clock{kTestNow};
  std::unique_ptr<storage::EventStore> store;
  int port = -1;

 private:
  void Record(const Resp& r, bool may_hold_value) {
    std::string own;
    if (may_hold_value && r.status == 201) {
      boost::json::error_code ec;
      auto v = boost::json::parse(r.body, ec);
      if (!ec && v.is_object() && v.as_object().contains("token") &&
          v.as_object().at("token").is_string()) {
        own = std::string(v.as_object().at("token").as_string());
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!own.empty()) values_.push_back(own);
    transcript_.emplace_back(r.Text(), own);
  }
  ServerOptions options_;
  TempDir dir_;
  CryptoRandom random_;
  projections::TokenProjector projector_;
  std::unique_ptr<api::JwtVerifier> verifier_;
  api::Metrics metrics_;
  std::unique_ptr<api::Service> service_;
  std::unique_ptr<api::HttpServer> server_;
  std::thread thread_;
  std::atomic<bool> serve_returned_{false};
  std::mutex mu_;
  std::vector<std::string> values_;                              // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, std::string>> transcript_;  // GUARDED_BY(mu_)
};

// ---- raw sockets ----

struct RawResult {
  std::string data;         // every byte received
  bool closed = false;      // the peer closed (read returned 0) before the timeout
};

// Connects to 127.0.0.1:port, sends `bytes` in one write, then reads until
// the peer closes or nothing arrives for `idle_timeout_ms`.
// A TCP connection to 127.0.0.1:port (the caller closes it).
inline int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

inline RawResult RawExchange(int port, const std::string& bytes, int idle_timeout_ms = 5000) {
  int fd = ConnectLoopback(port);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early; what it sent is still read
    sent += static_cast<size_t>(n);
  }
  RawResult out;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, idle_timeout_ms);
    if (r <= 0) break;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) {
      out.closed = true;
      break;
    }
    if (n < 0) {
      // A reset after the answer counts as closed too.
      out.closed = errno == ECONNRESET;
      break;
    }
    out.data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// How many HTTP responses (status lines) are in raw bytes. A response may
// follow the previous body without a line break.
inline size_t CountResponses(const std::string& data) {
  size_t n = 0;
  for (size_t i = data.find("HTTP/1.1 "); i != std::string::npos;
       i = data.find("HTTP/1.1 ", i + 1)) {
    if (i + 12 <= data.size() && std::isdigit(static_cast<unsigned char>(data[i + 9])) &&
        std::isdigit(static_cast<unsigned char>(data[i + 10])) &&
        std::isdigit(static_cast<unsigned char>(data[i + 11]))) {
      ++n;
    }
  }
  return n;
}

}  // namespace tokenlog::testing
