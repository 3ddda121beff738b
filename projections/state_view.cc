#include "projections/state_view.h"

#include <algorithm>
#include <utility>

#include "core/bytes.h"
#include "core/token_codec.h"
#include "projections/records.h"

namespace tokenlog::projections {

Result<std::optional<TokenRecord>> ProjectionState::Token(std::string_view token_id) const {
  TL_ASSIGN_OR_RETURN(std::optional<std::string> raw, reader_.Get(Keyspace::kTokens, token_id));
  if (!raw) return std::optional<TokenRecord>();
  TL_ASSIGN_OR_RETURN(TokenRecord t, DecodeTokenRecord(*raw));
  return std::optional<TokenRecord>(std::move(t));
}

Result<std::optional<std::string>> ProjectionState::TokenIdByHash(const Digest& sha256) const {
  // The id derived from the digest (every token minted since schema 5),
  // then the hash index (the random ids minted before).
  std::string derived = TokenIdOf(sha256);
  TL_ASSIGN_OR_RETURN(std::optional<TokenRecord> t, Token(derived));
  if (t && t->sha256 == sha256) return std::optional<std::string>(std::move(derived));
  return reader_.Get(Keyspace::kTokenHash, HashKey(sha256));
}

Status ProjectionState::VisitIndex(Keyspace index, const std::string& prefix, uint64_t before_seq,
                                   const std::function<bool(TokenRecord&&)>& keep,
                                   bool oldest_first) const {
  std::string start;
  if (before_seq > 0) start = prefix + EncodeU64(before_seq - 1);
  Status inner;
  TL_RETURN_IF_ERROR(reader_.Scan(index, prefix, start, /*reverse=*/!oldest_first,
                                  [&](std::string_view, std::string_view id) {
                                    auto t = Token(id);
                                    if (!t.ok()) {
                                      inner = t.status();
                                      return false;
                                    }
                                    if (!*t) {
                                      inner = Status(Code::kCorruption,
                                                     "index names unknown token " +
                                                         std::string(id));
                                      return false;
                                    }
                                    return keep(std::move(**t));
                                  }));
  return inner;
}

Result<std::vector<TokenRecord>> ProjectionState::AllOf(Keyspace index,
                                                        const std::string& prefix) const {
  // Every entry is read, so the scan runs forward and the records are put
  // newest first after: a reverse seek costs RocksDB more than a forward
  // one (it was most of the cap check of every mint, for a user with no
  // tokens as for one with five).
  std::vector<TokenRecord> out;
  TL_RETURN_IF_ERROR(VisitIndex(
      index, prefix, 0,
      [&](TokenRecord&& t) {
        out.push_back(std::move(t));
        return true;
      },
      /*oldest_first=*/true));
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::vector<TokenRecord>> ProjectionState::UserTokens(std::string_view tenant,
                                                             std::string_view user) const {
  return AllOf(Keyspace::kUserTokens, UserTokensPrefix(tenant, user));
}

Result<std::vector<TokenRecord>> ProjectionState::LiveUserTokens(std::string_view tenant,
                                                                 std::string_view user) const {
  return AllOf(Keyspace::kUserLive, UserTokensPrefix(tenant, user));
}

Result<std::vector<TokenRecord>> ProjectionState::TenantTokens(std::string_view tenant) const {
  return AllOf(Keyspace::kTenantTokens, TenantTokensPrefix(tenant));
}

Result<Policy> ProjectionState::PolicyOf(std::string_view tenant) const {
  TL_ASSIGN_OR_RETURN(std::optional<std::string> raw, reader_.Get(Keyspace::kPolicies, tenant));
  if (!raw) return Policy{};
  return DecodePolicy(*raw);
}

Result<bool> ProjectionState::IsDeactivated(std::string_view tenant, std::string_view user) const {
  TL_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                      reader_.Get(Keyspace::kUsers, UsersKey(tenant, user)));
  return raw.has_value();
}

Result<std::vector<std::string>> ProjectionState::DueForExpiry(int64_t now, size_t limit) const {
  // Every token record: no projection orders tokens by expiry (the server
  // asks its in-memory index instead, see core/ports.h).
  std::vector<std::pair<int64_t, std::string>> due;
  Status bad;
  TL_RETURN_IF_ERROR(reader_.Scan(Keyspace::kTokens, "", "", /*reverse=*/false,
                                  [&](std::string_view key, std::string_view value) {
                                    auto t = DecodeTokenRecordView(value);
                                    if (!t.ok()) {
                                      bad = Status(Code::kCorruption,
                                                   "token record " + std::string(key) + ": " +
                                                       t.status().detail());
                                      return false;
                                    }
                                    if (t->expires_at && *t->expires_at <= now &&
                                        !t->revoked_at && !t->expired_logged) {
                                      due.emplace_back(*t->expires_at, std::string(key));
                                    }
                                    return true;
                                  }));
  TL_RETURN_IF_ERROR(bad);
  const size_t n = std::min(limit, due.size());
  std::partial_sort(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(n), due.end());
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(std::move(due[i].second));
  return out;
}

Result<TokenPage> ProjectionState::TokensPage(const TokenPageQuery& q) const {
  TokenPage page;
  bool more = false;
  Keyspace index = q.user ? Keyspace::kUserTokens : Keyspace::kTenantTokens;
  std::string prefix = q.user ? UserTokensPrefix(q.tenant, *q.user) : TenantTokensPrefix(q.tenant);
  TL_RETURN_IF_ERROR(VisitIndex(index, prefix, q.before_mint_seq, [&](TokenRecord&& t) {
    if (q.status && t.StatusAt(q.now) != *q.status) return true;
    if (page.tokens.size() == q.limit) {
      more = true;
      return false;
    }
    page.tokens.push_back(std::move(t));
    return true;
  }));
  if (more && !page.tokens.empty()) page.next_before_mint_seq = page.tokens.back().mint_seq;
  return page;
}

}  // namespace tokenlog::projections
