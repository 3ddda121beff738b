// Durable-mint load over HTTP (bench/run.py): N client threads, each with
// one keep-alive httplib::Client, POST /v1/tokens {"label":"bench"} for
// `--seconds`, each mint for a fresh user (the cap is 5 active tokens per
// user) with a Bearer JWT signed here with the server's HS256 key (the hex
// text of DATA/dev-jwt.secret, as `serve --dev` uses it). Every 201 was
// acknowledged after its events were fsynced (EventStore's group commit).
// Any other answer fails the run (exit 1, the status on stderr).
//
// Prints one JSON line: mints, seconds, mints/s, p50 and p99 latency in ms.
// Usage: tokenlog_bench_load --port PORT --secret-file FILE --clients N
//          --seconds S [--user-prefix P]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/jwt.h"

using Steady = std::chrono::steady_clock;

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: tokenlog_bench_load --port PORT --secret-file FILE --clients N "
               "--seconds S [--user-prefix P]\n");
  return 2;
}

struct Worker {
  std::vector<double> latencies_ms;
  int failed_status = 0;  // the first answer other than 201 (-1: transport error)
  std::string failed_body;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0, clients = 1;
  double seconds = 5;
  std::string secret_file, prefix = "mint";
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    std::string flag = argv[i], arg = argv[++i];
    if (flag == "--port")
      port = std::stoi(arg);
    else if (flag == "--secret-file")
      secret_file = arg;
    else if (flag == "--clients")
      clients = std::stoi(arg);
    else if (flag == "--seconds")
      seconds = std::stod(arg);
    else if (flag == "--user-prefix")
      prefix = arg;
    else
      return Usage();
  }
  if (port <= 0 || clients < 1 || secret_file.empty()) return Usage();
  std::ifstream in(secret_file);
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.empty()) {
    std::fprintf(stderr, "no secret in %s\n", secret_file.c_str());
    return 1;
  }

  std::vector<Worker> workers(static_cast<size_t>(clients));
  std::atomic<bool> failed{false};
  auto start = Steady::now();
  auto deadline =
      start + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      Worker& w = workers[static_cast<size_t>(t)];
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // headers and body are two writes: no Nagle wait
      client.set_connection_timeout(10, 0);
      client.set_read_timeout(30, 0);
      client.set_write_timeout(30, 0);
      for (uint64_t i = 0; !failed && Steady::now() < deadline; ++i) {
        std::string user =
            prefix + "-" + std::to_string(t) + "-" + std::to_string(i) + "@acme.example";
        long now = static_cast<long>(std::time(nullptr));
        std::string payload = "{\"sub\":\"" + user + "\",\"tenant\":\"acme\",\"role\":\"user\"," +
                              "\"iat\":" + std::to_string(now) +
                              ",\"exp\":" + std::to_string(now + 3600) + "}";
        httplib::Headers headers = {
            {"Authorization", "Bearer " + tokenlog::api::SignJwtHs256(payload, secret)}};
        auto t0 = Steady::now();
        auto res = client.Post("/v1/tokens", headers, "{\"label\":\"bench\"}", "application/json");
        auto t1 = Steady::now();
        if (!res || res->status != 201) {
          w.failed_status = res ? res->status : -1;
          if (res) w.failed_body = res->body.substr(0, 300);  // a problem+json, no token in it
          failed = true;
          return;
        }
        w.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
  std::vector<double> all;
  for (const auto& w : workers) {
    if (w.failed_status != 0) {
      std::fprintf(stderr, "a mint was answered %d: %s\n", w.failed_status, w.failed_body.c_str());
      return 1;
    }
    all.insert(all.end(), w.latencies_ms.begin(), w.latencies_ms.end());
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf(
      "{\"clients\":%d,\"mints\":%zu,\"seconds\":%.3f,\"per_s\":%.1f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f}\n",
      clients, all.size(), elapsed, all.size() / elapsed, pct(0.50), pct(0.99));
  return 0;
}
