// AuthIndex: the OData check's in-memory index, a mirror of the `tokens` and
// `users` keyspaces kept from the projection writes of the same `apply`.
//
// The check needs, for the SHA-256 of a presented value: the token's id,
// owner (tenant, user), expiry, whether it is revoked or logged expired, and
// whether the owner is deactivated. Reading that from RocksDB costs three
// point reads and a record decode per check; this index answers it with one
// hash lookup and no allocation. It holds no token value and no label.
//
// Kept current by OnWrite(), which the event store's commit listener calls
// with every committed write to `tokens` and `users` before the commit's
// callers are answered, so a revocation is in force here before its 2xx.
// Load() fills it from the keyspaces at start-up, before any command runs.
// Thread-safe: many concurrent Find()s, one writer.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/huge_pages.h"
#include "core/sha256.h"
#include "core/table_hint.h"

#include "core/ports.h"
#include "core/token.h"

namespace tokenlog::projections {

struct TokenRecordView;  // projections/records.h

class AuthIndex {
 public:
  // A token's owner; interned, never moved or freed while the index lives.
  // Its names sit right after it in the same allocation, so that the check
  // reads an owner in one or two cache lines.
  class Owner {
   public:
    std::string_view tenant() const { return {chars(), tenant_size_}; }
    std::string_view user() const { return {chars() + tenant_size_, user_size_}; }
    std::atomic<bool> deactivated{false};

   private:
    friend class AuthIndex;
    Owner(uint32_t tenant_size, uint32_t user_size)
        : tenant_size_(tenant_size), user_size_(user_size) {}
    // The names follow the object in the arena block that holds both.
    const char* chars() const { return reinterpret_cast<const char*>(this) + sizeof(Owner); }
    uint32_t tenant_size_;
    uint32_t user_size_;
  };
  // What the check learns from one lookup. `owner` stays valid as long as
  // the index does.
  struct Match {
    const Owner* owner = nullptr;
    std::array<char, 20> id{};  // "tok_" + 16 base62
    std::optional<int64_t> expires_at;
    bool revoked = false;
    bool expired_logged = false;

    std::string_view token_id() const { return {id.data(), id.size()}; }
    TokenStatus StatusAt(int64_t now) const {
      return StatusFrom(revoked, expired_logged, expires_at, now);
    }
    TokenRef ref() const { return {token_id(), owner->tenant(), owner->user()}; }
  };

  AuthIndex();
  AuthIndex(const AuthIndex&) = delete;
  AuthIndex& operator=(const AuthIndex&) = delete;

  // Adds every token record and deactivation in `reader` (the tokens on two
  // threads). Returns how many tokens are neither revoked nor logged as
  // expired; kCorruption when a stored record does not decode.
  Result<size_t> Load(const KeyspaceReader& reader);

  // A committed write: `value` is nullopt for a delete. Writes to keyspaces
  // other than `tokens` and `users` are ignored. A token record whose id is
  // not a token id (tokenlog never writes one) is left out: the check then
  // treats its value as unknown.
  // Returns kCorruption when a token record does not decode: the index may
  // then hold a stale entry, and the caller must not go on serving from it.
  Status OnWrite(Keyspace ks, std::string_view key, std::optional<std::string_view> value);

  // Sizes the tables for about `tokens` tokens (a hint: they grow anyway).
  void Reserve(size_t tokens);

  std::optional<Match> Find(const Digest& sha256) const;

  // The ids of tokens neither revoked nor logged expired whose expiry is at
  // or before `now`, the earliest expiry first (then by id):
  // what the expiry sweeper logs next (no projection orders tokens by expiry
  // since schema 6). It scans every slot, but only once `now` reaches a
  // lower bound on the live tokens' expiries that each scan recomputes and
  // each write of a live token with an expiry lowers: while nothing can be
  // due it costs one lock. Safe to call while a writer runs.
  std::vector<std::string> DueForExpiry(int64_t now);

  size_t size() const;

 private:
  // One cache line per token: the digest, the owner (its two low bits hold
  // revoked and expired_logged), the expiry and the id's 16 characters after
  // "tok_". The slot arrays of a large index sit on transparent huge pages
  // where the kernel allows (core/huge_pages.h), so that a lookup in a
  // 1M-token index misses the cache once and the TLB rarely.
  struct alignas(64) Slot {
    Digest digest;
    uintptr_t owner_bits = 0;  // 0: an empty slot
    int64_t expires_at = 0;    // kNoExpiry when none
    std::array<char, 16> id_tail{};

    const Owner* owner() const { return reinterpret_cast<const Owner*>(owner_bits & ~uintptr_t{3}); }
    bool revoked() const { return owner_bits & 1; }
    bool expired_logged() const { return owner_bits & 2; }
  };
  static_assert(sizeof(Slot) == 64);
  using Slots = std::vector<Slot, HugePageAllocator<Slot>>;
  // An open-addressing table (linear probing, no deletes: a token record is
  // never removed), so that a lookup touches one slot, not a bucket list.
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {  // a cache line of its own for each shard's lock
    mutable std::shared_mutex mu;
    Slots slots;      // GUARDED_BY(mu); size a power of two, or 0
    size_t used = 0;  // GUARDED_BY(mu)
    TableHint<Slot> hint;  // the table as of its last change, for PrefetchSlots()
  };

  void Upsert(const TokenRecordView& record);
  // Lowers the expiry bound to `expires_at` if that is earlier.
  void NoteExpiry(int64_t expires_at);
  Owner* InternOwner(std::string_view tenant, std::string_view user);
  // Starts loading the owner slot and the token slot that Upsert(record)
  // will read (the load issues it a batch ahead, so that the two cache
  // misses of each record overlap those of the next ones).
  void PrefetchSlots(const TokenRecordView& record) const;
  Shard& ShardOf(const Digest& d) const;
  // The index of the slot holding `d`, or of the empty slot where it goes.
  // REQUIRES: slots neither empty nor full.
  static size_t Probe(const Slots& slots, const Digest& d);
  // REQUIRES: shard.mu held exclusively.
  static void Grow(Shard& shard, size_t slots);

  std::unique_ptr<Shard[]> shards_;
  // Owners: tenant \0 user -> Owner, open addressing again. A slot holds
  // the key itself when it fits (most do), so that interning a known owner,
  // done for every token loaded, costs one cache line instead of a bucket,
  // a node and the key's heap copy (that was most of a start-up).
  static constexpr size_t kOwnerShards = 16;
  struct OwnerSlot {
    uint64_t hash = 0;
    Owner* owner = nullptr;  // nullptr: an empty slot
    uint32_t size = 0;       // of the key
    std::array<char, 44> key{};  // the key when size <= 44
  };
  static_assert(sizeof(OwnerSlot) == 64);
  // On huge pages too once a shard's table reaches 2 MB (32k slots, from
  // ~12k owners in the shard):
  // loading reads it at random for each token (on 4 KiB pages its growth
  // was ~5k of a start-up's 16k page faults with 200k owners).
  using OwnerSlots = std::vector<OwnerSlot, HugePageAllocator<OwnerSlot>>;
  struct alignas(64) OwnerShard {  // a cache line of its own for each shard's lock
    std::mutex mu;
    OwnerSlots slots;  // GUARDED_BY(mu); size a power of two, or 0
    size_t used = 0;               // GUARDED_BY(mu)
    TableHint<OwnerSlot> hint;  // as in Shard
  };
  // A new Owner of `tenant` and `user` in the owner arena.
  Owner* NewOwner(std::string_view tenant, std::string_view user);
  struct OwnerBlock {
    struct Unmap {
      size_t bytes = 0;
      void operator()(char* p) const;
    };
    std::unique_ptr<char[], Unmap> chars;
  };
  // Owners with their names, packed in huge-page blocks never moved or freed
  // while the index lives (owners are trivially destructible). Taken after
  // an owner shard's lock, never before.
  struct OwnerArena {
    std::mutex mu;
    std::vector<OwnerBlock> blocks;  // GUARDED_BY(mu)
    char* next = nullptr;            // GUARDED_BY(mu)
    size_t left = 0;                 // GUARDED_BY(mu)
  };
  OwnerArena owner_arena_;
  std::unique_ptr<OwnerShard[]> owner_shards_;

  // No token neither revoked nor logged expired expires before
  // earliest_expiry_ (a lower bound; INT64_MAX: none has an expiry).
  // expiry_notes_ counts NoteExpiry() calls, so that a scan can tell whether
  // a write lowered the bound while it ran (then it keeps the lower one).
  std::mutex expiry_mu_;
  int64_t earliest_expiry_ = INT64_MAX;  // GUARDED_BY(expiry_mu_)
  uint64_t expiry_notes_ = 0;            // GUARDED_BY(expiry_mu_)
};

}  // namespace tokenlog::projections
