// Fills a data directory for the HTTP benchmarks (bench/run.py): N active
// tokens, 5 per user, tenant "acme", appended through the real EventStore
// (token.minted events and their projections, as `serve` would write them,
// but without HTTP or JWTs), with the system clock so that `serve` accepts
// the log and no token is due to expire for 90 days.
//
// Writes K sampled credentials, one `user:value` line each, to FILE (mode
// 0600; keep it outside DIR and delete it after the run). Never prints a
// value.
// Usage: tokenlog_bench_fill --data DIR --tokens N --sample K --values FILE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/token_codec.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"

using namespace tokenlog;
using Steady = std::chrono::steady_clock;

namespace {

constexpr uint64_t kPerUser = 5;
constexpr uint64_t kPerGroup = 2000;  // events per Execute (one synced write)

int Usage() {
  std::fprintf(stderr,
               "usage: tokenlog_bench_fill --data DIR --tokens N --sample K --values FILE\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, values_path;
  uint64_t tokens = 1'000'000, sample_size = 1000;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    std::string flag = argv[i], arg = argv[++i];
    if (flag == "--data")
      dir = arg;
    else if (flag == "--tokens")
      tokens = std::stoull(arg);
    else if (flag == "--sample")
      sample_size = std::stoull(arg);
    else if (flag == "--values")
      values_path = arg;
    else
      return Usage();
  }
  if (dir.empty() || values_path.empty() || tokens == 0) return Usage();
  sample_size = std::min(sample_size, tokens);

  SystemClock clock;
  projections::TokenProjector projector;
  auto opened = storage::EventStore::Open(dir, storage::OpenMode::kReadWrite, projector, clock);
  if (!opened.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), opened.status().ToString().c_str());
    return 1;
  }
  auto store = std::move(opened).value();
  CryptoRandom random;
  std::vector<std::string> sample;  // "user:value"
  const uint64_t every = tokens / sample_size;
  auto t0 = Steady::now();
  for (uint64_t done = 0; done < tokens;) {
    uint64_t n = std::min(kPerGroup, tokens - done);
    auto r = store->Execute([&](const KeyspaceReader&, int64_t now) -> Result<std::vector<Event>> {
      std::vector<Event> events;
      events.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t k = done + i;
        std::string user = "user" + std::to_string(k / kPerUser) + "@acme.example";
        auto value = GenerateTokenValue(random);
        if (!value.ok()) return Status(Code::kUnavailable, "no randomness");
        Event e;
        e.time = now;
        e.tenant = "acme";
        e.actor = Actor{ActorRole::kUser, user, "127.0.0.1"};
        e.user = user;
        TokenMinted d;
        d.label = "bench";
        d.expires_at = now + 90 * kMillisPerDay;
        d.hint = TokenHint(*value);
        d.token_sha256 = Sha256(*value);
        e.token_id = TokenIdOf(d.token_sha256);
        e.data = d;
        events.push_back(std::move(e));
        if (k % every == 0 && sample.size() < sample_size) sample.push_back(user + ":" + *value);
      }
      return events;
    });
    if (!r.ok()) {
      std::fprintf(stderr, "fill: %s\n", r.status().ToString().c_str());
      return 1;
    }
    done += n;
  }
  store->Close();
  double seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  // Waits (at most 10 min) for the compactions the fill leaves behind, as
  // they would have finished on a server that has been serving: otherwise
  // each of the start-ups measured next begins that compaction again on the
  // same two cores, and abandons it when stopped (a start right after a fast
  // fill took 1.1-1.6 s against 0.6 s once settled).
  const auto w0 = Steady::now();
  while (store->BackgroundWorkPending() &&
         std::chrono::duration<double>(Steady::now() - w0).count() < 600) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double settled = std::chrono::duration<double>(Steady::now() - w0).count();

  int fd = ::open(values_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "cannot create %s\n", values_path.c_str());
    return 1;
  }
  std::string text;
  for (const auto& line : sample) text += line + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "cannot write %s\n", values_path.c_str());
    return 1;
  }
  std::printf("{\"tokens\":%llu,\"sampled\":%zu,\"seconds\":%.2f,\"compaction_after_s\":%.2f}\n",
              static_cast<unsigned long long>(tokens), sample.size(), seconds, settled);
  return 0;
}
