#include "core/token_codec.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/random.h"

namespace tokenlog {
namespace {

// Hands out scripted bytes, then fails.
class ScriptedRandom final : public RandomSource {
 public:
  explicit ScriptedRandom(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  bool Fill(uint8_t* out, size_t n) override {
    if (bytes_.size() - next_ < n) return false;
    for (size_t i = 0; i < n; ++i) out[i] = bytes_[next_++];
    return true;
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t next_ = 0;
};

class FailingRandom final : public RandomSource {
 public:
  bool Fill(uint8_t*, size_t) override { return false; }
};

bool IsBase62(char c) { return kBase62Alphabet.find(c) != std::string_view::npos; }

// A well-formed value built by hand from a known random part (the checksum
// computed with Python's zlib.crc32).
// A known-answer vector (random part, then its checksum), split so that no
// literal token value sits in the source.
const std::string kKnownValue = std::string("tlp_") + "abcdefghijABCDEFGHIJ0123456789" + "2C2O59";

TEST_CASE("Crc32 is zlib's CRC-32", "[token_codec]") {
  CHECK(Crc32("123456789") == 0xCBF43926u);
  CHECK(Crc32("") == 0u);
  CHECK(Crc32("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
  CHECK(Crc32("abcdefghijABCDEFGHIJ0123456789") == 0x77D0780Fu);
  // Against the bit-at-a-time definition, for every length up to 100 and
  // every alignment of the 8-byte steps (the slices must agree with it).
  auto reference = [](std::string_view data) {
    uint32_t c = 0xFFFFFFFFu;
    for (char ch : data) {
      c ^= static_cast<uint8_t>(ch);
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    }
    return c ^ 0xFFFFFFFFu;
  };
  std::string bytes;
  uint32_t x = 12345;
  for (int i = 0; i < 108; ++i) {
    x = x * 1103515245u + 12345u;
    bytes.push_back(static_cast<char>(x >> 16));
  }
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n + offset <= 108 && n <= 100; ++n) {
      std::string_view part(bytes.data() + offset, n);
      INFO("offset " << offset << ", length " << n);
      CHECK(Crc32(part) == reference(part));
    }
  }
}

TEST_CASE("Base62Fixed is fixed-width big-endian base62", "[token_codec]") {
  CHECK(kBase62Alphabet.size() == 62);
  CHECK(Base62Fixed(0, 6) == "000000");
  CHECK(Base62Fixed(61, 2) == "0z");
  CHECK(Base62Fixed(62, 2) == "10");
  CHECK(Base62Fixed(0xFFFFFFFFu, 6) == "4gfFC3");
  CHECK(Base62Fixed(56800235583ULL, 6) == "zzzzzz");  // 62^6 - 1
  CHECK(Base62Fixed(0, 0).empty());
}

TEST_CASE("A hand-built value with a known checksum validates", "[token_codec]") {
  CHECK(ValidateTokenValue(kKnownValue).ok());
}

TEST_CASE("Generated values have the documented shape and validate", "[token_codec]") {
  CryptoRandom crypto;
  SeededRandom seeded(7);
  std::set<std::string> seen;
  for (RandomSource* random :
       {static_cast<RandomSource*>(&crypto), static_cast<RandomSource*>(&seeded)}) {
    for (int i = 0; i < 2000; ++i) {
      Result<std::string> value = GenerateTokenValue(*random);
      REQUIRE(value.ok());
      REQUIRE(value->size() == kTokenValueLength);
      REQUIRE(value->substr(0, 4) == "tlp_");
      for (size_t p = 4; p < value->size(); ++p) REQUIRE(IsBase62((*value)[p]));
      std::string_view random_part = std::string_view(*value).substr(4, 30);
      REQUIRE(value->substr(34) == Base62Fixed(Crc32(random_part), 6));
      Status st = ValidateTokenValue(*value);
      INFO(st.detail());
      REQUIRE(st.ok());
      REQUIRE(seen.insert(*value).second);
    }
  }
}

TEST_CASE("Generated random chars use the whole alphabet", "[token_codec]") {
  SeededRandom random(1);
  std::set<char> chars;
  for (int i = 0; i < 200; ++i) {
    Result<std::string> value = GenerateTokenValue(random);
    REQUIRE(value.ok());
    for (char c : value->substr(4, 30)) chars.insert(c);
  }
  CHECK(chars.size() == 62);
}

TEST_CASE("Random bytes >= 248 are rejected, the rest taken modulo 62", "[token_codec]") {
  // 248..255 are skipped; 0 -> '0', 61 -> 'z', 62 -> '0', 247 -> 247 % 62 = 61 -> 'z'.
  std::vector<uint8_t> bytes = {248, 255, 0, 61, 250, 62, 247};
  for (int i = 0; i < 200; ++i) bytes.push_back(static_cast<uint8_t>(10 + i % 26));
  ScriptedRandom random(bytes);
  Result<std::string> value = GenerateTokenValue(random);
  REQUIRE(value.ok());
  CHECK(value->substr(4, 4) == "0z0z");
  CHECK(value->substr(8, 3) == "ABC");
  CHECK(ValidateTokenValue(*value).ok());
}

TEST_CASE("A failing random source is kUnavailable", "[token_codec]") {
  FailingRandom random;
  Result<std::string> value = GenerateTokenValue(random);
  REQUIRE_FALSE(value.ok());
  CHECK(value.status().code() == Code::kUnavailable);
  Result<std::string> id = NewTokenId(random);
  REQUIRE_FALSE(id.ok());
  CHECK(id.status().code() == Code::kUnavailable);

  // Only bytes that are all rejected, then failure: still kUnavailable.
  ScriptedRandom rejected(std::vector<uint8_t>(64, 255));
  Result<std::string> value2 = GenerateTokenValue(rejected);
  REQUIRE_FALSE(value2.ok());
  CHECK(value2.status().code() == Code::kUnavailable);
}

TEST_CASE("SeededRandom gives deterministic values and ids", "[token_codec]") {
  SeededRandom a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) {
    Result<std::string> va = GenerateTokenValue(a);
    Result<std::string> vb = GenerateTokenValue(b);
    Result<std::string> vc = GenerateTokenValue(c);
    REQUIRE((va.ok() && vb.ok() && vc.ok()));
    CHECK(*va == *vb);
    CHECK(*va != *vc);
    Result<std::string> ia = NewTokenId(a);
    Result<std::string> ib = NewTokenId(b);
    REQUIRE((ia.ok() && ib.ok()));
    CHECK(*ia == *ib);
  }
}

TEST_CASE("Every single-character substitution is rejected", "[token_codec]") {
  SeededRandom seeded(99);
  CryptoRandom crypto;
  std::vector<std::string> values = {std::string(kKnownValue)};
  for (int i = 0; i < 3; ++i) {
    Result<std::string> v = GenerateTokenValue(i == 0 ? static_cast<RandomSource&>(crypto)
                                                      : static_cast<RandomSource&>(seeded));
    REQUIRE(v.ok());
    values.push_back(*v);
  }
  for (const std::string& value : values) {
    const std::string checksum_detail =
        ValidateTokenValue(value.substr(0, 4) + (value[4] == 'a' ? 'b' : 'a') + value.substr(5))
            .detail();
    for (size_t pos = 0; pos < value.size(); ++pos) {
      for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        if (c == value[pos]) continue;
        std::string mutated = value;
        mutated[pos] = c;
        Status st = ValidateTokenValue(mutated);
        INFO("position " << pos << ", byte " << b);
        REQUIRE_FALSE(st.ok());
        REQUIRE(st.code() == Code::kInvalidRequest);
        if (pos >= 4 && IsBase62(c)) {
          REQUIRE(st.detail() == checksum_detail);  // caught by the checksum
        } else if (pos >= 4) {
          REQUIRE(st.detail().find("outside") != std::string::npos);
        } else {
          REQUIRE(st.detail().find("tlp_") != std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("Malformed values get distinct details that never echo them", "[token_codec]") {
  const std::string good(kKnownValue);
  const std::string bad_prefix = "tlx_" + good.substr(4);
  const std::string upper_prefix = "TLP_" + good.substr(4);
  const std::string too_short = good.substr(0, 39);
  const std::string too_long = good + "0";
  const std::string bad_char = good.substr(0, 20) + "-" + good.substr(21);
  const std::string bad_sum = good.substr(0, 39) + (good[39] == '0' ? "1" : "0");

  std::set<std::string> details;
  for (const std::string& v : {bad_prefix, too_short, bad_char, bad_sum}) {
    Status st = ValidateTokenValue(v);
    REQUIRE_FALSE(st.ok());
    CHECK(st.code() == Code::kInvalidRequest);
    CHECK(st.detail().find(v.substr(4, 8)) == std::string::npos);
    CHECK(st.detail().find(v.substr(v.size() - 6)) == std::string::npos);
    details.insert(st.detail());
  }
  CHECK(details.size() == 4);

  CHECK(ValidateTokenValue(upper_prefix).detail() == ValidateTokenValue(bad_prefix).detail());
  CHECK(ValidateTokenValue(too_long).detail() == ValidateTokenValue(too_short).detail());
  CHECK(ValidateTokenValue("").detail() == ValidateTokenValue(bad_prefix).detail());
  CHECK(ValidateTokenValue("tlp_").detail() == ValidateTokenValue(too_short).detail());
  CHECK(ValidateTokenValue(good.substr(4)).detail() == ValidateTokenValue(bad_prefix).detail());
}

TEST_CASE("TokenHint is tlp_… and the last 4 chars", "[token_codec]") {
  CHECK(TokenHint(kKnownValue) == std::string("tlp_\xE2\x80\xA6") + "2O59");
  CHECK(TokenHint(kKnownValue).size() == 4 + 3 + 4);
  CHECK(TokenHint("ab") == std::string("tlp_\xE2\x80\xA6") + "ab");
}

TEST_CASE("Token ids are tok_ and 16 base62 chars", "[token_codec]") {
  CryptoRandom random;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    Result<std::string> id = NewTokenId(random);
    REQUIRE(id.ok());
    REQUIRE(id->size() == 20);
    REQUIRE(id->substr(0, 4) == "tok_");
    REQUIRE(IsValidTokenId(*id));
    REQUIRE(seen.insert(*id).second);
  }
  CHECK(IsValidTokenId("tok_0123456789abcdef"));
  CHECK(IsValidTokenId("tok_ZZZZZZZZZZZZZZZZ"));
  CHECK_FALSE(IsValidTokenId(""));
  CHECK_FALSE(IsValidTokenId("tok_"));
  CHECK_FALSE(IsValidTokenId("tok_0123456789abcde"));
  CHECK_FALSE(IsValidTokenId("tok_0123456789abcdef0"));
  CHECK_FALSE(IsValidTokenId("TOK_0123456789abcdef"));
  CHECK_FALSE(IsValidTokenId("tlp_0123456789abcdef"));
  CHECK_FALSE(IsValidTokenId("tok_0123456789abcde-"));
  CHECK_FALSE(IsValidTokenId("tok_0123456789abcd/f"));
  CHECK_FALSE(IsValidTokenId(std::string("tok_0123456789abcde\0", 20)));
}

TEST_CASE("TokenIdOf derives a valid id from a digest, and IsTokenIdOf recognises it",
          "[token_codec]") {
  // Computed independently (Python: each 8-byte half of SHA-256("abc"),
  // big-endian, modulo 62^8, as 8 base62 digits).
  CHECK(TokenIdOf(Sha256("abc")) == "tok_NUjK18PaiTfBOixP");
  SeededRandom random(5);
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    Result<std::string> value = GenerateTokenValue(random);
    REQUIRE(value.ok());
    const Digest d = Sha256(*value);
    const std::string id = TokenIdOf(d);
    CHECK(IsValidTokenId(id));
    CHECK(id == TokenIdOf(d));
    CHECK(IsTokenIdOf(id, d));
    ids.insert(id);
    // Not the id of another digest, nor a random id, nor a near miss.
    CHECK_FALSE(IsTokenIdOf(id, Sha256(*value + "x")));
    Result<std::string> random_id = NewTokenId(random);
    REQUIRE(random_id.ok());
    CHECK_FALSE(IsTokenIdOf(*random_id, d));
    std::string other = id;
    other.back() = other.back() == 'a' ? 'b' : 'a';
    CHECK_FALSE(IsTokenIdOf(other, d));
    CHECK_FALSE(IsTokenIdOf(id.substr(0, id.size() - 1), d));
    CHECK_FALSE(IsTokenIdOf("tak_" + id.substr(4), d));
  }
  CHECK(ids.size() == 200);
}

TEST_CASE("MayHoldTokenValue finds the prefix in any case, or a value's checksummed body",
          "[token_codec]") {
  SeededRandom random(7);
  Result<std::string> value = GenerateTokenValue(random);
  REQUIRE(value.ok());
  const std::string body = value->substr(kTokenPrefix.size());
  CHECK(MayHoldTokenValue(*value));
  CHECK(MayHoldTokenValue("alice " + *value));
  CHECK(MayHoldTokenValue(value->substr(0, 10)));  // cut short
  CHECK(MayHoldTokenValue("TLP_x"));
  CHECK(MayHoldTokenValue("xTlP_"));
  // The prefix gone or mangled: the body's checksum tells it.
  CHECK(MayHoldTokenValue(body));
  CHECK(MayHoldTokenValue("tl\x01p_" + body + "!"));
  CHECK(MayHoldTokenValue("tlp-" + body));
  CHECK(MayHoldTokenValue("ab" + body));  // inside a longer base62 run
  CHECK_FALSE(MayHoldTokenValue(""));
  CHECK_FALSE(MayHoldTokenValue("tlp"));
  CHECK_FALSE(MayHoldTokenValue("tl_p tlp- tlp"));
  CHECK_FALSE(MayHoldTokenValue("alice@acme.example"));
  CHECK_FALSE(MayHoldTokenValue(body.substr(0, body.size() - 1)));  // 35 characters
  std::string wrong = body;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';  // the checksum no longer matches
  CHECK_FALSE(MayHoldTokenValue(wrong));
  CHECK_FALSE(MayHoldTokenValue("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft.Data.Mashup"));
}

}  // namespace
}  // namespace tokenlog
