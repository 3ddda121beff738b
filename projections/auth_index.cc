#include "projections/auth_index.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/huge_pages.h"
#include "core/spin_first_lock.h"
#include "core/token_codec.h"
#include "projections/records.h"

namespace tokenlog::projections {

namespace {

constexpr int64_t kNoExpiry = std::numeric_limits<int64_t>::max();

// SHA-256 output is uniform: its bytes are a good hash already. Byte 0
// picks the shard, bytes 8..15 the slot.
uint64_t SlotHash(const Digest& d) {
  uint64_t h;
  std::memcpy(&h, d.data() + 8, sizeof h);
  return h;
}

}  // namespace

void AuthIndex::OwnerBlock::Unmap::operator()(char* p) const { UnmapHugePages(p, bytes); }

AuthIndex::AuthIndex() : shards_(new Shard[kShards]), owner_shards_(new OwnerShard[kOwnerShards]) {}

AuthIndex::Shard& AuthIndex::ShardOf(const Digest& d) const { return shards_[d[0] % kShards]; }

namespace {

// The index's locks (LockSpinningFirst, core/spin_first_lock.h) are mostly
// held for one probe (a table's growth, or an owner that starts a new arena
// block, holds them longer). Loading 1M tokens on two threads slept ~250
// times on them as plain locks, ~0.2 s of a 0.9 s start-up; it now sleeps
// ~40 times.

// The owner table's key, tenant \0 user, in a buffer of the calling thread's
// (no allocation for a known owner), and its hash.
std::pair<std::string_view, uint64_t> OwnerKey(std::string_view tenant, std::string_view user) {
  thread_local std::string key;
  key.assign(tenant).push_back('\0');
  key.append(user);
  return {key, std::hash<std::string_view>()(key)};
}

}  // namespace

void AuthIndex::PrefetchSlots(const TokenRecordView& record) const {
  const uint64_t hash = OwnerKey(record.tenant, record.user).second;
  owner_shards_[hash % kOwnerShards].hint.Prefetch(hash / kOwnerShards);
  ShardOf(record.sha256).hint.Prefetch(SlotHash(record.sha256));
}

AuthIndex::Owner* AuthIndex::InternOwner(std::string_view tenant, std::string_view user) {
  const auto owner_key = OwnerKey(tenant, user);  // (clang 14 cannot capture structured bindings)
  const std::string_view key = owner_key.first;
  const uint64_t hash = owner_key.second;
  OwnerShard& shard = owner_shards_[hash % kOwnerShards];
  auto matches = [&](const OwnerSlot& slot) {
    if (slot.hash != hash || slot.size != key.size()) return false;
    if (key.size() <= slot.key.size()) {
      return std::memcmp(slot.key.data(), key.data(), key.size()) == 0;
    }
    return slot.owner->tenant() == tenant && slot.owner->user() == user;
  };
  OwnerSlots retired;  // a replaced table, freed after the lock is released
  std::unique_lock<std::mutex> lock = LockSpinningFirst(shard.mu);
  while ((shard.used + 1) * 4 > shard.slots.size() * 3) {  // keep the load <= 3/4
    // Built aside and swapped in: a bad_alloc leaves the shard as it was.
    // Allocated and zeroed with the lock released: its page faults are most
    // of a grow, and the other loading thread would wait them out.
    const size_t size = std::max<size_t>(shard.slots.size() * 2, 1024);
    lock.unlock();
    OwnerSlots grown(size);
    lock.lock();
    if (grown.size() <= shard.slots.size()) {  // grown meanwhile: look again
      retired.swap(grown);  // (freed after the lock too)
      continue;
    }
    const size_t mask = grown.size() - 1;
    for (const OwnerSlot& slot : shard.slots) {
      if (!slot.owner) continue;
      size_t i = (slot.hash / kOwnerShards) & mask;
      while (grown[i].owner) i = (i + 1) & mask;
      grown[i] = slot;
    }
    shard.slots.swap(grown);
    shard.hint.Set(shard.slots.data(), mask);
    retired.swap(grown);
  }
  const size_t mask = shard.slots.size() - 1;
  size_t i = (hash / kOwnerShards) & mask;  // the low bits chose the shard
  for (; shard.slots[i].owner; i = (i + 1) & mask) {
    if (matches(shard.slots[i])) return shard.slots[i].owner;
  }
  Owner* owner = NewOwner(tenant, user);
  OwnerSlot& slot = shard.slots[i];
  slot.hash = hash;
  slot.owner = owner;
  slot.size = static_cast<uint32_t>(key.size());
  if (key.size() <= slot.key.size()) std::memcpy(slot.key.data(), key.data(), key.size());
  ++shard.used;
  return owner;
}

AuthIndex::Owner* AuthIndex::NewOwner(std::string_view tenant, std::string_view user) {
  static_assert(std::is_trivially_destructible_v<Owner>);
  static_assert(alignof(Owner) >= 4, "two low bits of an Owner* tag a slot");
  if (tenant.size() > std::numeric_limits<uint32_t>::max() ||
      user.size() > std::numeric_limits<uint32_t>::max()) {
    throw std::length_error("owner name too long");
  }
  const size_t bytes =
      (sizeof(Owner) + tenant.size() + user.size() + alignof(Owner) - 1) / alignof(Owner) *
      alignof(Owner);
  const std::unique_lock<std::mutex> lock = LockSpinningFirst(owner_arena_.mu);
  if (bytes > owner_arena_.left) {
    // Owners go on huge pages, like the slots that point to them; a name
    // longer than a block (never a valid one) gets a block of its own.
    const size_t size = RoundToHugePages(std::max(bytes, kHugePage));
    OwnerBlock block{std::unique_ptr<char[], OwnerBlock::Unmap>(
        static_cast<char*>(MapHugePages(size)), OwnerBlock::Unmap{size})};
    owner_arena_.blocks.push_back(std::move(block));  // unmapped again if this throws
    owner_arena_.next = owner_arena_.blocks.back().chars.get();
    owner_arena_.left = size;
  }
  char* at = owner_arena_.next;
  owner_arena_.next += bytes;
  owner_arena_.left -= bytes;
  Owner* owner = new (at) Owner(static_cast<uint32_t>(tenant.size()),
                                static_cast<uint32_t>(user.size()));
  std::memcpy(at + sizeof(Owner), tenant.data(), tenant.size());
  std::memcpy(at + sizeof(Owner) + tenant.size(), user.data(), user.size());
  return owner;
}

void AuthIndex::Upsert(const TokenRecordView& record) {
  if (!IsValidTokenId(record.id) || record.id.size() != std::tuple_size_v<decltype(Match::id)>) {
    return;
  }
  static_assert(std::tuple_size_v<decltype(Slot::id_tail)> + kTokenIdPrefix.size() ==
                std::tuple_size_v<decltype(Match::id)>);
  if (record.id.substr(0, kTokenIdPrefix.size()) != kTokenIdPrefix) return;
  Slot fresh;
  fresh.digest = record.sha256;
  fresh.owner_bits = reinterpret_cast<uintptr_t>(InternOwner(record.tenant, record.user)) |
                     (record.revoked_at.has_value() ? 1 : 0) | (record.expired_logged ? 2 : 0);
  fresh.expires_at = record.expires_at.value_or(kNoExpiry);
  std::memcpy(fresh.id_tail.data(), record.id.data() + kTokenIdPrefix.size(),
              fresh.id_tail.size());
  Shard& shard = ShardOf(record.sha256);
  const std::unique_lock<std::shared_mutex> lock = LockSpinningFirst(shard.mu);
  if ((shard.used + 1) * 4 > shard.slots.size() * 3) {  // keep the load <= 3/4
    Grow(shard, shard.slots.empty() ? 64 : shard.slots.size() * 2);
  }
  Slot& slot = shard.slots[Probe(shard.slots, record.sha256)];
  if (!slot.owner_bits) ++shard.used;
  slot = fresh;
}

Status AuthIndex::OnWrite(Keyspace ks, std::string_view key,
                          std::optional<std::string_view> value) {
  if (ks == Keyspace::kTokens) {
    // The apply never deletes a token record (only a rebuild clears them,
    // and a rebuild happens before an index is loaded).
    if (!value) return Status();
    TL_ASSIGN_OR_RETURN(TokenRecordView record, DecodeTokenRecordView(*value));
    Upsert(record);
    if (record.expires_at && !record.revoked_at && !record.expired_logged) {
      NoteExpiry(*record.expires_at);
    }
    return Status();
  }
  if (ks == Keyspace::kUsers) {
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos) {
      return Status(Code::kCorruption, "users key without a tenant separator");
    }
    Owner* owner = InternOwner(key.substr(0, nul), key.substr(nul + 1));
    owner->deactivated.store(value.has_value(), std::memory_order_release);
  }
  return Status();
}

Result<size_t> AuthIndex::Load(const KeyspaceReader& reader) {
  Status users;
  TL_RETURN_IF_ERROR(reader.Scan(Keyspace::kUsers, "", "", /*reverse=*/false,
                                 [&](std::string_view key, std::string_view value) {
                                   users = OnWrite(Keyspace::kUsers, key, value);
                                   return users.ok();
                                 }));
  TL_RETURN_IF_ERROR(users);
  // Two halves of the token ids ("tok_" + base62, uniform), one per thread.
  constexpr std::string_view kSplit = "tok_V";
  std::array<Status, 2> status;
  std::array<size_t, 2> live{};
  std::array<int64_t, 2> earliest{kNoExpiry, kNoExpiry};
  auto load = [&](size_t part) {
    // Records are added a batch behind the scan: each one's owner and token
    // slots are prefetched as it is read (a record in id order has a random
    // owner and slot, two cache misses), and by the time it is added they
    // are in cache.
    constexpr size_t kBatch = 16;
    struct Read {
      std::string bytes;  // the record's value, reused across batches
      TokenRecordView record;
    };
    std::array<Read, kBatch> batch;
    size_t pending = 0;
    auto add_pending = [&] {
      for (size_t i = 0; i < pending; ++i) {
        const TokenRecordView& record = batch[i].record;
        Upsert(record);
        if (!record.revoked_at && !record.expired_logged) {
          ++live[part];
          earliest[part] = std::min(earliest[part], record.expires_at.value_or(kNoExpiry));
        }
      }
      pending = 0;
    };
    Status bad;
    Status scanned = reader.Scan(
        Keyspace::kTokens, "", part == 0 ? "" : kSplit, /*reverse=*/false,
        [&](std::string_view key, std::string_view value) {
          if (part == 0 && key >= kSplit) return false;
          Read& read = batch[pending];
          read.bytes.assign(value);
          auto record = DecodeTokenRecordView(read.bytes);
          if (!record.ok()) {
            bad = Status(Code::kCorruption,
                         "token record " + std::string(key) + ": " + record.status().detail());
            return false;
          }
          read.record = *record;
          PrefetchSlots(read.record);
          if (++pending == kBatch) add_pending();
          return true;
        });
    if (scanned.ok() && bad.ok()) add_pending();
    status[part] = scanned.ok() ? bad : scanned;
  };
  std::thread other(load, 1);
  load(0);
  other.join();
  for (const Status& s : status) TL_RETURN_IF_ERROR(s);
  NoteExpiry(std::min(earliest[0], earliest[1]));
  return live[0] + live[1];
}

void AuthIndex::NoteExpiry(int64_t expires_at) {
  std::lock_guard lock(expiry_mu_);
  earliest_expiry_ = std::min(earliest_expiry_, expires_at);
  ++expiry_notes_;
}

std::vector<std::string> AuthIndex::DueForExpiry(int64_t now) {
  uint64_t notes = 0;
  {
    std::lock_guard lock(expiry_mu_);
    if (now < earliest_expiry_) return {};
    notes = expiry_notes_;
  }
  // A slot written after its shard was scanned was noted (OnWrite notes
  // after Upsert), so the bound below stays a lower bound.
  std::vector<std::pair<int64_t, std::array<char, 16>>> due;
  int64_t earliest = kNoExpiry;
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mu);
    for (const Slot& slot : shards_[i].slots) {
      if (!slot.owner_bits || slot.revoked() || slot.expired_logged() ||
          slot.expires_at == kNoExpiry) {
        continue;
      }
      earliest = std::min(earliest, slot.expires_at);
      if (slot.expires_at <= now) due.emplace_back(slot.expires_at, slot.id_tail);
    }
  }
  {
    std::lock_guard lock(expiry_mu_);
    earliest_expiry_ = notes == expiry_notes_ ? earliest : std::min(earliest, earliest_expiry_);
  }
  std::sort(due.begin(), due.end());
  std::vector<std::string> ids;
  ids.reserve(due.size());
  for (const auto& [expires_at, tail] : due) {
    ids.emplace_back(kTokenIdPrefix);
    ids.back().append(tail.data(), tail.size());
  }
  return ids;
}

void AuthIndex::Grow(Shard& shard, size_t slots) {
  // Built aside and swapped in: a bad_alloc leaves the shard as it was.
  Slots grown(slots);
  for (const Slot& s : shard.slots) {
    if (s.owner_bits) grown[Probe(grown, s.digest)] = s;
  }
  shard.slots.swap(grown);
  shard.hint.Set(shard.slots.data(), slots - 1);
}

void AuthIndex::Reserve(size_t tokens) {
  tokens = std::min(tokens, size_t{1} << 20);  // ~130 MB at most: a hint, not a promise
  size_t per_shard = tokens / kShards + 1;
  size_t slots = 64;
  while (slots * 3 < per_shard * 4) slots *= 2;  // load <= 3/4
  for (size_t i = 0; i < kShards; ++i) {
    std::unique_lock lock(shards_[i].mu);
    if (shards_[i].slots.size() < slots) Grow(shards_[i], slots);
  }
}

size_t AuthIndex::Probe(const Slots& slots, const Digest& d) {
  const size_t mask = slots.size() - 1;
  for (size_t i = SlotHash(d) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots[i];
    if (!s.owner_bits || s.digest == d) return i;
  }
}

std::optional<AuthIndex::Match> AuthIndex::Find(const Digest& sha256) const {
  const Shard& shard = ShardOf(sha256);
  std::shared_lock lock(shard.mu);
  if (shard.slots.empty()) return std::nullopt;
  const Slot& slot = shard.slots[Probe(shard.slots, sha256)];
  if (!slot.owner_bits) return std::nullopt;
  Match m;
  m.owner = slot.owner();
  std::memcpy(m.id.data(), kTokenIdPrefix.data(), kTokenIdPrefix.size());
  std::memcpy(m.id.data() + kTokenIdPrefix.size(), slot.id_tail.data(), slot.id_tail.size());
  if (slot.expires_at != kNoExpiry) m.expires_at = slot.expires_at;
  m.revoked = slot.revoked();
  m.expired_logged = slot.expired_logged();
  return m;
}

size_t AuthIndex::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mu);
    n += shards_[i].used;
  }
  return n;
}

}  // namespace tokenlog::projections
