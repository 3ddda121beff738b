// Keys and values of the projection keyspaces (core/ports.h lists them).
//
// Key grammar (integers big-endian, so keys sort numerically; tenant ids and
// usernames never contain \0):
//   tokens         token_id
//   token_hash     sha256:byte[32], only for a token whose id is not derived
//                  from its digest (random ids, minted before schema 5)
//   user_tokens    tenant \0 user \0 mint_seq:u64
//   user_live      the same (UserTokensKey), for the tokens neither revoked
//                  nor logged expired
//   tenant_tokens  tenant \0 mint_seq:u64
//   policies       tenant
//   users          tenant \0 user
//   expiry         nothing since schema 6 (see core/ports.h)
//   audit_*        see projections/audit.h
//
// Value grammar (see core/bytes.h for str, opt_str, opt_i64):
//   token_record := version:u8 (=0x01) id:str tenant:str user:str label:str
//                   hint:str sha256:byte[32] mint_seq:u64 created_at:i64
//                   expires_at:opt_i64 revoked_at:opt_i64
//                   revoked_reason:u8 (0 none, else RevokeReason)
//                   last_used_at:opt_i64 expired_logged:u8 (0|1)
//   policy       := version:u8 (=0x01) max_lifetime_days:(0x00 | 0x01 u32)
//                   default_lifetime_days:u32 policy_version:u64
//                   updated_at:opt_i64 updated_by:opt_str
//   users value  := version:u8 (=0x01) deactivated_seq:u64
//   token_hash value, user_tokens value, user_live value,
//   tenant_tokens value := token_id
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/policy.h"
#include "core/status.h"
#include "core/token.h"

namespace tokenlog::projections {

std::string UserTokensPrefix(std::string_view tenant, std::string_view user);
std::string UserTokensKey(std::string_view tenant, std::string_view user, uint64_t mint_seq);
std::string TenantTokensPrefix(std::string_view tenant);
std::string TenantTokensKey(std::string_view tenant, uint64_t mint_seq);
std::string UsersKey(std::string_view tenant, std::string_view user);
std::string HashKey(const Digest& sha256);

std::string EncodeTokenRecord(const TokenRecord& record);
// Code::kCorruption naming the field on malformed input.
Result<TokenRecord> DecodeTokenRecord(std::string_view bytes);
// A token record's fields as views into its encoding (valid while it is).
struct TokenRecordView {
  std::string_view id, tenant, user, label, hint;
  Digest sha256{};
  uint64_t mint_seq = 0;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
  std::optional<RevokeReason> revoked_reason;
  std::optional<int64_t> last_used_at;
  bool expired_logged = false;
};
// DecodeTokenRecord without copying (what start-up's index load reads).
Result<TokenRecordView> DecodeTokenRecordView(std::string_view bytes);

std::string EncodePolicy(const Policy& policy);
Result<Policy> DecodePolicy(std::string_view bytes);

std::string EncodeDeactivation(uint64_t seq);

}  // namespace tokenlog::projections
