// The floor of durable mints (bench/run.py): raw RocksDB Puts with
// WriteOptions.sync = true (each acknowledged after fsync; RocksDB's own
// write group merges concurrent writers into one WAL write and one fsync),
// ~400-byte values, from N threads for `--seconds`, in a fresh DB in DIR on
// the filesystem the service's data lives on.
//
// Prints one JSON line: puts, seconds, puts/s, p50 and p99 latency in ms.
// Usage: tokenlog_bench_rawput --dir DIR --threads N --seconds S
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using Steady = std::chrono::steady_clock;

namespace {

constexpr size_t kValueBytes = 400;

int Usage() {
  std::fprintf(stderr, "usage: tokenlog_bench_rawput --dir DIR --threads N --seconds S\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int threads = 1;
  double seconds = 5;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    std::string flag = argv[i], arg = argv[++i];
    if (flag == "--dir")
      dir = arg;
    else if (flag == "--threads")
      threads = std::stoi(arg);
    else if (flag == "--seconds")
      seconds = std::stod(arg);
    else
      return Usage();
  }
  if (dir.empty() || threads < 1) return Usage();
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions sync;
  sync.sync = true;

  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
  auto start = Steady::now();
  auto deadline =
      start + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string value(kValueBytes, static_cast<char>('a' + t % 26));
      for (uint64_t i = 0; !failed && Steady::now() < deadline; ++i) {
        std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
        auto t0 = Steady::now();
        rocksdb::Status put = db->Put(sync, key, value);
        auto t1 = Steady::now();
        if (!put.ok()) {
          std::fprintf(stderr, "put: %s\n", put.ToString().c_str());
          failed = true;
          return;
        }
        latencies[static_cast<size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  for (auto& w : workers) w.join();
  double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
  if (failed) return 1;
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf(
      "{\"threads\":%d,\"puts\":%zu,\"seconds\":%.3f,\"per_s\":%.1f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f}\n",
      threads, all.size(), elapsed, all.size() / elapsed, pct(0.50), pct(0.99));
  db.reset();
  return 0;
}
