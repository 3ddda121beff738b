// The bare-handler baselines of the HTTP benchmarks (bench/run.py): our
// HttpServer (api/http_server.h: the same connection loop, thread pool,
// backlog, timeouts, keep-alive and head limits as `tokenlog serve`), with a
// Service whose Handle
//  - answers GET /v1/auth/check with 200 and an empty body and does nothing
//    else (no Basic parse, no SHA-256, no lookup). What the check costs over
//    HTTP is `serve` measured against this;
//  - with --durable-dir, answers POST /v1/tokens with 201 and a body the size
//    of a mint's, each after a synced RocksDB Put of 400 bytes into a plain
//    DB in that directory (the raw floor's write: RocksDB's own write group
//    merges concurrent requests into one WAL write and one fsync), and does
//    nothing else (no JWT, no JSON, no decision, no event, no projection).
//    The least any durable write over this HTTP front costs: the floor of
//    the durable-mint row.
//
// The flags that shape the server take `tokenlog serve`'s defaults
// (tools/serve.cc); pass the same values to both.
// Usage: tokenlog_bench_bare --data DIR [--durable-dir DIR] [--listen HOST:PORT]
//          [--threads N] [--listen-backlog N] [--keep-alive-timeout SECONDS]
//          [--read-timeout SECONDS] [--write-timeout SECONDS]
// Prints `listening on http://HOST:PORT` once serving; SIGTERM/SIGINT stop it.
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
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

constexpr size_t kValueBytes = 400;  // as tokenlog_bench_rawput's

// Answers the check with 200 (the headers the real check sets on success,
// with fixed values), POST /v1/tokens (when `durable` is set) with 201 after
// a synced Put, and anything else with 404.
class BareService final : public api::Service {
 public:
  BareService(rocksdb::DB* durable, storage::EventStore& store, const Clock& clock,
              RandomSource& random, const api::JwtVerifier& verifier, api::Metrics& metrics)
      : api::Service(store, clock, random, verifier, metrics, api::ServiceConfig{}),
        durable_(durable),
        value_(kValueBytes, 'v') {}

  api::Reply Handle(const httplib::Request& req, std::string& route) override {
    api::Reply r;
    if (req.path == "/v1/auth/check") {
      route = "/v1/auth/check";
      r.status = 200;
      r.headers = {{"Cache-Control", "no-store"},
                   {"X-Auth-User", "user0@acme.example"},
                   {"X-Auth-Tenant", "acme"},
                   {"X-Auth-Token-Id", "tok_bench"}};
      return r;
    }
    if (durable_ && req.path == "/v1/tokens" && req.method == "POST") {
      route = "/v1/tokens";
      const std::string key = "k" + std::to_string(next_key_.fetch_add(1));
      rocksdb::WriteOptions sync;
      sync.sync = true;
      if (!durable_->Put(sync, key, value_).ok()) {
        r.status = 503;
        return r;
      }
      r.status = 201;
      r.content_type = "application/json";
      r.body = MintSizedBody();
      r.headers = {{"Cache-Control", "no-store"}};
      return r;
    }
    route = "unmatched";
    r.status = 404;
    return r;
  }

 private:
  // 307 bytes, as a mint's answer for a user of ~22 characters (no value in
  // it: "x"s where a mint's answer has the token).
  static std::string MintSizedBody() {
    return R"({"created_at":"2026-11-30T06:21:00.981Z","expires_at":"2027-02-28T06:21:00.981Z",)"
           R"("hint":"tlp_…xxxx","id":"tok_xxxxxxxxxxxxxxxx","label":"bench","last_used_at":null,)"
           R"("revoked_at":null,"revoked_reason":null,"status":"active","token":")" +
           std::string(40, 'x') + R"(","user":"w1-149999@acme.example"})";
  }

  rocksdb::DB* durable_;
  const std::string value_;
  std::atomic<uint64_t> next_key_{0};
};

api::HttpServer* g_server = nullptr;

void Stop(int) {
  if (g_server) g_server->stop();
}

int Usage() {
  std::fprintf(stderr,
               "usage: tokenlog_bench_bare --data DIR [--durable-dir DIR] [--listen HOST:PORT] "
               "[--threads N] "
               "[--listen-backlog N] [--keep-alive-timeout S] [--read-timeout S] "
               "[--write-timeout S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, durable_dir, listen = "127.0.0.1:0";
  api::HttpLimits limits;  // the defaults of `tokenlog serve`
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    std::string flag = argv[i], arg = argv[++i];
    if (flag == "--data")
      dir = arg;
    else if (flag == "--durable-dir")
      durable_dir = arg;
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
  // The durable floor's DB: RocksDB's defaults, as tokenlog_bench_rawput's.
  std::unique_ptr<rocksdb::DB> durable;
  if (!durable_dir.empty()) {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, durable_dir, &raw);
    if (!s.ok()) {
      std::fprintf(stderr, "open %s: %s\n", durable_dir.c_str(), s.ToString().c_str());
      return 1;
    }
    durable.reset(raw);
  }
  api::JwtConfig jwt;
  jwt.hs256_secret = "bench-bare-secret-0123456789abcdef";
  auto verifier = std::move(api::JwtVerifier::Create(jwt)).value();
  CryptoRandom random;
  api::Metrics metrics;
  BareService service(durable.get(), **store, clock, random, *verifier, metrics);
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
