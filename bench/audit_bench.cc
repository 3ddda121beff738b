// Audit and rebuild benchmark (issue: audit history; numbers for
// BENCHMARKS.md). Every figure is paired with a baseline measured in the same
// run, on the same machine:
//   - an activity page (limit 50) for one user with the same 500 events, on a
//     10k-event log and on a 1M-event log: ratio of medians (target <= 1.5);
//   - `Rebuild()` of the 1M-event log vs a raw sequential scan of the events
//     column family (target <= 5x).
// Usage: tokenlog_audit_bench [--events N] [--json FILE] [--rebuild-only 1 [--keep 1] [--rebuilds N]]
// (--rebuild-only: fill and rebuild the big log once, for profiling; --keep:
// keep the filled log in $TMPDIR/tokenlog-audit-bench and reuse it next time;
// --rebuilds: rebuild N times in the one process, as the full bench does)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "api/jwt.h"
#include "api/service.h"
#include "core/event_codec.h"
#include "core/token_codec.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"

using namespace tokenlog;
using Clock_ = std::chrono::steady_clock;

namespace {

constexpr int64_t kT0 = 1'795'910'400'000;
constexpr const char* kSecret = "bench-secret-0123456789abcdef0123";
constexpr int kTargetEvents = 500;

double Seconds(Clock_::time_point a, Clock_::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Store {
  std::string dir;
  FakeClock clock{kT0};
  projections::TokenProjector projector;
  std::unique_ptr<storage::EventStore> store;
  explicit Store(std::string d, bool keep = false) : dir(std::move(d)) {
    if (!keep) std::filesystem::remove_all(dir);
    store = std::move(storage::EventStore::Open(dir, storage::OpenMode::kReadWrite, projector, clock))
                .value();
  }
};

// A token.minted for `user`, for a fresh value, as the service mints one
// (the id derived from the value's digest).
Event Minted(SeededRandom& random, const std::string& user, int64_t time) {
  Event e;
  e.time = time;
  e.tenant = "acme";
  e.actor = Actor{ActorRole::kUser, user, "127.0.0.1"};
  e.user = user;
  std::string value = GenerateTokenValue(random).value();
  TokenMinted d;
  d.label = "bench token";
  d.expires_at = time + 90 * kMillisPerDay;
  d.hint = TokenHint(value);
  d.token_sha256 = Sha256(value);
  e.token_id = TokenIdOf(d.token_sha256);
  e.data = d;
  return e;
}

// Fills the log with `total` events; `target` gets kTargetEvents of them,
// spread evenly; the rest belong to 10,000 other users.
void Fill(Store& s, uint64_t total) {
  SeededRandom random(7);
  const uint64_t every = total / kTargetEvents;
  uint64_t written = 0;
  while (written < total) {
    uint64_t n = std::min<uint64_t>(2000, total - written);
    auto r = s.store->Execute([&](const KeyspaceReader&, int64_t now) -> Result<std::vector<Event>> {
      std::vector<Event> events;
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t k = written + i;
        std::string user = (k % every == 0) ? "target@acme.example"
                                            : "user" + std::to_string(k % 10000) + "@acme.example";
        events.push_back(Minted(random, user, now));
      }
      return events;
    });
    if (!r.ok()) {
      std::fprintf(stderr, "fill: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    written += n;
    s.clock.Advance(1);
  }
}

struct Stats {
  double p50 = 0, p99 = 0, min = 0, max = 0;
};

Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 99 / 100], v.front(), v.back()};
}

// Activity pages for the target user through the real route handler.
Stats ActivityPages(Store& s, int iterations) {
  api::JwtConfig jwt_config;
  jwt_config.hs256_secret = kSecret;
  auto verifier = std::move(api::JwtVerifier::Create(jwt_config)).value();
  CryptoRandom random;
  api::Metrics metrics;
  api::Service service(*s.store, s.clock, random, *verifier, metrics, api::ServiceConfig{});
  std::string jwt = api::SignJwtHs256(
      R"({"sub":"target@acme.example","tenant":"acme","exp":)" + std::to_string(kT0 / 1000 + 86400) + "}",
      kSecret);
  httplib::Request req;
  req.method = "GET";
  req.path = "/v1/activity";
  req.params.emplace("limit", "50");
  req.headers.emplace("Authorization", "Bearer " + jwt);
  req.remote_addr = "127.0.0.1";
  std::vector<double> samples;
  for (int i = 0; i < iterations; ++i) {
    std::string route;
    auto t0 = Clock_::now();
    api::Reply r = service.Handle(req, route);
    auto t1 = Clock_::now();
    if (r.status != 200 || r.body.find("target@acme.example") == std::string::npos) {
      std::fprintf(stderr, "activity page failed: %d %s\n", r.status, r.body.substr(0, 200).c_str());
      std::exit(1);
    }
    samples.push_back(Seconds(t0, t1) * 1e3);
  }
  return Summarize(samples);
}

// Waits (at most 10 min) until RocksDB has no flush or compaction running or
// due, so that a measurement does not share the CPU with the background work
// an earlier step left; returns the seconds waited.
double Quiesce(Store& s) {
  auto t0 = Clock_::now();
  while (s.store->BackgroundWorkPending() && Seconds(t0, Clock_::now()) < 600) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Seconds(t0, Clock_::now());
}

double RawScan(Store& s, uint64_t* count) {
  auto t0 = Clock_::now();
  uint64_t n = 0, bytes = 0;
  (void)s.store->ScanEvents(1, [&](uint64_t, std::string_view raw) {
    ++n;
    bytes += raw.size();
    return true;
  });
  auto t1 = Clock_::now();
  *count = n;
  if (bytes == 0) std::exit(1);
  return Seconds(t0, t1);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t big = 1'000'000, small = 10'000;
  std::string json_path;
  bool rebuild_only = false, keep = false;
  int rebuild_runs = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rebuild-only")) rebuild_only = std::strcmp(argv[i + 1], "0") != 0;
    if (!std::strcmp(argv[i], "--keep")) keep = std::strcmp(argv[i + 1], "0") != 0;
    if (!std::strcmp(argv[i], "--rebuilds")) rebuild_runs = std::max(1, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--events")) big = std::stoull(argv[i + 1]);
    if (!std::strcmp(argv[i], "--json")) json_path = argv[i + 1];
  }
  std::string root = (std::filesystem::temp_directory_path() / "tokenlog-audit-bench").string();
  std::filesystem::create_directories(root);

  if (rebuild_only) {
    Store big_store(root + "/big", keep);
    if (big_store.store->head().seq < big) Fill(big_store, big - big_store.store->head().seq);
    uint64_t scanned = 0;
    double waited = Quiesce(big_store);
    double scan = RawScan(big_store, &scanned);
    auto cpu = [] {
      rusage u;
      getrusage(RUSAGE_SELF, &u);
      return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    };
    std::fprintf(stderr, "filled %llu events; rebuilding\n", (unsigned long long)scanned);
    Status st;
    for (int i = 0; i < rebuild_runs && st.ok(); ++i) {
      if (i > 0) waited = Quiesce(big_store);
      double c0 = cpu();
      auto t0 = Clock_::now();
      st = big_store.store->Rebuild();
      double took = Seconds(t0, Clock_::now());
      double cpu_took = cpu() - c0;
      std::printf("rebuild of %llu events: %.2f s (%.2f s of CPU); raw scan %.2f s; waited %.2f s "
                  "before, %.2f s after for compactions\n",
                  (unsigned long long)scanned, took, cpu_took, scan, waited, Quiesce(big_store));
    }
    if (!keep) std::filesystem::remove_all(root);
    return st.ok() ? 0 : 1;
  }
  Store small_store(root + "/small"), big_store(root + "/big");
  auto f0 = Clock_::now();
  Fill(small_store, small);
  Fill(big_store, big);
  std::fprintf(stderr, "filled %llu + %llu events in %.1f s\n", (unsigned long long)small,
               (unsigned long long)big, Seconds(f0, Clock_::now()));
  Quiesce(small_store);
  Quiesce(big_store);

  // Alternate small and big runs so noise hits both alike; median of 5 runs.
  std::vector<double> small_p50, big_p50, small_p99, big_p99;
  for (int run = 0; run < 5; ++run) {
    Stats a = ActivityPages(small_store, 400), b = ActivityPages(big_store, 400);
    small_p50.push_back(a.p50);
    big_p50.push_back(b.p50);
    small_p99.push_back(a.p99);
    big_p99.push_back(b.p99);
  }
  Stats sp50 = Summarize(small_p50), bp50 = Summarize(big_p50);
  Stats sp99 = Summarize(small_p99), bp99 = Summarize(big_p99);

  // Each scan and rebuild starts on a quiet store; the background compaction
  // a rebuild leaves (its loads are level-0 files) is timed separately.
  std::vector<double> scans, rebuilds, settles;
  uint64_t scanned = 0;
  Quiesce(big_store);
  for (int run = 0; run < 3; ++run) {
    scans.push_back(RawScan(big_store, &scanned));
    auto t0 = Clock_::now();
    auto st = big_store.store->Rebuild();
    auto t1 = Clock_::now();
    if (!st.ok()) {
      std::fprintf(stderr, "rebuild: %s\n", st.ToString().c_str());
      return 1;
    }
    rebuilds.push_back(Seconds(t0, t1));
    settles.push_back(Quiesce(big_store));
  }
  Stats scan = Summarize(scans), rebuild = Summarize(rebuilds), settle = Summarize(settles);

  double page_ratio = bp50.p50 / sp50.p50;
  double rebuild_ratio = rebuild.p50 / scan.p50;
  std::printf("| what | measured (median of runs; min..max) | baseline in the same run | ratio | target |\n");
  std::printf("|---|---|---|---|---|\n");
  std::printf("| activity page, limit 50, one user with %d events | %.3f ms p50 (%.3f..%.3f), p99 %.3f ms, on %llu events | %.3f ms p50 (%.3f..%.3f), p99 %.3f ms, on %llu events | %.2fx | <= 1.5x |\n",
              kTargetEvents, bp50.p50, bp50.min, bp50.max, bp99.p50, (unsigned long long)big,
              sp50.p50, sp50.min, sp50.max, sp99.p50, (unsigned long long)small, page_ratio);
  std::printf("| rebuild of %llu events (then %.2f s of background compaction) | %.2f s (%.2f..%.2f) | raw scan of `events`: %.2f s (%.2f..%.2f) | %.1fx | <= 5x |\n",
              (unsigned long long)scanned, settle.p50, rebuild.p50, rebuild.min, rebuild.max,
              scan.p50, scan.min, scan.max, rebuild_ratio);
  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    std::fprintf(f,
                 "{\"events\":%llu,\"activity_p50_ms_big\":%.4f,\"activity_p50_ms_small\":%.4f,"
                 "\"activity_ratio\":%.3f,\"rebuild_s\":%.3f,\"raw_scan_s\":%.3f,\"rebuild_ratio\":%.3f,"
                 "\"compaction_after_rebuild_s\":%.3f}\n",
                 (unsigned long long)big, bp50.p50, sp50.p50, page_ratio, rebuild.p50, scan.p50,
                 rebuild_ratio, settle.p50);
    std::fclose(f);
  }
  std::filesystem::remove_all(root);
  return 0;
}
