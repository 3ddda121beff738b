#include <catch2/catch.hpp>

#include "core/base64.h"

using tokenlog::Base64Variant;
using tokenlog::DecodeBase64;
using tokenlog::EncodeBase64;

TEST_CASE("base64 round-trips every length in both variants") {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    for (auto v : {Base64Variant::kStandardPadded, Base64Variant::kUrlUnpadded}) {
      std::string enc = EncodeBase64(bytes, v);
      auto dec = DecodeBase64(enc, v);
      REQUIRE(dec.has_value());
      CHECK(*dec == bytes);
    }
    bytes.push_back(static_cast<char>(n * 37 + 250));
  }
  CHECK(EncodeBase64("any carnal pleas", Base64Variant::kStandardPadded) ==
        "YW55IGNhcm5hbCBwbGVhcw==");
  CHECK(EncodeBase64("\xfb\xff", Base64Variant::kUrlUnpadded) == "-_8");
}

TEST_CASE("base64 decoding is strict") {
  CHECK_FALSE(DecodeBase64("YW55IGNhcm5hbCBwbGVhcw", Base64Variant::kStandardPadded));  // no pad
  CHECK_FALSE(DecodeBase64("YW55IGNhcm5hbCBwbGVhcx==", Base64Variant::kStandardPadded));  // bits
  CHECK_FALSE(DecodeBase64("YW=5", Base64Variant::kStandardPadded));  // '=' inside
  CHECK_FALSE(DecodeBase64("YW5 ", Base64Variant::kStandardPadded));
  CHECK_FALSE(DecodeBase64("-_8=", Base64Variant::kUrlUnpadded));  // padding in url variant
  CHECK_FALSE(DecodeBase64("+/8", Base64Variant::kUrlUnpadded));   // standard chars
  CHECK_FALSE(DecodeBase64("A", Base64Variant::kUrlUnpadded));     // impossible length
  CHECK(DecodeBase64("", Base64Variant::kUrlUnpadded) == std::string());
}
