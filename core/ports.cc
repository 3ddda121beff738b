#include "core/ports.h"

namespace tokenlog {

std::string_view KeyspaceName(Keyspace ks) {
  switch (ks) {
    case Keyspace::kTokens: return "tokens";
    case Keyspace::kTokenHash: return "token_hash";
    case Keyspace::kUserTokens: return "user_tokens";
    case Keyspace::kTenantTokens: return "tenant_tokens";
    case Keyspace::kPolicies: return "policies";
    case Keyspace::kUsers: return "users";
    case Keyspace::kExpiry: return "expiry";
    case Keyspace::kAuditTenant: return "audit_tenant";
    case Keyspace::kAuditUser: return "audit_user";
    case Keyspace::kAuditToken: return "audit_token";
    case Keyspace::kUserLive: return "user_live";
    case Keyspace::kCount: break;
  }
  return "invalid";
}

}  // namespace tokenlog
