#include "core/usage_ledger.h"

#include <cstring>

#include "core/label.h"

namespace tokenlog {

std::optional<UsageLedger::IdKey> UsageLedger::IdKey::Of(std::string_view id) {
  if (id.size() > kMax) return std::nullopt;
  IdKey k;
  k.size = static_cast<uint8_t>(id.size());
  std::memcpy(k.bytes.data(), id.data(), id.size());
  return k;
}

UsageLedger::Entry* UsageLedger::Find(TokenRef token) {
  auto key = IdKey::Of(token.id);
  if (!key) return nullptr;
  auto it = entries_.find(*key);
  if (it != entries_.end()) return &it->second;
  if (entries_.size() >= config_.max_tokens) return nullptr;
  Entry& e = entries_[*key];
  e.tenant = token.tenant;
  e.user = token.user;
  return &e;
}

void UsageLedger::RecordUse(TokenRef token, std::string_view ip,
                            std::string_view user_agent, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(token);
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
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Find(token);
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
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
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
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void UsageLedger::Requeue(const std::vector<Event>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Event& ev : events) {
    if (!ev.token_id || !ev.user) continue;
    auto key = IdKey::Of(*ev.token_id);
    if (!key) continue;
    Entry& e = entries_[*key];
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
  std::lock_guard<std::mutex> lock(mu_);
  auto key = IdKey::Of(token_id);
  if (!key) return std::nullopt;
  auto it = entries_.find(*key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.last_used;
}

}  // namespace tokenlog
