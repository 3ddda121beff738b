// Metrics: the HTTP request counter, counted from many threads.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "api/metrics.h"

using tokenlog::api::Metrics;

TEST_CASE("metrics: requests counted by many threads are summed per route and code, in order") {
  Metrics metrics;
  // 40 threads (more than the counter's shards, so that threads share
  // them), each counting the same requests.
  std::vector<std::thread> threads;
  for (int t = 0; t < 40; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 500; ++i) {
        metrics.CountRequest("GET /v1/auth/check", 200, 0.0001);
        if (i % 5 == 0) metrics.CountRequest("GET /v1/auth/check", 401, 0.0001);
        if (i % 10 == 0) metrics.CountRequest("POST /v1/tokens", 201, 0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  metrics.CountRequest("GET /healthz", 200, 0.0);

  const std::string text = metrics.Render();
  auto line = [](const std::string& route, int code, int n) {
    return "tokenlog_http_requests_total{route=\"" + route + "\",code=\"" + std::to_string(code) +
           "\"} " + std::to_string(n) + "\n";
  };
  const std::string check200 = line("GET /v1/auth/check", 200, 20000);
  const std::string check401 = line("GET /v1/auth/check", 401, 4000);
  const std::string healthz = line("GET /healthz", 200, 1);
  const std::string mint = line("POST /v1/tokens", 201, 2000);
  const size_t a = text.find(check200), b = text.find(check401), h = text.find(healthz),
               m = text.find(mint);
  INFO(text);
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(h != std::string::npos);
  REQUIRE(m != std::string::npos);
  // One line per (route, code), sorted by route, then code.
  CHECK(h < a);
  CHECK(a < b);
  CHECK(b < m);
  size_t lines = 0;
  for (size_t i = text.find("tokenlog_http_requests_total{"); i != std::string::npos;
       i = text.find("tokenlog_http_requests_total{", i + 1)) {
    ++lines;
  }
  CHECK(lines == 4);
  CHECK(text.find("tokenlog_http_request_duration_seconds_count 26001\n") != std::string::npos);
}
