#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

namespace {

// The decoder's definition, one character at a time (the shape of the
// first implementation): what DecodeBase64Into must answer for any input.
std::optional<std::string> ReferenceDecode(std::string_view in, Base64Variant variant) {
  const bool padded = variant == Base64Variant::kStandardPadded;
  const std::string_view alphabet =
      padded ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // Padded: whole quads, of which the last may end in "=" or "=="; the
  // rest of the characters must come from the alphabet.
  std::string_view data = in;
  if (padded && in.size() % 4 != 0) return std::nullopt;
  if (!padded && in.size() % 4 == 1) return std::nullopt;
  if (padded && data.ends_with("==")) {
    data.remove_suffix(2);
  } else if (padded && data.ends_with("=")) {
    data.remove_suffix(1);
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    size_t v = alphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;
  return out;
}

}  // namespace

TEST_CASE("base64 decoding answers as its one-character-at-a-time definition") {
  // Every string of up to 5 characters over characters that matter (both
  // alphabets' extra characters, padding, one outside both, values whose
  // low bits are zero or not), and longer random ones.
  const std::string chars = "AQgw/+-_=!z9";
  std::vector<std::string> inputs = {""};
  for (size_t len = 1; len <= 5; ++len) {
    std::vector<std::string> longer;
    for (const std::string& s : inputs) {
      if (s.size() != len - 1) continue;
      for (char c : chars) longer.push_back(s + c);
    }
    inputs.insert(inputs.end(), longer.begin(), longer.end());
  }
  uint32_t x = 7;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    size_t len = 6 + i % 11;
    for (size_t k = 0; k < len; ++k) {
      x = x * 1103515245u + 12345u;
      s.push_back(chars[(x >> 16) % chars.size()]);
    }
    inputs.push_back(s);
  }
  size_t decoded = 0;
  for (const std::string& in : inputs) {
    for (auto variant : {Base64Variant::kStandardPadded, Base64Variant::kUrlUnpadded}) {
      INFO("input '" << in << "', variant " << static_cast<int>(variant));
      auto expected = ReferenceDecode(in, variant);
      CHECK(DecodeBase64(in, variant) == expected);
      decoded += expected.has_value();
      // With room for exactly the answer, and one byte less.
      if (expected) {
        std::string out(expected->size(), '\0');
        CHECK(tokenlog::DecodeBase64Into(in, variant, out.data(), out.size()) == expected->size());
        CHECK(out == *expected);
        if (!expected->empty()) {
          CHECK_FALSE(tokenlog::DecodeBase64Into(in, variant, out.data(), out.size() - 1));
        }
      }
    }
  }
  CHECK(decoded > 1000);  // the inputs exercise successful decodes, not only refusals
}
