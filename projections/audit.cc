#include "projections/audit.h"

#include <algorithm>

#include "core/bytes.h"
#include "projections/records.h"

namespace tokenlog::projections {

namespace {

std::string TenantPrefix(std::string_view tenant) { return std::string(tenant) + '\0'; }
std::string PairPrefix(std::string_view tenant, std::string_view second) {
  std::string k;
  k.reserve(tenant.size() + second.size() + 2 + 8);  // room for the seq of a key
  k.append(tenant);
  k.push_back('\0');
  k.append(second);
  k.push_back('\0');
  return k;
}

// prefix + seq in one allocation.
std::string WithSeq(std::string prefix, std::string_view seq) {
  prefix.append(seq);
  return prefix;
}

std::string IndexValue(const Event& e) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(e.type()));
  w.I64(e.time);
  return w.Release();
}

}  // namespace

bool Involves(const Event& e, std::string_view user) {
  return (e.user && *e.user == user) || (e.actor.user && *e.actor.user == user);
}

void ApplyAudit(const Event& e, KeyspaceWriter& out) {
  // A token.minted is already listed, under the same keys, by the token
  // indexes the token projector writes for it: tenant_tokens (tenant \0
  // seq), user_tokens (tenant \0 user \0 seq) and the token's record
  // (mint_seq). Its audit rows would repeat them (three of a mint's eight
  // projection rows): FindAudit reads the mints from those. An actor other
  // than the subject still gets its row.
  const bool minted = e.type() == EventType::kTokenMinted;
  const std::string value = IndexValue(e);
  const std::string seq = EncodeU64(e.seq);
  if (!minted) {
    std::string tenant_key;
    tenant_key.reserve(e.tenant.size() + 1 + seq.size());
    tenant_key.append(e.tenant).push_back('\0');
    out.Put(Keyspace::kAuditTenant, tenant_key.append(seq), value);
  }
  if (e.user && !minted) {
    out.Put(Keyspace::kAuditUser, WithSeq(PairPrefix(e.tenant, *e.user), seq), value);
  }
  if (e.actor.user && (!e.user || *e.actor.user != *e.user)) {
    out.Put(Keyspace::kAuditUser, WithSeq(PairPrefix(e.tenant, *e.actor.user), seq), value);
  }
  if (e.token_id && !minted) {
    out.Put(Keyspace::kAuditToken, WithSeq(PairPrefix(e.tenant, *e.token_id), seq), value);
  }
}

namespace {

// The seqs of the token.minted events in a query's scope that have no audit
// row (see ApplyAudit), newest first, below `below`: read from a token index
// in chunks, or the one mint of a token.
class Mints {
 public:
  // Mints listed by `index` (tenant_tokens or user_tokens) under `prefix`.
  Mints(const KeyspaceReader& indexes, Keyspace index, std::string prefix, uint64_t below,
        size_t chunk)
      : indexes_(&indexes), index_(index), prefix_(std::move(prefix)), below_(below),
        chunk_(chunk) {}
  // The one mint at `seq`, if below `below`; or none.
  Mints(std::optional<uint64_t> seq, uint64_t below) : more_(false) {
    if (seq && *seq < below) seqs_.push_back(*seq);
  }

  // The newest mint not yet taken; nullopt when there is none.
  Result<std::optional<uint64_t>> Peek() {
    if (next_ == seqs_.size() && more_) TL_RETURN_IF_ERROR(Refill());
    if (next_ == seqs_.size()) return std::optional<uint64_t>();
    return std::optional<uint64_t>(seqs_[next_]);
  }
  void Pop() { ++next_; }

 private:
  Status Refill() {
    seqs_.clear();
    next_ = 0;
    if (below_ <= 1) {
      more_ = false;
      return Status();
    }
    std::string start;
    if (below_ != UINT64_MAX) start = prefix_ + EncodeU64(below_ - 1);
    Status malformed;
    TL_RETURN_IF_ERROR(indexes_->Scan(
        index_, prefix_, start, /*reverse=*/true, [&](std::string_view key, std::string_view) {
          if (key.size() != prefix_.size() + 8) {
            malformed = Status(Code::kCorruption, "malformed token index entry");
            return false;
          }
          seqs_.push_back(DecodeU64(key.substr(prefix_.size())));
          return seqs_.size() < chunk_;
        }));
    TL_RETURN_IF_ERROR(malformed);
    if (seqs_.size() < chunk_) more_ = false;
    if (!seqs_.empty()) below_ = seqs_.back();
    return Status();
  }

  const KeyspaceReader* indexes_ = nullptr;
  Keyspace index_ = Keyspace::kTenantTokens;
  std::string prefix_;
  uint64_t below_ = 0;
  size_t chunk_ = 0;
  std::vector<uint64_t> seqs_;
  size_t next_ = 0;
  bool more_ = true;
};

}  // namespace

Result<AuditPage> FindAudit(const KeyspaceReader& indexes, const EventFetcher& fetch,
                            const AuditQuery& q) {
  Keyspace index = Keyspace::kAuditTenant;
  std::string prefix = TenantPrefix(q.tenant);
  if (q.token_id) {
    index = Keyspace::kAuditToken;
    prefix = PairPrefix(q.tenant, *q.token_id);
  } else if (q.user || q.scope_user) {
    index = Keyspace::kAuditUser;
    prefix = PairPrefix(q.tenant, q.user ? *q.user : *q.scope_user);
  }
  // Users the index does not already guarantee.
  std::vector<std::string> must_involve;
  if (q.scope_user && (index != Keyspace::kAuditUser || (q.user && *q.user != *q.scope_user))) {
    must_involve.push_back(*q.scope_user);
  }
  if (q.user && index != Keyspace::kAuditUser) must_involve.push_back(*q.user);
  auto wanted = [&q](EventType type) {
    return q.types.empty() || std::find(q.types.begin(), q.types.end(), type) != q.types.end();
  };

  // The scope's mints, merged into the walk of its audit index by seq. Both
  // keyspaces share the key layout prefix + seq.
  uint64_t below = q.before_seq > 0 ? q.before_seq : UINT64_MAX;
  if (q.newest_seq < UINT64_MAX) below = std::min(below, q.newest_seq + 1);
  std::optional<Mints> mints;
  if (!wanted(EventType::kTokenMinted)) {
    mints.emplace(std::nullopt, below);
  } else if (index == Keyspace::kAuditToken) {
    std::optional<uint64_t> mint_seq;
    TL_ASSIGN_OR_RETURN(std::optional<std::string> raw, indexes.Get(Keyspace::kTokens, *q.token_id));
    if (raw) {
      TL_ASSIGN_OR_RETURN(TokenRecordView t, DecodeTokenRecordView(*raw));
      if (t.tenant == q.tenant) mint_seq = t.mint_seq;
    }
    mints.emplace(mint_seq, below);
  } else {
    mints.emplace(indexes,
                  index == Keyspace::kAuditUser ? Keyspace::kUserTokens : Keyspace::kTenantTokens,
                  prefix, below, std::min<size_t>(q.limit + 1, 512));
  }

  AuditPage page;
  size_t scanned = 0;
  uint64_t last_seq = 0;
  bool exhausted = true;
  Status failed;
  // One entry of either source, newest first; false: the page is complete
  // (full, out of budget, past `since`, or failed).
  auto consider = [&](uint64_t seq, EventType type, std::optional<int64_t> time) {
    if (page.events.size() == q.limit || scanned == q.scan_budget) {
      exhausted = false;
      return false;
    }
    ++scanned;
    last_seq = seq;
    // Times never decrease along the log: older entries are older still.
    if (time && q.since && *time < *q.since) return false;
    if (time && q.until && *time >= *q.until) return true;
    if (!wanted(type)) return true;
    auto event = fetch(seq);
    if (!event.ok()) {
      failed = event.status();
      return false;
    }
    if (!*event) {
      failed = Status(Code::kCorruption, "audit index names missing seq " + std::to_string(seq));
      return false;
    }
    if (!time) {  // a mint: its time is in the event
      if (q.since && (*event)->time < *q.since) return false;
      if (q.until && (*event)->time >= *q.until) return true;
    }
    for (const auto& u : must_involve) {
      if (!Involves(**event, u)) return true;
    }
    page.events.push_back(std::move(**event));
    return true;
  };
  // Mints newer than `seq` (all that are left when 0); false as consider().
  auto mints_above = [&](uint64_t seq) {
    for (;;) {
      auto m = mints->Peek();
      if (!m.ok()) {
        failed = m.status();
        return false;
      }
      if (!*m || **m < seq) return true;
      mints->Pop();
      if (!consider(**m, EventType::kTokenMinted, std::nullopt)) return false;
    }
  };

  std::string start;
  if (below != UINT64_MAX) start = prefix + EncodeU64(below - 1);
  bool complete = false;
  TL_RETURN_IF_ERROR(indexes.Scan(
      index, prefix, start, /*reverse=*/true, [&](std::string_view key, std::string_view value) {
        ByteReader r(value);
        uint8_t type = 0;
        int64_t time = 0;
        if (key.size() < prefix.size() + 8 || !r.U8(&type) || !r.I64(&time)) {
          failed = Status(Code::kCorruption, "malformed audit index entry");
          complete = true;
          return false;
        }
        uint64_t seq = DecodeU64(key.substr(key.size() - 8));
        if (!mints_above(seq) || !consider(seq, static_cast<EventType>(type), time)) {
          complete = true;
          return false;
        }
        return true;
      }));
  if (!complete) (void)mints_above(0);
  TL_RETURN_IF_ERROR(failed);
  if (!exhausted) page.next_before_seq = last_seq;
  return page;
}

}  // namespace tokenlog::projections
