// UsageLedger: folds OData checks into throttled token.used and auth.denied
// events, in memory, off the check's path.
//
// A successful check adds to the token's pending use; a refused check whose
// value matched a stored token adds to its pending denial. TakeDue() turns
// what is due into events: a token's first use (and first denial) at once,
// then at most one token.used per token per usage interval and one
// auth.denied per token per denial interval. Nothing here is durable: a crash
// loses at most the pending counts, by design (usage is never fsynced on the
// check's path). Thread-safe; the clock is passed in. Sharded by token id, so
// that a check thread preempted while it holds one shard's lock (64 threads
// on 2 cores) stalls only the checks of that shard's tokens.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/token.h"

namespace tokenlog {

struct UsageLedgerConfig {
  int64_t usage_interval_ms = 10 * 60 * 1000;
  int64_t denial_interval_ms = 60 * 1000;
  size_t max_tokens = 1'000'000;  // tokens tracked at once; more are not recorded
};

inline constexpr size_t kMaxUserAgentBytes = 256;

class UsageLedger {
 public:
  explicit UsageLedger(UsageLedgerConfig config) : config_(config) {}

  void RecordUse(TokenRef token, std::string_view ip, std::string_view user_agent,
                 int64_t now);
  void RecordDenial(TokenRef token, DenyReason reason, std::string_view claimed_user,
                    std::string_view ip, std::string_view user_agent, int64_t now);

  // The events due at `now` (every pending one when `everything`); their
  // counts leave the ledger. Events carry no seq or time.
  std::vector<Event> TakeDue(int64_t now, bool everything);
  // Puts back the counts of events that could not be appended.
  void Requeue(const std::vector<Event>& events);

  // The latest successful use seen in memory, if any.
  std::optional<int64_t> LastUsed(std::string_view token_id) const;

 private:
  struct PendingUse {
    uint64_t count = 0;
    int64_t first_at = 0;
    int64_t last_at = 0;
    std::string ip;
    std::string user_agent;
  };
  struct PendingDenial {
    uint64_t count = 0;
    DenyReason reason = DenyReason::kRevoked;
    std::string claimed_user;
    std::string ip;
    std::string user_agent;
  };
  struct Entry {
    std::string tenant;
    std::string user;
    PendingUse use;
    PendingDenial denial;
    std::optional<int64_t> last_use_event_at;
    std::optional<int64_t> last_denial_event_at;
    std::optional<int64_t> last_used;  // latest successful check ever seen
  };

  // A token id held inside the map's node (ids are 20 characters; no
  // allocation and no pointer to chase on the check's path).
  struct IdKey {
    static constexpr size_t kMax = 31;
    uint8_t size = 0;
    std::array<char, kMax> bytes{};
    static std::optional<IdKey> Of(std::string_view id);
    std::string_view view() const { return {bytes.data(), size}; }
    bool operator==(const IdKey& o) const { return view() == o.view(); }
  };
  struct IdKeyHash {
    size_t operator()(const IdKey& k) const { return std::hash<std::string_view>()(k.view()); }
  };

  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {  // a cache line of its own for each shard's lock
    mutable std::mutex mu;
    std::unordered_map<IdKey, Entry, IdKeyHash> entries;  // GUARDED_BY(mu)
  };
  Shard& ShardOf(const IdKey& key) const { return shards_[IdKeyHash()(key) % kShards]; }
  // The entry of `key` in `shard`, created when absent and the ledger is not
  // full; nullptr when full. REQUIRES: shard.mu held.
  Entry* FindOrAdd(Shard& shard, const IdKey& key, TokenRef token);
  void TakeDue(Shard& shard, int64_t now, bool everything, std::vector<Event>& out);

  const UsageLedgerConfig config_;
  std::unique_ptr<Shard[]> shards_{new Shard[kShards]};
  std::atomic<size_t> tracked_{0};  // entries over all shards
};

}  // namespace tokenlog
