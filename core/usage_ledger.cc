#include "core/usage_ledger.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "core/label.h"

namespace tokenlog {

std::optional<UsageLedger::IdKey> UsageLedger::IdKey::Of(std::string_view id) {
  if (id.size() > kMax) return std::nullopt;
  IdKey k;
  k.size = static_cast<uint8_t>(id.size());
  std::memcpy(k.bytes.data(), id.data(), id.size());
  return k;
}

UsageLedger::Entry* UsageLedger::FindOrAdd(Shard& shard, const IdKey& key, TokenRef token) {
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) return &it->second;
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
  Entry& e = shard.entries[key];
  give_back.added = true;
  e.tenant = token.tenant;
  e.user = token.user;
  return &e;
}

void UsageLedger::RecordUse(TokenRef token, std::string_view ip,
                            std::string_view user_agent, int64_t now) {
  auto key = IdKey::Of(token.id);
  if (!key) return;
  Shard& shard = ShardOf(*key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry* e = FindOrAdd(shard, *key, token);
  if (!e) return;
  PendingUse& u = e->use;
  if (u.count == 0) u.first_at = now;
  ++u.count;
  u.last_at = std::max(u.last_at, now);
  u.ip.assign(ip);
  // The same client sends the same (already clean) User-Agent every time:
  // sanitize only when it changed.
  if (u.user_agent != user_agent) u.user_agent = SanitizeText(user_agent, kMaxUserAgentBytes);
  e->last_used = std::max(e->last_used.value_or(now), now);
}

void UsageLedger::RecordDenial(TokenRef token, DenyReason reason,
                               std::string_view claimed_user, std::string_view ip,
                               std::string_view user_agent, int64_t now) {
  (void)now;
  auto key = IdKey::Of(token.id);
  if (!key) return;
  Shard& shard = ShardOf(*key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry* e = FindOrAdd(shard, *key, token);
  if (!e) return;
  PendingDenial& d = e->denial;
  ++d.count;
  d.reason = reason;
  d.claimed_user = SanitizeText(claimed_user, 254);
  d.ip.assign(ip);
  d.user_agent = SanitizeText(user_agent, kMaxUserAgentBytes);
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
  for (auto it = shard.entries.begin(); it != shard.entries.end();) {
    Entry& e = it->second;
    auto base = [&](Actor actor) {
      Event ev;
      ev.tenant = e.tenant;
      ev.actor = std::move(actor);
      ev.user = e.user;
      ev.token_id = std::string(it->first.view());
      return ev;
    };
    if (e.use.count > 0 &&
        (everything || !e.last_use_event_at ||
         now - *e.last_use_event_at >= config_.usage_interval_ms)) {
      Event ev = base(Actor{ActorRole::kSystem, std::nullopt, std::nullopt});
      ev.data = TokenUsed{e.use.ip, e.use.user_agent, e.use.count, e.use.first_at, e.use.last_at};
      out.push_back(std::move(ev));
      e.use = PendingUse{};
      e.last_use_event_at = now;
    }
    if (e.denial.count > 0 &&
        (everything || !e.last_denial_event_at ||
         now - *e.last_denial_event_at >= config_.denial_interval_ms)) {
      Event ev = base(Actor{ActorRole::kBasic, std::nullopt, e.denial.ip});
      ev.data = AuthDenied{e.denial.reason, e.denial.claimed_user, e.denial.ip,
                           e.denial.user_agent, e.denial.count};
      out.push_back(std::move(ev));
      e.denial = PendingDenial{};
      e.last_denial_event_at = now;
    }
    // Forget tokens with nothing pending once their throttles have lapsed.
    bool use_quiet = !e.last_use_event_at || now - *e.last_use_event_at >= config_.usage_interval_ms;
    bool denial_quiet =
        !e.last_denial_event_at || now - *e.last_denial_event_at >= config_.denial_interval_ms;
    if (e.use.count == 0 && e.denial.count == 0 && use_quiet && denial_quiet) {
      it = shard.entries.erase(it);
      tracked_.fetch_sub(1, std::memory_order_relaxed);
    } else {
      ++it;
    }
  }
}

void UsageLedger::Requeue(const std::vector<Event>& events) {
  for (const Event& ev : events) {
    if (!ev.token_id || !ev.user) continue;
    auto key = IdKey::Of(*ev.token_id);
    if (!key) continue;
    Shard& shard = ShardOf(*key);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto [it, added] = shard.entries.try_emplace(*key);
    if (added) tracked_.fetch_add(1, std::memory_order_relaxed);  // a requeue is never dropped
    Entry& e = it->second;
    e.tenant = ev.tenant;
    e.user = *ev.user;
    if (const auto* used = std::get_if<TokenUsed>(&ev.data)) {
      if (e.use.count == 0) {
        e.use.first_at = used->first_at;
        e.use.ip = used->ip;
        e.use.user_agent = used->user_agent;
      }
      e.use.first_at = std::min(e.use.first_at, used->first_at);
      e.use.last_at = std::max(e.use.last_at, used->last_at);
      e.use.count += used->count;
      e.last_use_event_at.reset();
    } else if (const auto* denied = std::get_if<AuthDenied>(&ev.data)) {
      if (e.denial.count == 0) {
        e.denial.reason = denied->reason;
        e.denial.claimed_user = denied->claimed_user;
        e.denial.ip = denied->ip;
        e.denial.user_agent = denied->user_agent;
      }
      e.denial.count += denied->count;
      e.last_denial_event_at.reset();
    }
  }
}

std::optional<int64_t> UsageLedger::LastUsed(std::string_view token_id) const {
  auto key = IdKey::Of(token_id);
  if (!key) return std::nullopt;
  const Shard& shard = ShardOf(*key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(*key);
  if (it == shard.entries.end()) return std::nullopt;
  return it->second.last_used;
}

}  // namespace tokenlog
