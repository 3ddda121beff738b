// ProjectionState: the domain's StateReader, and the listing queries of the
// API, over projection keyspaces. Holds a reference to the reader (which
// must outlive it); as thread-safe as that reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ports.h"

namespace tokenlog::projections {

struct TokenPageQuery {
  std::string tenant;
  std::optional<std::string> user;      // only this user's tokens
  std::optional<TokenStatus> status;    // only tokens with this status at `now`
  int64_t now = 0;
  uint64_t before_mint_seq = 0;         // 0: from the newest
  size_t limit = 50;
};
struct TokenPage {
  std::vector<TokenRecord> tokens;      // newest first
  // The mint_seq to continue before, when more tokens may match.
  std::optional<uint64_t> next_before_mint_seq;
};

class ProjectionState final : public StateReader {
 public:
  explicit ProjectionState(const KeyspaceReader& reader) : reader_(reader) {}

  Result<std::optional<TokenRecord>> Token(std::string_view token_id) const override;
  Result<std::optional<std::string>> TokenIdByHash(const Digest& sha256) const override;
  Result<std::vector<TokenRecord>> UserTokens(std::string_view tenant,
                                              std::string_view user) const override;
  Result<std::vector<TokenRecord>> LiveUserTokens(std::string_view tenant,
                                                  std::string_view user) const override;
  Result<std::vector<TokenRecord>> TenantTokens(std::string_view tenant) const override;
  Result<Policy> PolicyOf(std::string_view tenant) const override;
  Result<bool> IsDeactivated(std::string_view tenant, std::string_view user) const override;
  Result<std::vector<std::string>> DueForExpiry(int64_t now, size_t limit) const override;

  Result<TokenPage> TokensPage(const TokenPageQuery& query) const;

 private:
  // Token records named by the index entries under `prefix`, newest first
  // (oldest first when `oldest_first`), starting before `before_seq` (0:
  // newest; only newest first), while `keep` says go on.
  Status VisitIndex(Keyspace index, const std::string& prefix, uint64_t before_seq,
                    const std::function<bool(TokenRecord&&)>& keep,
                    bool oldest_first = false) const;
  // Every token record the index lists under `prefix`, newest first.
  Result<std::vector<TokenRecord>> AllOf(Keyspace index, const std::string& prefix) const;

  const KeyspaceReader& reader_;
};

}  // namespace tokenlog::projections
