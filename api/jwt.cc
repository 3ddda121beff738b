#include "api/jwt.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "api/json_body.h"
#include "core/base64.h"
#include "core/names.h"
#include "core/sha256.h"

namespace tokenlog::api {
namespace {

constexpr int kMinRsaBits = 2048;
// Header and claims are flat objects; deeper nesting is refused outright.
constexpr size_t kMaxJwtJsonDepth = 16;

Status Unauthenticated(std::string detail) {
  return Status(Code::kUnauthenticated, std::move(detail));
}

std::optional<std::string> DecodeBase64Url(std::string_view in) {
  return DecodeBase64(in, Base64Variant::kUrlUnpadded);
}

std::string EncodeBase64Url(std::string_view in) {
  return EncodeBase64(in, Base64Variant::kUrlUnpadded);
}

// Decodes one segment and parses it as a JSON object.
Result<boost::json::object> DecodeJsonObject(std::string_view segment, std::string_view what) {
  std::optional<std::string> bytes = DecodeBase64Url(segment);
  if (!bytes) return Unauthenticated(std::string(what) + " is not valid base64url");
  boost::json::parse_options options;
  options.max_depth = kMaxJwtJsonDepth;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(*bytes, ec, {}, options);
  if (ec || !value.is_object()) {
    return Unauthenticated(std::string(what) + " is not a JSON object");
  }
  if (DuplicateKey(*bytes)) return Unauthenticated(std::string(what) + " names a member twice");
  return std::move(value.get_object());
}

// A NumericDate claim (seconds since the epoch, integer or fraction) as a
// double; nullopt when it is not a finite JSON number.
std::optional<double> NumericDate(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::int64:
      return static_cast<double>(value.get_int64());
    case boost::json::kind::uint64:
      return static_cast<double>(value.get_uint64());
    case boost::json::kind::double_:
      if (!std::isfinite(value.get_double())) return std::nullopt;
      return value.get_double();
    default:
      return std::nullopt;
  }
}

// The member `key` of `object` when it is a string; nullopt otherwise. The
// view points into `object`.
std::optional<std::string_view> StringMember(const boost::json::object& object,
                                             std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  const boost::json::string& s = value->get_string();
  return std::string_view(s.data(), s.size());
}

// Checks exp, nbf and iat against `now_millis` with `leeway_seconds`.
Status CheckTimes(const boost::json::object& claims, int64_t now_millis, int64_t leeway_seconds) {
  const double now = static_cast<double>(now_millis) / 1000.0;
  const double leeway = static_cast<double>(leeway_seconds);

  const boost::json::value* exp_value = claims.if_contains("exp");
  if (exp_value == nullptr) return Unauthenticated("claim exp is missing");
  std::optional<double> exp = NumericDate(*exp_value);
  if (!exp) return Unauthenticated("claim exp is not a number");
  if (now > *exp + leeway) return Unauthenticated("token has expired");

  if (const boost::json::value* nbf_value = claims.if_contains("nbf")) {
    std::optional<double> nbf = NumericDate(*nbf_value);
    if (!nbf) return Unauthenticated("claim nbf is not a number");
    if (now < *nbf - leeway) return Unauthenticated("token is not valid yet (nbf)");
  }
  if (const boost::json::value* iat_value = claims.if_contains("iat")) {
    std::optional<double> iat = NumericDate(*iat_value);
    if (!iat) return Unauthenticated("claim iat is not a number");
    if (*iat > now + leeway) return Unauthenticated("token is issued in the future (iat)");
  }
  return Status::Ok();
}

// `aud` is a string equal to `audience` or an array of strings containing it.
bool AudienceMatches(const boost::json::value* aud, std::string_view audience) {
  if (aud == nullptr) return false;
  if (aud->is_string()) return aud->get_string() == audience;
  if (!aud->is_array()) return false;
  bool found = false;
  for (const boost::json::value& entry : aud->get_array()) {
    if (!entry.is_string()) return false;  // malformed claim
    if (entry.get_string() == audience) found = true;
  }
  return found;
}

}  // namespace

void JwtVerifier::EvpPkeyFree::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const JwtConfig& config) {
  if (!config.hs256_secret && !config.rs256_public_key_pem) {
    return Status(Code::kInvalidRequest,
                  "no JWT key configured: give an HS256 secret or an RS256 public key");
  }
  if (config.hs256_secret && config.hs256_secret->empty()) {
    return Status(Code::kInvalidRequest, "the HS256 secret is empty");
  }
  if (config.issuer && config.issuer->empty()) {
    return Status(Code::kInvalidRequest, "the JWT issuer is set but empty");
  }
  if (config.audience && config.audience->empty()) {
    return Status(Code::kInvalidRequest, "the JWT audience is set but empty");
  }
  if (config.leeway_seconds < 0) {
    return Status(Code::kInvalidRequest, "the JWT leeway is negative");
  }

  std::unique_ptr<JwtVerifier> verifier(new JwtVerifier());
  verifier->hs256_secret_ = config.hs256_secret;
  verifier->issuer_ = config.issuer;
  verifier->audience_ = config.audience;
  verifier->leeway_seconds_ = config.leeway_seconds;

  if (config.rs256_public_key_pem) {
    const std::string& pem = *config.rs256_public_key_pem;
    if (pem.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return Status(Code::kInvalidRequest, "the RS256 public key file is too large");
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (bio == nullptr) {
      ERR_clear_error();
      return Status(Code::kInvalidRequest, "cannot read the RS256 public key");
    }
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    ERR_clear_error();
    if (key == nullptr) {
      return Status(Code::kInvalidRequest,
                    "the RS256 public key is not a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo)");
    }
    verifier->rs256_key_.reset(key);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
      return Status(Code::kInvalidRequest, "the RS256 public key is not an RSA key");
    }
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      return Status(Code::kInvalidRequest, "the RS256 public key is shorter than 2048 bits");
    }
  }
  return verifier;
}

Result<Principal> JwtVerifier::Verify(std::string_view compact_jwt, int64_t now_millis) const {
  if (compact_jwt.size() > kMaxJwtBytes) return Unauthenticated("token is too long");

  // Three segments: header.payload.signature.
  const size_t dot1 = compact_jwt.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : compact_jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact_jwt.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("token is not three dot-separated segments");
  }
  const std::string_view header_b64 = compact_jwt.substr(0, dot1);
  const std::string_view payload_b64 = compact_jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = compact_jwt.substr(dot2 + 1);
  const std::string_view signing_input = compact_jwt.substr(0, dot2);

  // Header: pick the algorithm, never the key.
  TL_ASSIGN_OR_RETURN(const boost::json::object header,
                      DecodeJsonObject(header_b64, "token header"));
  const std::optional<std::string_view> alg = StringMember(header, "alg");
  if (!alg) return Unauthenticated("token header has no string alg");
  if (header.contains("crit")) return Unauthenticated("token header crit is not supported");
  const bool is_hs256 = *alg == "HS256";
  const bool is_rs256 = *alg == "RS256";
  if (!is_hs256 && !is_rs256) return Unauthenticated("token alg is not accepted");
  if (is_hs256 && !hs256_secret_) {
    return Unauthenticated("token alg HS256 is not configured on this server");
  }
  if (is_rs256 && rs256_key_ == nullptr) {
    return Unauthenticated("token alg RS256 is not configured on this server");
  }

  // Signature, before any claim is trusted.
  std::optional<std::string> signature = DecodeBase64Url(signature_b64);
  if (!signature) return Unauthenticated("token signature is not valid base64url");
  if (is_hs256) {
    const Digest mac = HmacSha256(*hs256_secret_, signing_input);
    if (signature->size() != mac.size() ||
        CRYPTO_memcmp(signature->data(), mac.data(), mac.size()) != 0) {
      return Unauthenticated("token signature does not verify");
    }
  } else {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
    const bool verified =
        ctx != nullptr &&
        EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, EVP_sha256(), nullptr, rs256_key_.get()) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                         signature->size(),
                         reinterpret_cast<const unsigned char*>(signing_input.data()),
                         signing_input.size()) == 1;
    ERR_clear_error();
    if (!verified) return Unauthenticated("token signature does not verify");
  }

  // Claims.
  TL_ASSIGN_OR_RETURN(const boost::json::object claims,
                      DecodeJsonObject(payload_b64, "token payload"));
  TL_RETURN_IF_ERROR(CheckTimes(claims, now_millis, leeway_seconds_));

  if (issuer_) {
    const std::optional<std::string_view> iss = StringMember(claims, "iss");
    if (!iss || *iss != *issuer_) return Unauthenticated("claim iss does not match");
  }
  if (audience_ && !AudienceMatches(claims.if_contains("aud"), *audience_)) {
    return Unauthenticated("claim aud does not match");
  }

  Principal principal;
  const std::optional<std::string_view> sub = StringMember(claims, "sub");
  if (!sub) return Unauthenticated("claim sub is missing or not a string");
  Result<std::string> user = NormalizeUsername(*sub, Code::kUnauthenticated);
  if (!user.ok()) return Unauthenticated("claim sub: " + user.status().detail());
  principal.user = std::move(user).value();

  const std::optional<std::string_view> tenant = StringMember(claims, "tenant");
  if (!tenant) return Unauthenticated("claim tenant is missing or not a string");
  if (!IsValidTenant(*tenant)) return Unauthenticated("claim tenant is not a valid tenant id");
  principal.tenant = std::string(*tenant);

  if (const boost::json::value* role = claims.if_contains("role")) {
    if (role->is_string() && role->get_string() == "user") {
      principal.role = Role::kUser;
    } else if (role->is_string() && role->get_string() == "admin") {
      principal.role = Role::kAdmin;
    } else {
      return Unauthenticated("claim role must be \"user\" or \"admin\"");
    }
  }
  return principal;
}

std::string SignJwtHs256(std::string_view payload_json, std::string_view secret) {
  std::string token = EncodeBase64Url(R"({"alg":"HS256","typ":"JWT"})");
  token.push_back('.');
  token += EncodeBase64Url(payload_json);
  const Digest mac = HmacSha256(secret, token);
  token.push_back('.');
  token += EncodeBase64Url(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  return token;
}

}  // namespace tokenlog::api
