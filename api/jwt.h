// Verification of the management API's bearer JWTs (API.md, "Who is calling").
//
// A token is a JWS in compact serialization: three base64url segments
// (unpadded, RFC 7515), at most kMaxJwtBytes in all. Accepted algorithms are
// HS256 (HMAC-SHA-256 with a shared secret) and RS256 (RSASSA-PKCS1-v1_5 with
// SHA-256 and an RSA public key), each only when a key of that kind is
// configured: the header's `alg` picks the algorithm, never the key, so an
// HS256 token "signed" with the RS256 public key is refused when no HS256
// secret is configured. `none` and every other `alg` are refused; `kid`, `jku`,
// `x5u`, `jwk` and `x5c` are ignored; a `crit` header is refused (no extension
// is understood). The signature is checked before any claim is read.
//
// Claims: `sub` (username, lower-cased), `tenant`, `role` (`user` when
// absent, or `admin`), `exp` (required), `nbf` and `iat` (when present), `iss`
// and `aud` (when configured). Times are NumericDate seconds, integer or
// fractional, compared with a configurable leeway.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header.

namespace tokenlog::api {

// The longest compact JWT that Verify() reads.
inline constexpr size_t kMaxJwtBytes = 8192;

enum class Role { kUser, kAdmin };

// Who is calling, as established by a verified JWT.
struct Principal {
  std::string tenant;  // valid tenant id (core/names.h), not case-folded
  std::string user;    // valid username, lower-cased
  Role role = Role::kUser;
};

struct JwtConfig {
  std::optional<std::string> hs256_secret;          // raw key bytes; non-empty
  std::optional<std::string> rs256_public_key_pem;  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo)
  std::optional<std::string> issuer;                // when set, `iss` must equal it
  std::optional<std::string> audience;              // when set, `aud` must equal or contain it
  int64_t leeway_seconds = 60;                      // clock skew allowed on exp, nbf and iat; >= 0
};

class JwtVerifier {
 public:
  // Builds a verifier from `config`. At least one key is required. Returns
  // Code::kInvalidRequest with a detail naming the problem when no key is
  // configured, the HS256 secret is empty, the PEM text holds no public key,
  // the key is not RSA or is shorter than 2048 bits, issuer or audience is set
  // but empty, or the leeway is negative. Meant for start-up.
  static Result<std::unique_ptr<JwtVerifier>> Create(const JwtConfig& config);

  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;
  ~JwtVerifier();

  // Verifies `compact_jwt` at wall time `now_millis` (Unix milliseconds) and
  // returns the caller it names. Every failure is Code::kUnauthenticated with a
  // short detail that never echoes the token or a claim value.
  // Thread-safe: may be called concurrently on one verifier.
  Result<Principal> Verify(std::string_view compact_jwt, int64_t now_millis) const;

 private:
  struct EvpPkeyFree {
    void operator()(evp_pkey_st* key) const;
  };

  JwtVerifier() = default;

  std::optional<std::string> hs256_secret_;
  std::unique_ptr<evp_pkey_st, EvpPkeyFree> rs256_key_;  // null when RS256 is off
  std::optional<std::string> issuer_;
  std::optional<std::string> audience_;
  int64_t leeway_seconds_ = 60;
};

// Returns the compact JWT with header {"alg":"HS256","typ":"JWT"}, payload
// `payload_json` (its bytes as given, not validated) and an HMAC-SHA-256
// signature under `secret`. For `tokenlog dev-jwt` and tests.
std::string SignJwtHs256(std::string_view payload_json, std::string_view secret);

}  // namespace tokenlog::api
