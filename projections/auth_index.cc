#include "projections/auth_index.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <thread>

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

AuthIndex::AuthIndex() : shards_(new Shard[kShards]), owner_shards_(new OwnerShard[kOwnerShards]) {}

AuthIndex::Shard& AuthIndex::ShardOf(const Digest& d) const { return shards_[d[0] % kShards]; }

AuthIndex::Owner* AuthIndex::InternOwner(std::string_view tenant, std::string_view user) {
  thread_local std::string key;  // no allocation for an owner already known
  key.assign(tenant).push_back('\0');
  key.append(user);
  const uint64_t hash = std::hash<std::string_view>()(key);
  OwnerShard& shard = owner_shards_[hash % kOwnerShards];
  auto matches = [&](const OwnerSlot& slot) {
    if (slot.hash != hash || slot.size != key.size()) return false;
    if (key.size() <= slot.key.size()) {
      return std::memcmp(slot.key.data(), key.data(), key.size()) == 0;
    }
    return slot.owner->tenant == tenant && slot.owner->user == user;
  };
  std::lock_guard<std::mutex> lock(shard.mu);
  if ((shard.used + 1) * 4 > shard.slots.size() * 3) {  // keep the load <= 3/4
    std::vector<OwnerSlot> old = std::move(shard.slots);
    shard.slots.assign(std::max<size_t>(old.size() * 2, 1024), OwnerSlot{});
    const size_t mask = shard.slots.size() - 1;
    for (const OwnerSlot& slot : old) {
      if (!slot.owner) continue;
      size_t i = (slot.hash / kOwnerShards) & mask;
      while (shard.slots[i].owner) i = (i + 1) & mask;
      shard.slots[i] = slot;
    }
  }
  const size_t mask = shard.slots.size() - 1;
  size_t i = (hash / kOwnerShards) & mask;  // the low bits chose the shard
  for (; shard.slots[i].owner; i = (i + 1) & mask) {
    if (matches(shard.slots[i])) return shard.slots[i].owner;
  }
  Owner& owner = shard.owners.emplace_back();
  owner.tenant.assign(tenant);
  owner.user.assign(user);
  OwnerSlot& slot = shard.slots[i];
  slot.hash = hash;
  slot.owner = &owner;
  slot.size = static_cast<uint32_t>(key.size());
  if (key.size() <= slot.key.size()) std::memcpy(slot.key.data(), key.data(), key.size());
  ++shard.used;
  return &owner;
}

void AuthIndex::Upsert(const TokenRecordView& record) {
  if (!IsValidTokenId(record.id) || record.id.size() != std::tuple_size_v<decltype(Entry::id)>) {
    return;
  }
  Entry e;
  e.owner = InternOwner(record.tenant, record.user);
  std::memcpy(e.id.data(), record.id.data(), e.id.size());
  e.expires_at = record.expires_at.value_or(kNoExpiry);
  e.revoked = record.revoked_at.has_value();
  e.expired_logged = record.expired_logged;
  Shard& shard = ShardOf(record.sha256);
  std::unique_lock lock(shard.mu);
  if ((shard.used + 1) * 4 > shard.slots.size() * 3) {  // keep the load <= 3/4
    Grow(shard, shard.slots.empty() ? 64 : shard.slots.size() * 2);
  }
  Slot* slot = &shard.slots[Probe(shard.slots, record.sha256)];
  if (!slot->entry.owner) ++shard.used;
  slot->digest = record.sha256;
  slot->entry = e;
}

Status AuthIndex::OnWrite(Keyspace ks, std::string_view key,
                          std::optional<std::string_view> value) {
  if (ks == Keyspace::kTokens) {
    // The apply never deletes a token record (only a rebuild clears them,
    // and a rebuild happens before an index is loaded).
    if (!value) return Status();
    TL_ASSIGN_OR_RETURN(TokenRecordView record, DecodeTokenRecordView(*value));
    Upsert(record);
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
  auto load = [&](size_t part) {
    Status bad;
    Status scanned = reader.Scan(
        Keyspace::kTokens, "", part == 0 ? "" : kSplit, /*reverse=*/false,
        [&](std::string_view key, std::string_view value) {
          if (part == 0 && key >= kSplit) return false;
          auto record = DecodeTokenRecordView(value);
          if (!record.ok()) {
            bad = Status(Code::kCorruption,
                         "token record " + std::string(key) + ": " + record.status().detail());
            return false;
          }
          Upsert(*record);
          if (!record->revoked_at && !record->expired_logged) ++live[part];
          return true;
        });
    status[part] = scanned.ok() ? bad : scanned;
  };
  std::thread other(load, 1);
  load(0);
  other.join();
  for (const Status& s : status) TL_RETURN_IF_ERROR(s);
  return live[0] + live[1];
}

void AuthIndex::Grow(Shard& shard, size_t slots) {
  std::vector<Slot> old = std::move(shard.slots);
  shard.slots.assign(slots, Slot{});
  for (const Slot& s : old) {
    if (s.entry.owner) shard.slots[Probe(shard.slots, s.digest)] = s;
  }
}

void AuthIndex::Reserve(size_t tokens) {
  tokens = std::min(tokens, size_t{1} << 20);  // ~170 MB at most: a hint, not a promise
  size_t per_shard = tokens / kShards + 1;
  size_t slots = 64;
  while (slots * 3 < per_shard * 4) slots *= 2;  // load <= 3/4
  for (size_t i = 0; i < kShards; ++i) {
    std::unique_lock lock(shards_[i].mu);
    if (shards_[i].slots.size() < slots) Grow(shards_[i], slots);
  }
}

size_t AuthIndex::Probe(const std::vector<Slot>& slots, const Digest& d) {
  const size_t mask = slots.size() - 1;
  for (size_t i = SlotHash(d) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots[i];
    if (!s.entry.owner || s.digest == d) return i;
  }
}

std::optional<AuthIndex::Match> AuthIndex::Find(const Digest& sha256) const {
  const Shard& shard = ShardOf(sha256);
  std::shared_lock lock(shard.mu);
  if (shard.slots.empty()) return std::nullopt;
  const Slot& slot = shard.slots[Probe(shard.slots, sha256)];
  if (!slot.entry.owner) return std::nullopt;
  const Entry& e = slot.entry;
  Match m;
  m.owner = e.owner;
  m.id = e.id;
  if (e.expires_at != kNoExpiry) m.expires_at = e.expires_at;
  m.revoked = e.revoked;
  m.expired_logged = e.expired_logged;
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
