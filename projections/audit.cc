#include "projections/audit.h"

#include <algorithm>

#include "core/bytes.h"

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
  const std::string value = IndexValue(e);
  const std::string seq = EncodeU64(e.seq);
  std::string tenant_key;
  tenant_key.reserve(e.tenant.size() + 1 + seq.size());
  tenant_key.append(e.tenant).push_back('\0');
  out.Put(Keyspace::kAuditTenant, tenant_key.append(seq), value);
  if (e.user) out.Put(Keyspace::kAuditUser, WithSeq(PairPrefix(e.tenant, *e.user), seq), value);
  if (e.actor.user && (!e.user || *e.actor.user != *e.user)) {
    out.Put(Keyspace::kAuditUser, WithSeq(PairPrefix(e.tenant, *e.actor.user), seq), value);
  }
  if (e.token_id) {
    out.Put(Keyspace::kAuditToken, WithSeq(PairPrefix(e.tenant, *e.token_id), seq), value);
  }
}

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

  std::string start;
  if (q.before_seq > 0) start = prefix + EncodeU64(q.before_seq - 1);
  AuditPage page;
  size_t scanned = 0;
  uint64_t last_seq = 0;
  bool exhausted = true;
  Status failed;
  TL_RETURN_IF_ERROR(indexes.Scan(
      index, prefix, start, /*reverse=*/true, [&](std::string_view key, std::string_view value) {
        if (page.events.size() == q.limit || scanned == q.scan_budget) {
          exhausted = false;
          return false;
        }
        ++scanned;
        ByteReader r(value);
        uint8_t type = 0;
        int64_t time = 0;
        if (key.size() < prefix.size() + 8 || !r.U8(&type) || !r.I64(&time)) {
          failed = Status(Code::kCorruption, "malformed audit index entry");
          return false;
        }
        uint64_t seq = DecodeU64(key.substr(key.size() - 8));
        last_seq = seq;
        // Times never decrease along the log: older entries are older still.
        if (q.since && time < *q.since) return false;
        if (q.until && time >= *q.until) return true;
        if (!q.types.empty() &&
            std::find(q.types.begin(), q.types.end(), static_cast<EventType>(type)) ==
                q.types.end()) {
          return true;
        }
        auto event = fetch(seq);
        if (!event.ok()) {
          failed = event.status();
          return false;
        }
        if (!*event) {
          failed = Status(Code::kCorruption, "audit index names missing seq " + std::to_string(seq));
          return false;
        }
        for (const auto& u : must_involve) {
          if (!Involves(**event, u)) return true;
        }
        page.events.push_back(std::move(**event));
        return true;
      }));
  TL_RETURN_IF_ERROR(failed);
  if (!exhausted) page.next_before_seq = last_seq;
  return page;
}

}  // namespace tokenlog::projections
