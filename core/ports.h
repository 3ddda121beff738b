// The ports of the command pipeline: the interfaces core/ is written
// against and storage/ (RocksDB) and projections/ implement.
//
//   KeyspaceReader/Writer  named ordered key-value spaces (projection column
//                          families in RocksDB, std::maps in memory)
//   Projector              the pure apply(event) that keeps them
//   StateReader            the domain queries decisions need (implemented by
//                          projections/ over a KeyspaceReader)
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/policy.h"
#include "core/status.h"
#include "core/token.h"

namespace tokenlog {

// Projection keyspaces. The order is the on-disk column family order; append
// only. kCount is not a keyspace.
enum class Keyspace : uint8_t {
  kTokens = 0,     // token id -> TokenRecord
  kTokenHash,      // sha256 (32 bytes) -> token id, only for ids not derived from the
                   // digest (random ids, minted before schema 5; core/token_codec.h)
  kUserTokens,     // tenant \0 user \0 mint_seq:u64 -> token id
  kTenantTokens,   // tenant \0 mint_seq:u64 -> token id
  kPolicies,       // tenant -> Policy
  kUsers,          // tenant \0 user -> deactivation record
  kExpiry,         // nothing since schema 6 (it was expires_at:u64 token id -> "" for
                   // active tokens): the server's sweeper asks its in-memory index.
                   // Kept so that existing stores open; a rebuild empties it.
  kAuditTenant,    // tenant \0 seq:u64 -> type:u8 time:i64
  kAuditUser,      // tenant \0 user \0 seq:u64 -> type:u8 time:i64 (actor or subject)
  kAuditToken,     // tenant \0 token id \0 seq:u64 -> type:u8 time:i64
                   // (audit_*: no token.minted rows, see projections/audit.h)
  kUserLive,       // tenant \0 user \0 mint_seq:u64 -> token id (tokens neither revoked nor
                   // logged expired: every active one, and any expired not yet logged)
  kCount,
};
inline constexpr size_t kKeyspaceCount = static_cast<size_t>(Keyspace::kCount);
// The column family name of a keyspace ("tokens", "token_hash", ...).
std::string_view KeyspaceName(Keyspace ks);

// Called for each key/value in a scan; return false to stop.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class KeyspaceReader {
 public:
  virtual ~KeyspaceReader() = default;
  // nullopt when absent; kUnavailable when storage cannot be read.
  virtual Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const = 0;
  // Visits the keys that start with `prefix`, ascending (or descending when
  // `reverse`), beginning at `start` (inclusive) when it is not empty.
  virtual Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
                      const ScanVisitor& visit) const = 0;
};

class KeyspaceWriter : public KeyspaceReader {
 public:
  // Writes become visible to this writer's own reads at once.
  virtual void Put(Keyspace ks, std::string_view key, std::string_view value) = 0;
  virtual void Delete(Keyspace ks, std::string_view key) = 0;
};

// Projections are a pure function of the log: Apply reads and writes only
// through `out` and never reads a clock. The same Projector serves live
// appends, rebuilds and in-memory replays.
class Projector {
 public:
  virtual ~Projector() = default;
  virtual Status Apply(const Event& event, KeyspaceWriter& out) const = 0;
};

// The domain queries a decision needs. Implemented over a KeyspaceReader, so
// inside the writer it also sees the earlier commands of the same group.
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual Result<std::optional<TokenRecord>> Token(std::string_view token_id) const = 0;
  virtual Result<std::optional<std::string>> TokenIdByHash(const Digest& sha256) const = 0;
  // Every token the user ever minted, newest first.
  virtual Result<std::vector<TokenRecord>> UserTokens(std::string_view tenant,
                                                      std::string_view user) const = 0;
  // The user's tokens that are neither revoked nor logged expired, newest
  // first: every active one among them (what the cap counts, at a cost
  // bounded by the cap, not by the user's history).
  virtual Result<std::vector<TokenRecord>> LiveUserTokens(std::string_view tenant,
                                                          std::string_view user) const = 0;
  // Every token of the tenant, newest first.
  virtual Result<std::vector<TokenRecord>> TenantTokens(std::string_view tenant) const = 0;
  virtual Result<Policy> PolicyOf(std::string_view tenant) const = 0;
  virtual Result<bool> IsDeactivated(std::string_view tenant, std::string_view user) const = 0;
  // Ids of tokens with expires_at <= now, neither revoked nor logged expired,
  // the earliest expiry first (then by id), at most `limit`. No projection
  // orders tokens by expiry (since schema 6): ProjectionState scans every
  // token record, which suits tests and tools; the server asks its
  // in-memory index instead (AuthIndex::DueForExpiry).
  virtual Result<std::vector<std::string>> DueForExpiry(int64_t now, size_t limit) const = 0;
};

}  // namespace tokenlog
