// Clock: wall time, injected everywhere a decision depends on "now".
//
// Domain code never reads the system clock itself; it is handed a Clock.
// Times are milliseconds since the Unix epoch (UTC), the precision of every
// time the service stores or prints. Thread-safe: implementations may be read
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace tokenlog {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time in milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

// The real wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
};

// The system clock shifted forward by a fixed offset: lets an end-to-end test
// age tokens in a real `serve` process (`--testing-clock-offset`).
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t offset_millis) : offset_(offset_millis) {}
  int64_t NowMillis() const override { return base_.NowMillis() + offset_; }

 private:
  SystemClock base_;
  int64_t offset_;
};

// A clock for tests: starts where it is told and only moves forward.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_millis) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  // REQUIRES: millis >= 0 (a fake clock never goes back).
  void Advance(int64_t millis) { now_.fetch_add(millis < 0 ? 0 : millis); }

 private:
  std::atomic<int64_t> now_;
};

inline constexpr int64_t kMillisPerSecond = 1000;
inline constexpr int64_t kMillisPerDay = 86400LL * 1000;

}  // namespace tokenlog
