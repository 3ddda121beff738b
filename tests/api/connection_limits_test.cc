// The connection-level defences that need their own server: exceptions never
// reach a client, a slow client is cut off by the read timeout, and one that
// stops reading its replies by the write timeout.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include "tests/api/test_server.h"

using namespace tokenlog;
using namespace tokenlog::testing;

namespace {

constexpr const char* kSecretDetail = "internal detail that must not leak";

// A Service whose handler throws on /boom, as a bug or a bad_alloc would.
class ThrowingService final : public api::Service {
 public:
  using api::Service::Service;
  api::Reply Handle(const httplib::Request& req, std::string& route) override {
    if (req.path == "/boom") throw std::runtime_error(kSecretDetail);
    return api::Service::Handle(req, route);
  }
};

struct Harness {
  TempDir dir;
  FakeClock clock{kTestNow};
  CryptoRandom random;
  projections::TokenProjector projector;
  std::unique_ptr<storage::EventStore> store;
  std::unique_ptr<api::JwtVerifier> verifier;
  api::Metrics metrics;
  std::unique_ptr<ThrowingService> service;
  std::unique_ptr<api::HttpServer> server;
  std::thread thread;
  int port = -1;

  explicit Harness(api::HttpLimits limits) {
    store = std::move(storage::EventStore::Open(dir.path(), storage::OpenMode::kReadWrite,
                                                projector, clock))
                .value();
    api::JwtConfig jwt;
    jwt.hs256_secret = kTestSecret;
    verifier = std::move(api::JwtVerifier::Create(jwt)).value();
    service = std::make_unique<ThrowingService>(*store, clock, random, *verifier, metrics,
                                                api::ServiceConfig{});
    server = std::make_unique<api::HttpServer>(*service, metrics, limits);
    std::string error;
    port = server->Bind("127.0.0.1", 0, &error);
    REQUIRE(port > 0);
    thread = std::thread([this] { server->Serve(); });
    while (!server->is_running()) std::this_thread::yield();
  }
  ~Harness() {
    server->stop();
    thread.join();
    store->Close();
  }
};

}  // namespace

TEST_CASE("an exception in a handler is a 503 problem without its text, and the connection closes") {
  Harness h(api::HttpLimits{});
  RawResult r = RawExchange(h.port,
                            "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"
                            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  INFO(r.data);
  CHECK(r.data.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(r.data.find("application/problem+json") != std::string::npos);
  CHECK(r.data.find("\"type\":\"unavailable\"") != std::string::npos);
  CHECK(r.data.find(kSecretDetail) == std::string::npos);
  CHECK(r.data.find("EXCEPTION_WHAT") == std::string::npos);
  CHECK(CountResponses(r.data) == 1);
  CHECK(r.closed);
  // The server goes on serving.
  RawResult ok = RawExchange(h.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(ok.data.rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("a client that does not finish its request head is cut off by the read timeout") {
  api::HttpLimits limits;
  limits.read_timeout_seconds = 1;
  Harness h(limits);
  // Half a request head, then nothing: the server closes the connection
  // without a response, well before the 15 s the reader waits (a wide
  // margin over the 1 s timeout, for loaded machines).
  RawResult r = RawExchange(h.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 15000);
  CHECK(r.closed);
  CHECK(CountResponses(r.data) == 0);
  // An idle connection that never sends anything is closed the same way.
  RawResult idle = RawExchange(h.port, "", 15000);
  CHECK(idle.closed);
}

namespace {

// Connects, sends `head`, then one byte of `trickle` every 300 ms (each
// wait also watching for the server's close). Returns how many of those
// bytes went out before the server closed the connection, or -1 when it
// never did.
int TrickleUntilClosed(int port, const std::string& head, const std::string& trickle) {
  int fd = ConnectLoopback(port);
  REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  int sent = 0;
  for (char c : trickle) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 300) > 0) {
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;  // closed (or reset)
      continue;  // an answer: the close follows
    }
    if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
    ++sent;
  }
  const bool closed = sent < static_cast<int>(trickle.size());
  ::close(fd);
  return closed ? sent : -1;
}

}  // namespace

TEST_CASE("a client that trickles its request is cut off by the read timeout all the same") {
  api::HttpLimits limits;
  limits.read_timeout_seconds = 1;
  Harness h(limits);
  // A byte every 300 ms never leaves the connection idle for the 1 s
  // timeout; the request as a whole still has 1 s. 40 bytes are 12 s: a
  // wide margin for loaded machines.
  const std::string forty(40, 'x');
  int head_bytes = TrickleUntilClosed(h.port, "GET /healthz HTTP/1.1\r\nX-Slow: ", forty);
  INFO("head bytes sent before the close: " << head_bytes);
  CHECK(head_bytes >= 0);
  int body_bytes = TrickleUntilClosed(
      h.port, "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Content-Length: 1000\r\n\r\n",
      forty);
  INFO("body bytes sent before the close: " << body_bytes);
  CHECK(body_bytes >= 0);
  // The second request on a keep-alive connection gets its own second.
  int second = TrickleUntilClosed(
      h.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nX-Slow: ", forty);
  INFO("second request's bytes sent before the close: " << second);
  CHECK(second >= 0);
}

TEST_CASE("JSON nested deeper than the limit is refused before any field is read") {
  TestServer s;
  const std::string jwt = s.Jwt("alice@acme.example");
  uint64_t head = s.HeadSeq();
  std::string deep = std::string(20, '[') + "1" + std::string(20, ']');
  EXPECT_PROBLEM(s.MintRaw(jwt, R"({"label":)" + deep + "}"), 400, "invalid_request");
  std::string very_deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_PROBLEM(s.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), very_deep), 413,
                 "payload_too_large");
  std::string within = std::string(30000, '[') + std::string(30000, ']');
  EXPECT_PROBLEM(s.Send("POST", "/v1/tokens", TestServer::Bearer(jwt), within), 400,
                 "invalid_request");
  CHECK(s.HeadSeq() == head);
  // Seven levels inside the body object are fine as JSON (then refused as a label).
  std::string seven = std::string(7, '[') + "1" + std::string(7, ']');
  EXPECT_PROBLEM(s.MintRaw(jwt, R"({"label":)" + seven + "}"), 400, "invalid_label");
}

TEST_CASE("an idle keep-alive connection is closed after the keep-alive timeout") {
  api::HttpLimits limits;
  limits.keep_alive_timeout_seconds = 1;
  limits.read_timeout_seconds = 30;  // not what closes it
  Harness h(limits);
  // One request answered, then nothing: the server closes the connection
  // after its keep-alive second, well before the 15 s the reader waits.
  RawResult r = RawExchange(h.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 15000);
  CHECK(CountResponses(r.data) == 1);
  CHECK(r.closed);
}

TEST_CASE("a server stops without waiting out its idle keep-alive connections") {
  api::HttpLimits limits;
  limits.keep_alive_timeout_seconds = 120;
  auto h = std::make_unique<Harness>(limits);
  // A connection that got its answer and then waits in keep-alive.
  int fd = ConnectLoopback(h->port);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string got;
  while (CountResponses(got) == 0) {
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 15000) > 0);
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n > 0);
    got.append(buf, static_cast<size_t>(n));
  }
  // Stopping (the harness's destructor joins the server) is not held up
  // for the 120 s keep-alive: the connection's thread sees the stop within a
  // slice. A minute is a wide margin for a loaded machine.
  const auto t0 = std::chrono::steady_clock::now();
  h.reset();
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(60));
  // And the connection was closed.
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 15000) > 0);
  char buf[64];
  CHECK(::recv(fd, buf, sizeof(buf), 0) <= 0);
  ::close(fd);
}

TEST_CASE("keep-alive connections serve request after request") {
  TestServer s;
  std::string two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n";
  RawResult r = RawExchange(s.port, two + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(CountResponses(r.data) == 3);
  CHECK(r.closed);
}

namespace {

// Sends `count` pipelined requests for /app.js (~37 KB each: together more
// than the two sockets' buffers hold) on a connection with a small receive
// buffer, reads nothing for `pause_ms`, then reads until the server closes
// or is quiet for 5 s.
RawResult PipelinedAppJs(int port, int count, int pause_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  int small = 4096;
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string requests;
  for (int i = 0; i < count; ++i) {
    requests += "GET /app.js HTTP/1.1\r\nHost: x\r\n";
    if (i + 1 == count) requests += "Connection: close\r\n";
    requests += "\r\n";
  }
  REQUIRE(::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(requests.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  RawResult out;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      out.closed = n == 0 || errno == ECONNRESET;
      break;
    }
    out.data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

size_t CountOk(const std::string& data) {
  size_t n = 0;
  for (size_t i = data.find("HTTP/1.1 200 OK\r\n"); i != std::string::npos;
       i = data.find("HTTP/1.1 200 OK\r\n", i + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("replies larger than the sockets' buffers all reach a client that reads them late") {
  // ~7 MB of replies against at most ~4 MB of buffers: the server finds the
  // socket full, waits for room (the write timeout, 10 s, is far off) and
  // goes on where it stopped.
  Harness h(api::HttpLimits{});
  RawResult r = PipelinedAppJs(h.port, 200, 500);
  CHECK(r.closed);
  CHECK(CountOk(r.data) == 200);
  const size_t one = r.data.size() / 200;
  CHECK(one > 30'000);  // each reply whole: /app.js and its head
}

TEST_CASE("a client that stops reading its replies is cut off by the write timeout") {
  api::HttpLimits limits;
  limits.write_timeout_seconds = 1;
  Harness h(limits);
  RawResult r = PipelinedAppJs(h.port, 200, 4000);
  CHECK(r.closed);
  CHECK(CountOk(r.data) < 200);
  // The connection's thread is free again: another client is served.
  RawResult other = RawExchange(h.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(CountResponses(other.data) == 1);
}
