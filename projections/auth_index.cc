#include "projections/auth_index.h"

#include <cstring>
#include <limits>

#include "core/token_codec.h"
#include "projections/records.h"

namespace tokenlog::projections {

namespace {

constexpr int64_t kNoExpiry = std::numeric_limits<int64_t>::max();

std::string OwnerKey(std::string_view tenant, std::string_view user) {
  std::string key;
  key.reserve(tenant.size() + 1 + user.size());
  key.append(tenant).push_back('\0');
  key.append(user);
  return key;
}

// SHA-256 output is uniform: its bytes are a good hash already. Byte 0
// picks the shard, bytes 8..15 the slot.
uint64_t SlotHash(const Digest& d) {
  uint64_t h;
  std::memcpy(&h, d.data() + 8, sizeof h);
  return h;
}

}  // namespace

AuthIndex::AuthIndex() : shards_(new Shard[kShards]) {}

AuthIndex::Shard& AuthIndex::ShardOf(const Digest& d) const { return shards_[d[0] % kShards]; }

AuthIndex::Owner* AuthIndex::InternOwner(std::string_view tenant, std::string_view user) {
  std::lock_guard<std::mutex> lock(owners_mu_);
  auto [it, inserted] = owners_.try_emplace(OwnerKey(tenant, user));
  if (inserted) {
    it->second = std::make_unique<Owner>();
    it->second->tenant.assign(tenant);
    it->second->user.assign(user);
  }
  return it->second.get();
}

void AuthIndex::Upsert(const TokenRecord& record) {
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
    std::vector<Slot> old = std::move(shard.slots);
    shard.slots.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.entry.owner) shard.slots[Probe(shard.slots, s.digest)] = s;
    }
  }
  Slot* slot = &shard.slots[Probe(shard.slots, record.sha256)];
  if (!slot->entry.owner) ++shard.used;
  slot->digest = record.sha256;
  slot->entry = e;
}

void AuthIndex::OnWrite(Keyspace ks, std::string_view key, std::optional<std::string_view> value) {
  if (ks == Keyspace::kTokens) {
    // The apply never deletes a token record (only a rebuild clears them,
    // and a rebuild happens before an index is loaded).
    if (!value) return;
    auto record = DecodeTokenRecord(*value);
    if (record.ok()) Upsert(*record);
    return;
  }
  if (ks == Keyspace::kUsers) {
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos) return;
    Owner* owner = InternOwner(key.substr(0, nul), key.substr(nul + 1));
    owner->deactivated.store(value.has_value(), std::memory_order_release);
  }
}

Status AuthIndex::Load(const KeyspaceReader& reader) {
  Status bad;
  TL_RETURN_IF_ERROR(reader.Scan(Keyspace::kUsers, "", "", /*reverse=*/false,
                                 [&](std::string_view key, std::string_view value) {
                                   OnWrite(Keyspace::kUsers, key, value);
                                   return true;
                                 }));
  TL_RETURN_IF_ERROR(reader.Scan(Keyspace::kTokens, "", "", /*reverse=*/false,
                                 [&](std::string_view key, std::string_view value) {
                                   auto record = DecodeTokenRecord(value);
                                   if (!record.ok()) {
                                     bad = Status(Code::kCorruption,
                                                  "token record " + std::string(key) + ": " +
                                                      record.status().detail());
                                     return false;
                                   }
                                   Upsert(*record);
                                   return true;
                                 }));
  return bad;
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
