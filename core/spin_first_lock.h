// LockSpinningFirst: takes a mutex exclusively, trying for a couple of
// microseconds before sleeping on it.
//
// For locks held for well under a microsecond (a probe of a table, a
// counter's update) by threads that often run at the same moment on the
// other core: a thread put to sleep on a futex waits for the scheduler to
// wake it, a millisecond or more on a busy VM, far longer than the holder
// keeps the lock. When the holder was preempted, the spin is bounded (128
// rounds) and the thread then blocks as std::unique_lock would.
#pragma once

#include <mutex>

namespace tokenlog {

template <typename Mutex>
std::unique_lock<Mutex> LockSpinningFirst(Mutex& mu) {
  for (int i = 0; i < 128; ++i) {
    if (mu.try_lock()) return std::unique_lock<Mutex>(mu, std::adopt_lock);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  return std::unique_lock<Mutex>(mu);
}

}  // namespace tokenlog
