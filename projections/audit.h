// Audit indexes: which events concern a tenant, a user, a token, newest
// first, so that an activity page costs O(page), not O(log).
//
// Keys (integers big-endian; tenant ids, usernames and token ids never
// contain \0):
//   audit_tenant  tenant \0 seq:u64
//   audit_user    tenant \0 user \0 seq:u64    (the event's actor or subject)
//   audit_token   tenant \0 token_id \0 seq:u64
// Value of each: type:u8 time:i64 — enough to filter by type and time
// without reading the event.
//
// A token.minted has no rows of its own in them (except under an actor other
// than its subject): the token projector's tenant_tokens and user_tokens
// list it under the same keys, and the token's record holds its seq.
// FindAudit and the timeline read the mints from there.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/ports.h"

namespace tokenlog::projections {

// Adds `event` to the audit indexes (part of TokenProjector::Apply).
void ApplyAudit(const Event& event, KeyspaceWriter& out);

struct AuditQuery {
  std::string tenant;
  // /v1/activity: only events whose actor or subject is this user.
  std::optional<std::string> scope_user;
  // Filters.
  std::optional<std::string> user;      // actor or subject
  std::optional<std::string> token_id;
  std::vector<EventType> types;         // empty: every type
  std::optional<int64_t> since;         // inclusive
  std::optional<int64_t> until;         // exclusive
  uint64_t before_seq = 0;              // 0: from the newest
  // Entries above this seq are left out: the log head when the walk began.
  // The walk reads two indexes (an audit index, and the token index its
  // mints are in), each as of its own read; events committed between the two
  // reads would otherwise be seen by one and not the other, and a first page
  // could show a new mint and skip an event just older.
  uint64_t newest_seq = UINT64_MAX;
  size_t limit = 50;
  // Index entries examined at most, so a page's cost is bounded even when
  // few entries match.
  size_t scan_budget = 1000;
};

struct AuditPage {
  std::vector<Event> events;                 // newest first
  std::optional<uint64_t> next_before_seq;   // where the next page starts; nullopt: no more
};

// Reads an event of the log by seq (nullopt if absent).
using EventFetcher = std::function<Result<std::optional<Event>>(uint64_t seq)>;

// One page of events matching `query`. Walks the most selective index
// (token, then user, then tenant) newest first, filters by type and time from
// the index values, and reads an event only to check a filter the index
// cannot, or to return it.
Result<AuditPage> FindAudit(const KeyspaceReader& indexes, const EventFetcher& fetch,
                            const AuditQuery& query);

// Whether `user` is the actor or the subject of `event`.
bool Involves(const Event& event, std::string_view user);

}  // namespace tokenlog::projections
