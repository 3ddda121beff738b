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
#include <vector>

#include "core/event.h"
#include "core/table_hint.h"
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

  // Starts loading `token_id`'s slot into the cache, without the shard's
  // lock: a check calls it as soon as its index lookup gives the id, so that
  // the slot's cache miss overlaps the owner's instead of following it. A
  // hint only: a table that changed meanwhile wastes the load, nothing else.
  void Prefetch(std::string_view token_id) const;

  // The latest successful use seen in memory, if any.
  std::optional<int64_t> LastUsed(std::string_view token_id) const;

 private:
  struct PendingDenial {
    uint64_t count = 0;
    DenyReason reason = DenyReason::kRevoked;
    std::string claimed_user;
    std::string ip;
    std::string user_agent;
  };

  // A token id held inside its slot (ids are 20 characters).
  struct IdKey {
    static constexpr size_t kMax = 31;
    uint8_t size = 0;
    std::array<char, kMax> bytes{};
    static std::optional<IdKey> Of(std::string_view id);
    std::string_view view() const { return {bytes.data(), size}; }
    bool operator==(const IdKey& o) const { return view() == o.view(); }
  };

  // What a tracked token's check touches besides its slot, in one
  // allocation: the latest use's client (its User-Agent inline when it fits,
  // as most do, so that the comparison every use makes reads this object
  // and nothing else) and what the rarer paths need.
  struct Cold {
    static constexpr size_t kInlineAgent = 96;
    std::string ip;  // of the latest pending use
    uint16_t agent_size = 0;
    // Hash of the latest agent as the client sent it, when the stored one
    // differs from it (sanitized, or withheld): a client that keeps sending
    // it costs a hash per check, not its sanitizing again. 0: none.
    uint64_t raw_agent_hash = 0;
    std::array<char, kInlineAgent> agent_inline;  // sanitized, when it fits
    std::string agent_long;                       // sanitized, when it does not
    int64_t first_at = 0;                         // of the pending uses
    std::optional<int64_t> last_used_taken;  // the latest use already turned into an event
    std::optional<int64_t> last_use_event_at;
    std::optional<int64_t> last_denial_event_at;
    std::unique_ptr<PendingDenial> denial;  // once a denial is pending
    std::string tenant;
    std::string user;

    std::string_view agent() const {
      if (agent_size <= kInlineAgent) return {agent_inline.data(), agent_size};
      return agent_long;
    }
    void set_agent(std::string_view clean);  // at most kMaxUserAgentBytes
    bool denial_pending() const { return denial && denial->count > 0; }
  };
  // One cache line per tracked token: what a successful check updates.
  struct alignas(64) Slot {
    IdKey key;
    uint64_t hash = 0;    // of the key
    uint64_t count = 0;   // pending uses
    int64_t last_at = 0;  // of the pending uses
    Cold* cold = nullptr;  // owned; nullptr: an empty slot
  };
  static_assert(sizeof(Slot) == 64);

  // Open addressing with linear probing; an entry leaves by backward shift,
  // so that no tombstones build up as tokens come and go.
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {  // a cache line of its own for each shard's lock
    mutable std::mutex mu;
    std::vector<Slot> slots;  // GUARDED_BY(mu); size a power of two, or 0
    size_t used = 0;          // GUARDED_BY(mu)
    TableHint<Slot> hint;  // the table as of its last change, for Prefetch()
    ~Shard();
  };
  static uint64_t HashOf(const IdKey& key) { return std::hash<std::string_view>()(key.view()); }
  Shard& ShardOf(uint64_t hash) const { return shards_[hash % kShards]; }
  // The slot of `key`, or nullptr. REQUIRES: shard.mu held.
  static Slot* Find(Shard& shard, const IdKey& key, uint64_t hash);
  // The slot of `key` in `shard`, added when absent and the ledger is not
  // full; nullptr when full. REQUIRES: shard.mu held.
  Slot* FindOrAdd(Shard& shard, const IdKey& key, uint64_t hash, std::string_view tenant,
                  std::string_view user);
  // Runs `update(slot)` on `token`'s slot under its shard's lock, adding the
  // slot when absent; does nothing for an over-long id or a full ledger.
  template <typename Update>
  void WithSlot(TokenRef token, Update&& update);
  // Adds `key` (absent) with a new Cold; counts nothing in tracked_.
  // REQUIRES: shard.mu held.
  static Slot* Insert(Shard& shard, const IdKey& key, uint64_t hash, std::string_view tenant,
                      std::string_view user);
  // Moves the shard's entries to a table of `size` slots (a power of two
  // that holds them). REQUIRES: shard.mu held.
  static void Rehash(Shard& shard, size_t size);
  // Removes slots[i]. REQUIRES: shard.mu held.
  void Erase(Shard& shard, size_t i);
  void TakeDue(Shard& shard, int64_t now, bool everything, std::vector<Event>& out);

  const UsageLedgerConfig config_;
  std::unique_ptr<Shard[]> shards_{new Shard[kShards]};
  std::atomic<size_t> tracked_{0};  // entries over all shards
};

}  // namespace tokenlog
