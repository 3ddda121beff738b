#include "api/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tokenlog::api {
namespace {

constexpr int64_t kNowSeconds = 1'800'000'000;
constexpr int64_t kNow = kNowSeconds * 1000;
const std::string kSecret = "hs256-test-secret-0123456789abcdef-0123";

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// Unpadded base64url through OpenSSL's encoder, independent of the code under
// test.
std::string B64Url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string HmacBytes(std::string_view key, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
               &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string HmacSignature(std::string_view key, std::string_view input) {
  return B64Url(HmacBytes(key, input));
}

std::string RsaSignature(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1);
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) == 1);
  std::string sig(len, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                         input.size()) == 1);
  sig.resize(len);
  return B64Url(sig);
}

std::string PublicPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key) == 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

PkeyPtr GenerateKey(const char* type, size_t rsa_bits = 2048) {
  EVP_PKEY* key = std::string_view(type) == "RSA"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", rsa_bits)
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key != nullptr);
  return PkeyPtr(key, &EVP_PKEY_free);
}

// One RSA-2048 pair for the whole run (generation takes a moment).
EVP_PKEY* RsaKey() {
  static PkeyPtr key = GenerateKey("RSA");
  return key.get();
}
const std::string& RsaPublicPem() {
  static const std::string pem = PublicPem(RsaKey());
  return pem;
}

constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kRs256Header = R"({"alg":"RS256","typ":"JWT"})";

std::string Hs256Token(std::string_view header, std::string_view payload,
                       std::string_view secret = kSecret) {
  std::string input = B64Url(header) + "." + B64Url(payload);
  return input + "." + HmacSignature(secret, input);
}

std::string Rs256Token(std::string_view header, std::string_view payload,
                       EVP_PKEY* key = RsaKey()) {
  std::string input = B64Url(header) + "." + B64Url(payload);
  return input + "." + RsaSignature(key, input);
}

// Valid claims (sub, tenant, exp one hour ahead) plus `extra` members.
std::string Claims(std::string_view extra = "") {
  std::string json =
      R"({"sub":"alice@example.com","tenant":"acme","exp":)" + std::to_string(kNowSeconds + 3600);
  if (!extra.empty()) json += "," + std::string(extra);
  return json + "}";
}

std::unique_ptr<JwtVerifier> MakeVerifier(JwtConfig config) {
  auto verifier = JwtVerifier::Create(config);
  REQUIRE(verifier.ok());
  return std::move(verifier).value();
}

std::unique_ptr<JwtVerifier> HsVerifier() {
  JwtConfig config;
  config.hs256_secret = kSecret;
  return MakeVerifier(config);
}

std::unique_ptr<JwtVerifier> RsVerifier() {
  JwtConfig config;
  config.rs256_public_key_pem = RsaPublicPem();
  return MakeVerifier(config);
}

std::unique_ptr<JwtVerifier> BothVerifier() {
  JwtConfig config;
  config.hs256_secret = kSecret;
  config.rs256_public_key_pem = RsaPublicPem();
  return MakeVerifier(config);
}

Principal ExpectAccepted(const JwtVerifier& verifier, std::string_view token, int64_t now = kNow) {
  Result<Principal> result = verifier.Verify(token, now);
  INFO((result.ok() ? std::string("ok") : result.status().detail()));
  REQUIRE(result.ok());
  return result.value();
}

// Asserts a 401-class refusal whose detail does not echo the token, and
// returns the detail.
std::string ExpectRefused(const JwtVerifier& verifier, std::string_view token, int64_t now = kNow) {
  Result<Principal> result = verifier.Verify(token, now);
  REQUIRE_FALSE(result.ok());
  const std::string& detail = result.status().detail();
  CHECK(result.status().code() == Code::kUnauthenticated);
  CHECK_FALSE(detail.empty());
  CHECK(detail.size() < 100);
  size_t start = 0;
  while (start <= token.size()) {
    size_t dot = token.find('.', start);
    std::string_view segment = token.substr(start, dot == token.npos ? token.npos : dot - start);
    if (segment.size() >= 8) CHECK(detail.find(segment) == std::string::npos);
    if (dot == token.npos) break;
    start = dot + 1;
  }
  return detail;
}

// `token` with the character at `pos` replaced by another base64url character.
std::string FlipChar(std::string token, size_t pos) {
  token[pos] = token[pos] == 'A' ? 'B' : 'A';
  return token;
}

}  // namespace

TEST_CASE("valid HS256 token yields the principal", "[jwt]") {
  auto verifier = HsVerifier();
  Principal p = ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims()));
  CHECK(p.tenant == "acme");
  CHECK(p.user == "alice@example.com");
  CHECK(p.role == Role::kUser);
}

TEST_CASE("valid RS256 token yields the principal", "[jwt]") {
  auto verifier = RsVerifier();
  Principal p = ExpectAccepted(*verifier, Rs256Token(kRs256Header, Claims(R"("role":"admin")")));
  CHECK(p.tenant == "acme");
  CHECK(p.user == "alice@example.com");
  CHECK(p.role == Role::kAdmin);
}

TEST_CASE("a verifier with both keys accepts both algorithms", "[jwt]") {
  auto verifier = BothVerifier();
  ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims()));
  ExpectAccepted(*verifier, Rs256Token(kRs256Header, Claims()));
}

TEST_CASE("SignJwtHs256 produces the standard HS256 JWS", "[jwt]") {
  // The well-known jwt.io example.
  CHECK(SignJwtHs256(R"({"sub":"1234567890","name":"John Doe","iat":1516239022})",
                     "your-256-bit-secret") ==
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
  auto verifier = HsVerifier();
  std::string token = SignJwtHs256(Claims(R"("role":"admin")"), kSecret);
  CHECK(token == Hs256Token(kHs256Header, Claims(R"("role":"admin")")));
  CHECK(ExpectAccepted(*verifier, token).role == Role::kAdmin);
  ExpectRefused(*verifier, SignJwtHs256(Claims(), "another-secret"));
}

TEST_CASE("a flipped character breaks the signature", "[jwt]") {
  SECTION("HS256 signature") {
    auto verifier = HsVerifier();
    std::string token = Hs256Token(kHs256Header, Claims());
    CHECK(ExpectRefused(*verifier, FlipChar(token, token.size() - 10)) ==
          "token signature does not verify");
  }
  SECTION("RS256 signature") {
    auto verifier = RsVerifier();
    std::string token = Rs256Token(kRs256Header, Claims());
    CHECK(ExpectRefused(*verifier, FlipChar(token, token.size() - 10)) ==
          "token signature does not verify");
  }
  SECTION("payload") {
    auto verifier = HsVerifier();
    std::string token = Hs256Token(kHs256Header, Claims());
    size_t payload_start = token.find('.') + 1;
    ExpectRefused(*verifier, FlipChar(token, payload_start + 5));
  }
  SECTION("truncated or extended signature") {
    auto verifier = HsVerifier();
    std::string token = Hs256Token(kHs256Header, Claims());
    ExpectRefused(*verifier, token.substr(0, token.size() - 4));
    const std::string input = token.substr(0, token.rfind('.'));
    const std::string mac = HmacBytes(kSecret, input);
    CHECK(ExpectRefused(*verifier, input + "." + B64Url(mac + "x")) ==
          "token signature does not verify");
    CHECK(ExpectRefused(*verifier, input + "." + B64Url(mac.substr(0, 31))) ==
          "token signature does not verify");
    ExpectRefused(*verifier, input + ".");
  }
}

TEST_CASE("alg none is refused", "[jwt]") {
  auto verifier = BothVerifier();
  std::string unsigned_token =
      B64Url(R"({"alg":"none","typ":"JWT"})") + "." + B64Url(Claims()) + ".";
  CHECK(ExpectRefused(*verifier, unsigned_token) == "token alg is not accepted");
  ExpectRefused(*verifier, B64Url(R"({"alg":"None"})") + "." + B64Url(Claims()) + ".");
  // With a signature made by the HS256 key it is still refused.
  ExpectRefused(*verifier, Hs256Token(R"({"alg":"none"})", Claims()));
}

TEST_CASE("other and malformed algorithms are refused", "[jwt]") {
  auto verifier = BothVerifier();
  ExpectRefused(*verifier, Hs256Token(R"({"alg":"HS512"})", Claims()));
  ExpectRefused(*verifier, Hs256Token(R"({"alg":"hs256"})", Claims()));
  ExpectRefused(*verifier, Rs256Token(R"({"alg":"PS256"})", Claims()));
  ExpectRefused(*verifier, Hs256Token(R"({"alg":["HS256"]})", Claims()));
  ExpectRefused(*verifier, Hs256Token(R"({"typ":"JWT"})", Claims()));
  // An unknown critical extension must not be ignored.
  ExpectRefused(*verifier, Hs256Token(R"({"alg":"HS256","crit":["b64"],"b64":false})", Claims()));
}

TEST_CASE("HS256 signed with the RS256 public key is refused", "[jwt]") {
  auto verifier = RsVerifier();
  std::string token = Hs256Token(kHs256Header, Claims(), RsaPublicPem());
  CHECK(ExpectRefused(*verifier, token) == "token alg HS256 is not configured on this server");
  // Also when an HS256 secret is configured: the PEM is not that secret.
  ExpectRefused(*BothVerifier(), token);
}

TEST_CASE("alg must match a configured key", "[jwt]") {
  SECTION("HS256 token against an RS256-only verifier") {
    ExpectRefused(*RsVerifier(), Hs256Token(kHs256Header, Claims()));
  }
  SECTION("RS256 token against an HS256-only verifier") {
    CHECK(ExpectRefused(*HsVerifier(), Rs256Token(kRs256Header, Claims())) ==
          "token alg RS256 is not configured on this server");
  }
  SECTION("RS256 signed by another RSA key") {
    PkeyPtr other = GenerateKey("RSA");
    ExpectRefused(*RsVerifier(), Rs256Token(kRs256Header, Claims(), other.get()));
  }
}

TEST_CASE("exp is honoured with 60 s leeway", "[jwt]") {
  auto verifier = HsVerifier();
  std::string token = Hs256Token(
      kHs256Header, R"({"sub":"a","tenant":"acme","exp":)" + std::to_string(kNowSeconds) + "}");
  ExpectAccepted(*verifier, token, kNow);
  ExpectAccepted(*verifier, token, kNow + 59'000);
  ExpectAccepted(*verifier, token, kNow + 60'000);
  CHECK(ExpectRefused(*verifier, token, kNow + 60'001) == "token has expired");
  ExpectRefused(*verifier, token, kNow + 3600'000);

  JwtConfig strict;
  strict.hs256_secret = kSecret;
  strict.leeway_seconds = 0;
  ExpectRefused(*MakeVerifier(strict), token, kNow + 1);
}

TEST_CASE("exp may be fractional but must be a number", "[jwt]") {
  auto verifier = HsVerifier();
  std::string base = R"({"sub":"a","tenant":"acme","exp":)";
  ExpectAccepted(*verifier, Hs256Token(kHs256Header, base + std::to_string(kNowSeconds) + ".5}"));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, base + std::to_string(kNowSeconds) + ".5}"),
                kNow + 60'501);
  ExpectAccepted(*verifier, Hs256Token(kHs256Header, base + "1.8e9}"), kNow);
  ExpectRefused(*verifier, Hs256Token(kHs256Header, base + "\"1900000000\"}"));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, base + "true}"));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, base + "null}"));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, base + "[1900000000]}"));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, base + "-1}"));
}

TEST_CASE("nbf in the future is refused beyond the leeway", "[jwt]") {
  auto verifier = HsVerifier();
  ExpectAccepted(*verifier,
                 Hs256Token(kHs256Header, Claims("\"nbf\":" + std::to_string(kNowSeconds + 60))));
  CHECK(ExpectRefused(
            *verifier,
            Hs256Token(kHs256Header, Claims("\"nbf\":" + std::to_string(kNowSeconds + 61)))) ==
        "token is not valid yet (nbf)");
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(R"("nbf":"0")")));
  ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims(R"("nbf":0)")));
}

TEST_CASE("iat in the future is refused beyond the leeway", "[jwt]") {
  auto verifier = HsVerifier();
  ExpectAccepted(*verifier,
                 Hs256Token(kHs256Header, Claims("\"iat\":" + std::to_string(kNowSeconds - 10))));
  ExpectAccepted(*verifier,
                 Hs256Token(kHs256Header, Claims("\"iat\":" + std::to_string(kNowSeconds + 60))));
  CHECK(ExpectRefused(
            *verifier,
            Hs256Token(kHs256Header, Claims("\"iat\":" + std::to_string(kNowSeconds + 61)))) ==
        "token is issued in the future (iat)");
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(R"("iat":{})")));
}

TEST_CASE("required claims must be present", "[jwt]") {
  auto verifier = HsVerifier();
  const std::string exp = std::to_string(kNowSeconds + 3600);
  CHECK(ExpectRefused(*verifier,
                      Hs256Token(kHs256Header, R"({"tenant":"acme","exp":)" + exp + "}")) ==
        "claim sub is missing or not a string");
  CHECK(ExpectRefused(*verifier, Hs256Token(kHs256Header, R"({"sub":"a","exp":)" + exp + "}")) ==
        "claim tenant is missing or not a string");
  CHECK(ExpectRefused(*verifier, Hs256Token(kHs256Header, R"({"sub":"a","tenant":"acme"})")) ==
        "claim exp is missing");
  ExpectRefused(*verifier,
                Hs256Token(kHs256Header, R"({"sub":7,"tenant":"acme","exp":)" + exp + "}"));
  ExpectRefused(*verifier,
                Hs256Token(kHs256Header, R"({"sub":"a","tenant":null,"exp":)" + exp + "}"));
}

TEST_CASE("tenant must follow the tenant grammar", "[jwt]") {
  auto verifier = HsVerifier();
  const std::string exp = std::to_string(kNowSeconds + 3600);
  for (const char* tenant : {"Acme", "-acme", "", "ac me", "acme_corp"}) {
    INFO(tenant);
    CHECK(ExpectRefused(*verifier,
                        Hs256Token(kHs256Header, R"({"sub":"a","tenant":")" + std::string(tenant) +
                                                     R"(","exp":)" + exp + "}")) ==
          "claim tenant is not a valid tenant id");
  }
  CHECK(ExpectAccepted(*verifier,
                       Hs256Token(kHs256Header, R"({"sub":"a","tenant":"a-1","exp":)" + exp + "}"))
            .tenant == "a-1");
}

TEST_CASE("sub must follow the username grammar and is lower-cased", "[jwt]") {
  auto verifier = HsVerifier();
  const std::string exp = std::to_string(kNowSeconds + 3600);
  auto token = [&](std::string_view sub) {
    return Hs256Token(kHs256Header,
                      R"({"sub":")" + std::string(sub) + R"(","tenant":"acme","exp":)" + exp + "}");
  };
  CHECK(ExpectAccepted(*verifier, token("Alice.Smith@Example.COM")).user ==
        "alice.smith@example.com");
  CHECK(ExpectRefused(*verifier, token("alice:x")).rfind("claim sub:", 0) == 0);
  ExpectRefused(*verifier, token("a/b"));
  ExpectRefused(*verifier, token(""));
  ExpectRefused(*verifier, token("alice smith"));
  ExpectRefused(*verifier, token(std::string(255, 'a')));
  ExpectAccepted(*verifier, token(std::string(254, 'a')));
}

TEST_CASE("a header or payload that names a member twice is refused, whichever value", "[jwt]") {
  auto verifier = HsVerifier();
  const std::string exp = std::to_string(kNowSeconds + 3600);
  const std::string claims = R"("tenant":"acme","exp":)" + exp;
  ExpectAccepted(*verifier, Hs256Token(kHs256Header, R"({"sub":"a@x",)" + claims + "}"));
  for (const std::string& payload :
       {R"({"sub":"a@x","sub":"b@x",)" + claims + "}",
        R"({"sub":"a@x","s\u0075b":"a@x",)" + claims + "}",  // the same key, escaped
        R"({"sub":"a@x","role":"user","role":"admin",)" + claims + "}",
        R"({"sub":"a@x","x":{"k":1,"k":2},)" + claims + "}"}) {
    INFO(payload);
    CHECK(ExpectRefused(*verifier, Hs256Token(kHs256Header, payload)) ==
          "token payload names a member twice");
  }
  CHECK(ExpectRefused(*verifier, Hs256Token(R"({"alg":"HS256","alg":"HS256","typ":"JWT"})",
                                            R"({"sub":"a@x",)" + claims + "}")) ==
        "token header names a member twice");
}

TEST_CASE("role is user when absent, else user or admin", "[jwt]") {
  auto verifier = HsVerifier();
  CHECK(ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims())).role == Role::kUser);
  CHECK(ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims(R"("role":"user")"))).role ==
        Role::kUser);
  CHECK(ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims(R"("role":"admin")"))).role ==
        Role::kAdmin);
  for (const char* role :
       {R"("root")", R"("Admin")", R"("")", "null", "1", "true", R"(["admin"])"}) {
    INFO(role);
    CHECK(ExpectRefused(*verifier,
                        Hs256Token(kHs256Header, Claims(std::string("\"role\":") + role))) ==
          "claim role must be \"user\" or \"admin\"");
  }
}

TEST_CASE("iss and aud are checked when configured", "[jwt]") {
  JwtConfig config;
  config.hs256_secret = kSecret;
  config.issuer = "https://idp.example.com";
  config.audience = "tokenlog";
  auto verifier = MakeVerifier(config);
  const std::string iss = R"("iss":"https://idp.example.com")";

  ExpectAccepted(*verifier, Hs256Token(kHs256Header, Claims(iss + R"(,"aud":"tokenlog")")));
  ExpectAccepted(*verifier,
                 Hs256Token(kHs256Header, Claims(iss + R"(,"aud":["other","tokenlog"])")));
  CHECK(ExpectRefused(*verifier,
                      Hs256Token(kHs256Header, Claims(R"("iss":"https://evil.example.com",)"
                                                      R"("aud":"tokenlog")"))) ==
        "claim iss does not match");
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(R"("aud":"tokenlog")")));
  CHECK(ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(iss + R"(,"aud":"other")"))) ==
        "claim aud does not match");
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(iss)));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(iss + R"(,"aud":["other"])")));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(iss + R"(,"aud":[])")));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(iss + R"(,"aud":["tokenlog",1])")));
  ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims(iss + R"(,"aud":"TOKENLOG")")));

  // Not configured: iss and aud are not looked at.
  ExpectAccepted(*HsVerifier(), Hs256Token(kHs256Header, Claims(R"("iss":1,"aud":"other")")));
}

TEST_CASE("kid, jku, x5u, jwk and x5c never pick or fetch a key", "[jwt]") {
  auto verifier = BothVerifier();
  const std::string header =
      R"({"alg":"HS256","kid":"attacker","jku":"https://evil.example.com/jwks",)"
      R"("x5u":"https://evil.example.com/cert","jwk":{"kty":"oct","k":"YQ"},"x5c":["MII"]})";
  ExpectAccepted(*verifier, Hs256Token(header, Claims()));
  // Signed with the key the header embeds ("a"): refused.
  ExpectRefused(*verifier, Hs256Token(header, Claims(), "a"));
  ExpectAccepted(*verifier, Rs256Token(R"({"alg":"RS256","kid":"k1","jku":"http://x"})", Claims()));
}

TEST_CASE("tokens over 8192 bytes are refused", "[jwt]") {
  auto verifier = HsVerifier();
  auto padded = [](size_t pad) {
    return Hs256Token(kHs256Header, Claims(R"("pad":")" + std::string(pad, 'x') + "\""));
  };
  std::string exact;
  for (size_t pad = 5000; pad < 7000 && exact.empty(); ++pad) {
    if (padded(pad).size() == kMaxJwtBytes) exact = padded(pad);
  }
  REQUIRE(exact.size() == kMaxJwtBytes);
  ExpectAccepted(*verifier, exact);
  std::string over;
  for (size_t pad = 5000; over.size() <= kMaxJwtBytes; ++pad) over = padded(pad);
  REQUIRE(over.size() <= kMaxJwtBytes + 2);
  CHECK(ExpectRefused(*verifier, over) == "token is too long");
  ExpectRefused(*verifier, std::string(1 << 20, 'a'));
}

TEST_CASE("malformed compact serializations are refused", "[jwt]") {
  auto verifier = HsVerifier();
  const std::string token = Hs256Token(kHs256Header, Claims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  const std::string header = token.substr(0, dot1);
  const std::string payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string signature = token.substr(dot2 + 1);

  SECTION("segment count") {
    const std::string kNotThree = "token is not three dot-separated segments";
    CHECK(ExpectRefused(*verifier, "") == kNotThree);
    CHECK(ExpectRefused(*verifier, token.substr(0, dot2)) == kNotThree);
    CHECK(ExpectRefused(*verifier, token + ".") == kNotThree);
    CHECK(ExpectRefused(*verifier, token + "." + signature) == kNotThree);
    CHECK(ExpectRefused(*verifier, header + ".." + payload + "." + signature) == kNotThree);
    ExpectRefused(*verifier, "..");
    ExpectRefused(*verifier, header + "." + payload + ".");
  }
  SECTION("base64url") {
    // A standard-alphabet or foreign character.
    CHECK(ExpectRefused(*verifier, "eyJ+" + token.substr(4)) ==
          "token header is not valid base64url");
    ExpectRefused(*verifier,
                  header + "." + payload.substr(0, 8) + "*" + payload.substr(9) + "." + signature);
    ExpectRefused(*verifier, header + "." + payload + "." + signature.substr(0, 10) + "/" +
                                 signature.substr(11));
    // Padding, even where it would be correct and the signature covers it.
    const std::string padded_header = B64Url(R"({"alg":"HS256","x":12})") + "==";
    REQUIRE(padded_header.size() % 4 == 0);
    const std::string padded_input = padded_header + "." + payload;
    CHECK(ExpectRefused(*verifier, padded_input + "." + HmacSignature(kSecret, padded_input)) ==
          "token header is not valid base64url");
    ExpectRefused(*verifier, header + "." + payload + "." + signature + "=");
    // An impossible length (1 mod 4), even when the signature covers it.
    std::string long_header = header;
    while (long_header.size() % 4 != 1) long_header += 'A';
    const std::string long_input = long_header + "." + payload;
    CHECK(ExpectRefused(*verifier, long_input + "." + HmacSignature(kSecret, long_input)) ==
          "token header is not valid base64url");
    // Non-canonical trailing bits: 43 chars carry 258 bits, the last 2 must be 0.
    REQUIRE(signature.size() == 43);
    std::string bumped = signature;
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bumped.back() = alphabet[alphabet.find(bumped.back()) | 1];
    REQUIRE(bumped != signature);
    CHECK(ExpectRefused(*verifier, header + "." + payload + "." + bumped) ==
          "token signature is not valid base64url");
    // White space inside a segment.
    ExpectRefused(*verifier, header + "." + payload + " ." + signature);
  }
  SECTION("header and payload JSON") {
    CHECK(ExpectRefused(*verifier, Hs256Token("not json", Claims())) ==
          "token header is not a JSON object");
    ExpectRefused(*verifier, Hs256Token(R"(["HS256"])", Claims()));
    ExpectRefused(*verifier, Hs256Token(R"({"alg":"HS256"} x)", Claims()));
    ExpectRefused(*verifier, Hs256Token(R"({"alg":"HS256",})", Claims()));
    CHECK(ExpectRefused(*verifier, Hs256Token(kHs256Header, "[" + Claims() + "]")) ==
          "token payload is not a JSON object");
    ExpectRefused(*verifier, Hs256Token(kHs256Header, "\"" + Claims() + "\""));
    ExpectRefused(*verifier, Hs256Token(kHs256Header, ""));
    ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims() + "garbage"));
    ExpectRefused(*verifier, Hs256Token(kHs256Header, "{\"sub\":\"a\xff\",\"tenant\":\"acme\"}"));
    std::string deep = std::string(100, '[') + std::string(100, ']');
    ExpectRefused(*verifier, Hs256Token(kHs256Header, Claims("\"deep\":" + deep)));
    ExpectRefused(*verifier,
                  Hs256Token(kHs256Header, R"({"sub":"a","tenant":"acme","exp":1e999})"));
  }
}

TEST_CASE("JwtVerifier::Create refuses bad configuration", "[jwt]") {
  auto expect_config_error = [](const JwtConfig& config) {
    auto result = JwtVerifier::Create(config);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == Code::kInvalidRequest);
    CHECK_FALSE(result.status().detail().empty());
    return result.status().detail();
  };
  JwtConfig none;
  CHECK(expect_config_error(none).find("no JWT key") != std::string::npos);

  JwtConfig empty_secret;
  empty_secret.hs256_secret = "";
  expect_config_error(empty_secret);

  JwtConfig bad_pem;
  bad_pem.rs256_public_key_pem =
      "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
  expect_config_error(bad_pem);
  bad_pem.rs256_public_key_pem = "";
  expect_config_error(bad_pem);

  PkeyPtr ec = GenerateKey("EC");
  JwtConfig ec_key;
  ec_key.rs256_public_key_pem = PublicPem(ec.get());
  CHECK(expect_config_error(ec_key).find("not an RSA key") != std::string::npos);

  PkeyPtr small = GenerateKey("RSA", 1024);
  JwtConfig small_key;
  small_key.rs256_public_key_pem = PublicPem(small.get());
  CHECK(expect_config_error(small_key).find("2048") != std::string::npos);

  JwtConfig empty_issuer;
  empty_issuer.hs256_secret = kSecret;
  empty_issuer.issuer = "";
  expect_config_error(empty_issuer);

  JwtConfig negative_leeway;
  negative_leeway.hs256_secret = kSecret;
  negative_leeway.leeway_seconds = -1;
  expect_config_error(negative_leeway);
}

TEST_CASE("Verify is safe to call concurrently", "[jwt]") {
  auto verifier = BothVerifier();
  const std::string hs = Hs256Token(kHs256Header, Claims());
  const std::string rs = Rs256Token(kRs256Header, Claims());
  const std::string bad = FlipChar(rs, rs.size() - 10);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!verifier->Verify(hs, kNow).ok()) ++wrong;
        if (!verifier->Verify(rs, kNow).ok()) ++wrong;
        if (verifier->Verify(bad, kNow).ok()) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
}

}  // namespace tokenlog::api
