#include "core/usage_ledger.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <new>

#include "core/label.h"
#include "core/spin_first_lock.h"
#include "core/token_codec.h"

namespace tokenlog {

namespace {

// What an event keeps of text a client sent (a claimed user, a User-Agent):
// sanitized and bounded, or kWithheldText when it may hold a token value
// (someone pasting a token into Power BI's username field as well as its
// password field): the log is hash-chained, so nothing in it can be taken
// out later.
std::string Recordable(std::string_view text, size_t max_bytes) {
  if (MayHoldTokenValue(text)) return std::string(kWithheldText);
  return SanitizeText(text, max_bytes);
}

}  // namespace

std::optional<UsageLedger::IdKey> UsageLedger::IdKey::Of(std::string_view id) {
  if (id.size() > kMax) return std::nullopt;
  IdKey k;
  k.size = static_cast<uint8_t>(id.size());
  std::memcpy(k.bytes.data(), id.data(), id.size());
  return k;
}

void UsageLedger::Cold::set_agent(std::string_view clean) {
  clean = clean.substr(0, kMaxUserAgentBytes);
  agent_size = static_cast<uint16_t>(clean.size());
  if (clean.size() <= kInlineAgent) {
    std::memcpy(agent_inline.data(), clean.data(), clean.size());
    agent_long.clear();
  } else {
    agent_long.assign(clean);
  }
}

UsageLedger::Shard::~Shard() {
  for (Slot& slot : slots) delete slot.cold;
}

UsageLedger::Slot* UsageLedger::Find(Shard& shard, const IdKey& key, uint64_t hash) {
  if (shard.slots.empty()) return nullptr;
  const size_t mask = shard.slots.size() - 1;
  for (size_t i = (hash / kShards) & mask;; i = (i + 1) & mask) {  // the low bits chose the shard
    Slot& slot = shard.slots[i];
    if (!slot.cold) return nullptr;
    if (slot.hash == hash && slot.key == key) return &slot;
  }
}

UsageLedger::Slot* UsageLedger::FindOrAdd(Shard& shard, const IdKey& key, uint64_t hash,
                                          std::string_view tenant, std::string_view user) {
  if (Slot* found = Find(shard, key, hash)) return found;
  // A place is reserved before the entry is added (shards are locked one at
  // a time, so the bound is kept by the counter) and given back if adding
  // it throws.
  size_t n = tracked_.load(std::memory_order_relaxed);
  do {
    if (n >= config_.max_tokens) return nullptr;
  } while (!tracked_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  struct GiveBack {
    std::atomic<size_t>& tracked;
    bool added = false;
    ~GiveBack() {
      if (!added) tracked.fetch_sub(1, std::memory_order_relaxed);
    }
  } give_back{tracked_};
  Slot* slot = Insert(shard, key, hash, tenant, user);
  give_back.added = true;
  return slot;
}

UsageLedger::Slot* UsageLedger::Insert(Shard& shard, const IdKey& key, uint64_t hash,
                                       std::string_view tenant, std::string_view user) {
  auto cold = std::make_unique<Cold>();
  cold->tenant = tenant;
  cold->user = user;
  if ((shard.used + 1) * 4 > shard.slots.size() * 3) {  // keep the load <= 3/4
    Rehash(shard, std::max<size_t>(shard.slots.size() * 2, 16));
  }
  const size_t mask = shard.slots.size() - 1;
  size_t i = (hash / kShards) & mask;
  while (shard.slots[i].cold) i = (i + 1) & mask;
  Slot& slot = shard.slots[i];
  slot = Slot{};
  slot.key = key;
  slot.hash = hash;
  slot.cold = cold.release();
  ++shard.used;
  return &slot;
}

void UsageLedger::Rehash(Shard& shard, size_t size) {
  // Built aside and swapped in: a bad_alloc leaves the shard as it was.
  std::vector<Slot> moved(size);
  const size_t mask = size - 1;
  for (const Slot& slot : shard.slots) {
    if (!slot.cold) continue;
    size_t i = (slot.hash / kShards) & mask;
    while (moved[i].cold) i = (i + 1) & mask;
    moved[i] = slot;
  }
  shard.slots.swap(moved);
  shard.hint.Set(shard.slots.data(), mask);
}

void UsageLedger::Prefetch(std::string_view token_id) const {
  if (token_id.size() > IdKey::kMax) return;
  const uint64_t hash = std::hash<std::string_view>()(token_id);  // HashOf's
  ShardOf(hash).hint.Prefetch(hash / kShards);  // the low bits chose the shard
}

void UsageLedger::Erase(Shard& shard, size_t i) {
  delete shard.slots[i].cold;
  const size_t mask = shard.slots.size() - 1;
  // Backward shift: each later slot of the run moves into the hole unless
  // its home lies cyclically in (hole, slot].
  for (size_t j = (i + 1) & mask; shard.slots[j].cold; j = (j + 1) & mask) {
    const size_t home = (shard.slots[j].hash / kShards) & mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    shard.slots[i] = shard.slots[j];
    i = j;
  }
  shard.slots[i] = Slot{};
  --shard.used;
  tracked_.fetch_sub(1, std::memory_order_relaxed);
}

template <typename Update>
void UsageLedger::WithSlot(TokenRef token, Update&& update) {
  auto key = IdKey::Of(token.id);
  if (!key) return;
  const uint64_t hash = HashOf(*key);
  Shard& shard = ShardOf(hash);
  // Every check of a token updates its slot: the checks of one busy token
  // (a dashboard's parallel queries) meet on this lock.
  const std::unique_lock<std::mutex> lock = LockSpinningFirst(shard.mu);
  if (Slot* slot = FindOrAdd(shard, *key, hash, token.tenant, token.user)) update(*slot);
}

void UsageLedger::RecordUse(TokenRef token, std::string_view ip,
                            std::string_view user_agent, int64_t now) {
  WithSlot(token, [&](Slot& slot) {
    Cold& c = *slot.cold;
    if (slot.count == 0) {
      c.first_at = now;
      slot.last_at = now;
    }
    ++slot.count;
    slot.last_at = std::max(slot.last_at, now);
    if (c.ip != ip) c.ip.assign(ip);
    // The same client sends the same (already clean) User-Agent every time:
    // sanitize only when it changed.
    if (c.agent() != user_agent) {
      const uint64_t raw = std::hash<std::string_view>()(user_agent);
      if (raw != c.raw_agent_hash) {
        c.set_agent(Recordable(user_agent, kMaxUserAgentBytes));
        c.raw_agent_hash = raw;
      }
    }
  });
}

void UsageLedger::RecordDenial(TokenRef token, DenyReason reason,
                               std::string_view claimed_user, std::string_view ip,
                               std::string_view user_agent, int64_t now) {
  (void)now;
  WithSlot(token, [&](Slot& slot) {
    std::unique_ptr<PendingDenial>& pending = slot.cold->denial;
    if (!pending) pending = std::make_unique<PendingDenial>();
    PendingDenial& d = *pending;
    ++d.count;
    d.reason = reason;
    d.claimed_user = Recordable(claimed_user, 254);
    d.ip.assign(ip);
    d.user_agent = Recordable(user_agent, kMaxUserAgentBytes);
  });
}

std::vector<Event> UsageLedger::TakeDue(int64_t now, bool everything) {
  std::vector<Event> out;
  std::vector<Event> shard_events;
  for (size_t i = 0; i < kShards; ++i) {
    // Built under the shard's lock; moved into `out` (which may regrow)
    // after it is released, so that checks of that shard do not wait.
    TakeDue(shards_[i], now, everything, shard_events);
    std::move(shard_events.begin(), shard_events.end(), std::back_inserter(out));
    shard_events.clear();
  }
  return out;
}

void UsageLedger::TakeDue(Shard& shard, int64_t now, bool everything, std::vector<Event>& out) {
  std::lock_guard<std::mutex> lock(shard.mu);
  // By index: an erase shifts a later slot into the hole, which is then
  // looked at again; a slot that wraps around from the front may be looked
  // at twice, which changes nothing (its counts were taken the first time,
  // and it was not quiet then).
  for (size_t i = 0; i < shard.slots.size();) {
    Slot& slot = shard.slots[i];
    if (!slot.cold) {
      ++i;
      continue;
    }
    Cold& c = *slot.cold;
    auto base = [&](Actor actor) {
      Event ev;
      ev.tenant = c.tenant;
      ev.actor = std::move(actor);
      ev.user = c.user;
      ev.token_id = std::string(slot.key.view());
      return ev;
    };
    if (slot.count > 0 &&
        (everything || !c.last_use_event_at ||
         now - *c.last_use_event_at >= config_.usage_interval_ms)) {
      Event ev = base(Actor{ActorRole::kSystem, std::nullopt, std::nullopt});
      ev.data = TokenUsed{c.ip, std::string(c.agent()), slot.count, c.first_at, slot.last_at};
      out.push_back(std::move(ev));
      c.last_used_taken = std::max(c.last_used_taken.value_or(slot.last_at), slot.last_at);
      slot.count = 0;
      slot.last_at = 0;
      c.last_use_event_at = now;
    }
    if (c.denial_pending() &&
        (everything || !c.last_denial_event_at ||
         now - *c.last_denial_event_at >= config_.denial_interval_ms)) {
      PendingDenial& d = *c.denial;
      Event ev = base(Actor{ActorRole::kBasic, std::nullopt, d.ip});
      ev.data = AuthDenied{d.reason, std::move(d.claimed_user), d.ip, std::move(d.user_agent),
                           d.count};
      out.push_back(std::move(ev));
      c.denial.reset();
      c.last_denial_event_at = now;
    }
    // Forget tokens with nothing pending once their throttles have lapsed.
    bool use_quiet = !c.last_use_event_at || now - *c.last_use_event_at >= config_.usage_interval_ms;
    bool denial_quiet =
        !c.last_denial_event_at || now - *c.last_denial_event_at >= config_.denial_interval_ms;
    if (slot.count == 0 && !c.denial_pending() && use_quiet && denial_quiet) {
      Erase(shard, i);
    } else {
      ++i;
    }
  }
  // A table left mostly empty by a burst that has passed shrinks again
  // (to nothing when empty); failing to shrink changes nothing.
  if (shard.slots.size() > 16 && shard.used * 8 < shard.slots.size()) {
    size_t size = 16;
    while (shard.used * 4 > size) size *= 2;
    try {
      if (shard.used == 0) {
        std::vector<Slot>().swap(shard.slots);
        shard.hint.Clear();
      } else {
        Rehash(shard, size);
      }
    } catch (const std::bad_alloc&) {
    }
  }
}

void UsageLedger::Requeue(const std::vector<Event>& events) {
  for (const Event& ev : events) {
    if (!ev.token_id || !ev.user) continue;
    auto key = IdKey::Of(*ev.token_id);
    if (!key) continue;
    const uint64_t hash = HashOf(*key);
    Shard& shard = ShardOf(hash);
    std::lock_guard<std::mutex> lock(shard.mu);
    Slot* slot = Find(shard, *key, hash);
    if (!slot) {
      slot = Insert(shard, *key, hash, ev.tenant, *ev.user);
      tracked_.fetch_add(1, std::memory_order_relaxed);  // a requeue is never dropped
    }
    Cold& c = *slot->cold;
    c.tenant = ev.tenant;
    c.user = *ev.user;
    if (const auto* used = std::get_if<TokenUsed>(&ev.data)) {
      if (slot->count == 0) {
        c.first_at = used->first_at;
        slot->last_at = used->last_at;
        c.ip = used->ip;
        c.set_agent(used->user_agent);
        c.raw_agent_hash = 0;
      }
      c.first_at = std::min(c.first_at, used->first_at);
      slot->last_at = std::max(slot->last_at, used->last_at);
      slot->count += used->count;
      c.last_use_event_at.reset();
    } else if (const auto* denied = std::get_if<AuthDenied>(&ev.data)) {
      if (!c.denial) c.denial = std::make_unique<PendingDenial>();
      PendingDenial& d = *c.denial;
      if (d.count == 0) {
        d.reason = denied->reason;
        d.claimed_user = denied->claimed_user;
        d.ip = denied->ip;
        d.user_agent = denied->user_agent;
      }
      d.count += denied->count;
      c.last_denial_event_at.reset();
    }
  }
}

std::optional<int64_t> UsageLedger::LastUsed(std::string_view token_id) const {
  auto key = IdKey::Of(token_id);
  if (!key) return std::nullopt;
  const uint64_t hash = HashOf(*key);
  Shard& shard = ShardOf(hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  const Slot* slot = Find(shard, *key, hash);
  if (!slot) return std::nullopt;
  std::optional<int64_t> last = slot->cold->last_used_taken;
  if (slot->count > 0) last = std::max(last.value_or(slot->last_at), slot->last_at);
  return last;
}

}  // namespace tokenlog
