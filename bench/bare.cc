// The bare-handler baseline of the HTTP check benchmark (bench/run.py): our
// HttpServer (api/http_server.h: the same connection loop, thread pool,
// backlog, timeouts, keep-alive and head limits as `tokenlog serve`), with a
// Service whose Handle answers GET /v1/auth/check with 200 and an empty body
// and does nothing else (no Basic parse, no SHA-256, no lookup). What the
// check costs over HTTP is `serve` measured against this.
//
// The flags that shape the server take `tokenlog serve`'s defaults
// (tools/serve.cc); pass the same values to both.
// Usage: tokenlog_bench_bare --data DIR [--listen HOST:PORT] [--threads N]
//          [--listen-backlog N] [--keep-alive-timeout SECONDS]
//          [--read-timeout SECONDS] [--write-timeout SECONDS]
// Prints `listening on http://HOST:PORT` once serving; SIGTERM/SIGINT stop it.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "api/http_server.h"
#include "api/jwt.h"
#include "api/metrics.h"
#include "api/service.h"
#include "core/clock.h"
#include "core/random.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"

using namespace tokenlog;

namespace {

// Answers the check with 200 (the headers the real check sets on success,
// with fixed values) and anything else with 404.
class BareService final : public api::Service {
 public:
  using api::Service::Service;
  api::Reply Handle(const httplib::Request& req, std::string& route) override {
    api::Reply r;
    if (req.path != "/v1/auth/check") {
      route = "unmatched";
      r.status = 404;
      return r;
    }
    route = "/v1/auth/check";
    r.status = 200;
    r.headers = {{"Cache-Control", "no-store"},
                 {"X-Auth-User", "user0@acme.example"},
                 {"X-Auth-Tenant", "acme"},
                 {"X-Auth-Token-Id", "tok_bench"}};
    return r;
  }
};

api::HttpServer* g_server = nullptr;

void Stop(int) {
  if (g_server) g_server->stop();
}

int Usage() {
  std::fprintf(stderr,
               "usage: tokenlog_bench_bare --data DIR [--listen HOST:PORT] [--threads N] "
               "[--listen-backlog N] [--keep-alive-timeout S] [--read-timeout S] "
               "[--write-timeout S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, listen = "127.0.0.1:0";
  api::HttpLimits limits;  // the defaults of `tokenlog serve`
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    std::string flag = argv[i], arg = argv[++i];
    if (flag == "--data")
      dir = arg;
    else if (flag == "--listen")
      listen = arg;
    else if (flag == "--threads")
      limits.threads = std::stoi(arg);
    else if (flag == "--listen-backlog")
      limits.listen_backlog = std::stoi(arg);
    else if (flag == "--keep-alive-timeout")
      limits.keep_alive_timeout_seconds = std::stol(arg);
    else if (flag == "--read-timeout")
      limits.read_timeout_seconds = std::stol(arg);
    else if (flag == "--write-timeout")
      limits.write_timeout_seconds = std::stol(arg);
    else
      return Usage();
  }
  auto colon = listen.rfind(':');
  if (dir.empty() || colon == std::string::npos) return Usage();
  std::string host = listen.substr(0, colon);
  int port = std::stoi(listen.substr(colon + 1));

  // The Service needs a store and a verifier; neither is used by Handle.
  SystemClock clock;
  projections::TokenProjector projector;
  auto store = storage::EventStore::Open(dir, storage::OpenMode::kReadWrite, projector, clock);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), store.status().ToString().c_str());
    return 1;
  }
  api::JwtConfig jwt;
  jwt.hs256_secret = "bench-bare-secret-0123456789abcdef";
  auto verifier = std::move(api::JwtVerifier::Create(jwt)).value();
  CryptoRandom random;
  api::Metrics metrics;
  BareService service(**store, clock, random, *verifier, metrics, api::ServiceConfig{});
  api::HttpServer server(service, metrics, limits);
  std::string error;
  int bound = server.Bind(host, port, &error);
  if (bound < 0) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  g_server = &server;
  std::signal(SIGTERM, Stop);
  std::signal(SIGINT, Stop);
  std::cout << "listening on http://" << host << ":" << bound << std::endl;
  bool served = server.Serve();
  (*store)->Close();
  return served ? 0 : 1;
}
