#include "api/basic_auth.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <string>

namespace tokenlog::api {
namespace {

// Padded standard base64 through OpenSSL's encoder, independent of the code
// under test.
std::string B64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

// Any password will do here: the parser does not look at it.
constexpr std::string_view kToken = "pat-0123456789abcdefghijABCDEFGHIJ012345";

}  // namespace

TEST_CASE("valid Basic credentials are split at the first colon", "[basic_auth]") {
  auto creds = ParseBasicAuthorization("Basic " + B64("alice@example.com:" + std::string(kToken)));
  REQUIRE(creds.has_value());
  CHECK(creds->username == "alice@example.com");
  CHECK(creds->password == kToken);

  // RFC 7617's example.
  creds = ParseBasicAuthorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  REQUIRE(creds.has_value());
  CHECK(creds->username == "Aladdin");
  CHECK(creds->password == "open sesame");
}

TEST_CASE("the scheme is case-insensitive and may be followed by several spaces", "[basic_auth]") {
  const std::string encoded = B64("bob:pw");
  for (std::string prefix : {"basic ", "BASIC ", "bAsIc ", "Basic    ", "  Basic "}) {
    INFO(prefix);
    auto creds = ParseBasicAuthorization(prefix + encoded);
    REQUIRE(creds.has_value());
    CHECK(creds->username == "bob");
    CHECK(creds->password == "pw");
  }
  CHECK(ParseBasicAuthorization("Basic " + encoded + " \t").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic\t" + encoded).has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic" + encoded).has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basicx " + encoded).has_value());
}

TEST_CASE("a password may contain colons", "[basic_auth]") {
  auto creds = ParseBasicAuthorization("Basic " + B64("carol:pa:ss:"));
  REQUIRE(creds.has_value());
  CHECK(creds->username == "carol");
  CHECK(creds->password == "pa:ss:");

  creds = ParseBasicAuthorization("Basic " + B64(":"));
  REQUIRE(creds.has_value());
  CHECK(creds->username.empty());
  CHECK(creds->password.empty());
}

TEST_CASE("credentials without a colon are refused", "[basic_auth]") {
  CHECK_FALSE(ParseBasicAuthorization("Basic " + B64("alice")).has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic " + B64(kToken)).has_value());
}

TEST_CASE("bad base64 is refused", "[basic_auth]") {
  const std::string good = B64("dave:secret1");  // 12 bytes: no padding
  REQUIRE(ParseBasicAuthorization("Basic " + good).has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic " + good.substr(1)).has_value());  // length
  CHECK_FALSE(ParseBasicAuthorization("Basic " + good + "=").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic " + good + "====").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic *" + good.substr(1)).has_value());
  CHECK_FALSE(
      ParseBasicAuthorization("Basic " + good.substr(0, 4) + " " + good.substr(5)).has_value());
  // base64url characters are not standard base64.
  CHECK(ParseBasicAuthorization("Basic " + B64("e:\xfb\xff")).has_value());
  std::string url = B64("e:\xfb\xff");  // "ZTr7/w=="
  REQUIRE(url.find('/') != std::string::npos);
  url[url.find('/')] = '_';
  CHECK_FALSE(ParseBasicAuthorization("Basic " + url).has_value());

  const std::string one_pad = B64("eve:pw12");  // 8 bytes: one '='
  REQUIRE(one_pad.back() == '=');
  REQUIRE(ParseBasicAuthorization("Basic " + one_pad).has_value());
  // Padding missing, or '=' in the middle.
  CHECK_FALSE(
      ParseBasicAuthorization("Basic " + one_pad.substr(0, one_pad.size() - 1)).has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic " + one_pad.substr(0, 4) + "=" + one_pad.substr(5))
                  .has_value());
  // Non-canonical unused bits: "ZTo=" is "e:", "ZTp=" carries a stray bit.
  CHECK(ParseBasicAuthorization("Basic ZTo=").has_value());  // "e:"
  CHECK_FALSE(ParseBasicAuthorization("Basic ZTp=").has_value());
  CHECK(ParseBasicAuthorization("Basic OmE=").has_value());  // ":a"
  CHECK_FALSE(ParseBasicAuthorization("Basic OmF=").has_value());
  CHECK(ParseBasicAuthorization("Basic Og==").has_value());  // ":"
  CHECK_FALSE(ParseBasicAuthorization("Basic Oh==").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic O===").has_value());
  // Three '=' never pad: "YTpi" alone is "a:b".
  REQUIRE(ParseBasicAuthorization("Basic YTpi").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic YTpiA===").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic YTpi====").has_value());
}

TEST_CASE("empty and non-Basic values are refused", "[basic_auth]") {
  CHECK_FALSE(ParseBasicAuthorization("").has_value());
  CHECK_FALSE(ParseBasicAuthorization("   ").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic ").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Basic    ").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Bearer x").has_value());
  CHECK_FALSE(ParseBasicAuthorization("Bearer " + B64("a:b")).has_value());
  CHECK_FALSE(ParseBasicAuthorization("Digest " + B64("a:b")).has_value());
  CHECK_FALSE(ParseBasicAuthorization(B64("a:b")).has_value());
}

TEST_CASE("over-long header values are refused", "[basic_auth]") {
  // Largest accepted: exactly kMaxBasicAuthorizationBytes.
  const std::string prefix = "Basic ";
  std::string raw = "u:";
  while (prefix.size() + B64(raw + "p").size() <= kMaxBasicAuthorizationBytes) raw += "p";
  REQUIRE(prefix.size() + B64(raw).size() <= kMaxBasicAuthorizationBytes);
  std::string fits = prefix + B64(raw);
  fits.append(kMaxBasicAuthorizationBytes - fits.size(), ' ');  // trailing OWS
  REQUIRE(fits.size() == kMaxBasicAuthorizationBytes);
  CHECK(ParseBasicAuthorization(fits).has_value());
  CHECK_FALSE(ParseBasicAuthorization(fits + " ").has_value());
  CHECK_FALSE(ParseBasicAuthorization(prefix + B64("u:" + std::string(4000, 'p'))).has_value());
  CHECK_FALSE(ParseBasicAuthorization(std::string(1 << 20, 'A')).has_value());
}

}  // namespace tokenlog::api
