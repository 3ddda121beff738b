#include "core/sha256.h"

#include <catch2/catch.hpp>
#include <string>

namespace tokenlog {
namespace {

TEST_CASE("Sha256 matches the FIPS 180-2 vectors", "[sha256]") {
  CHECK(HexLower(Sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(HexLower(Sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HexLower(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("Sha256 hashes embedded NUL bytes", "[sha256]") {
  std::string with_nul("a\0b", 3);
  CHECK(Sha256(with_nul) != Sha256("ab"));
  CHECK(Sha256(with_nul) != Sha256("a"));
}

TEST_CASE("HexLower prints lower-case pairs", "[sha256]") {
  const uint8_t bytes[] = {0x00, 0x0F, 0xA0, 0xFF};
  CHECK(HexLower(bytes, 4) == "000fa0ff");
  CHECK(HexLower(bytes, 0).empty());
}

TEST_CASE("ParseHexDigest round-trips and accepts either case", "[sha256]") {
  const Digest d = Sha256("abc");
  Digest parsed{};
  REQUIRE(ParseHexDigest(HexLower(d), &parsed));
  CHECK(parsed == d);

  std::string upper = HexLower(d);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  Digest parsed_upper{};
  REQUIRE(ParseHexDigest(upper, &parsed_upper));
  CHECK(parsed_upper == d);
}

TEST_CASE("ParseHexDigest rejects anything but 64 hex digits", "[sha256]") {
  const std::string good = HexLower(Sha256("abc"));
  Digest out{};
  const Digest untouched = out;
  CHECK_FALSE(ParseHexDigest("", &out));
  CHECK_FALSE(ParseHexDigest(good.substr(0, 63), &out));
  CHECK_FALSE(ParseHexDigest(good + "0", &out));
  CHECK_FALSE(ParseHexDigest(good.substr(0, 63) + "g", &out));
  CHECK_FALSE(ParseHexDigest(std::string(" ").append(good, 1), &out));
  CHECK_FALSE(ParseHexDigest(std::string(64, '\0'), &out));
  CHECK(out == untouched);  // a failed parse leaves *out alone
}

}  // namespace
}  // namespace tokenlog

TEST_CASE("HMAC-SHA-256 matches RFC 4231 test case 2") {
  CHECK(tokenlog::HexLower(tokenlog::HmacSha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("HMAC-SHA-256 matches RFC 4231 and Python's hmac for keys around the block size") {
  using tokenlog::HexLower;
  using tokenlog::HmacSha256;
  // RFC 4231 test cases 1, 4 and 6 (a key longer than the block is hashed).
  CHECK(HexLower(HmacSha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  std::string key4;
  for (char c = 1; c <= 25; ++c) key4.push_back(c);
  CHECK(HexLower(HmacSha256(key4, std::string(50, '\xcd'))) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  CHECK(HexLower(HmacSha256(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Empty key and data; a key of exactly the block size, and one byte more
  // (values from Python's hmac module).
  CHECK(HexLower(HmacSha256("", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(HexLower(HmacSha256(std::string(64, 'k'), "block-size key")) ==
        "3639ed45f96410ae1abf821aaf15a4e616209464f7e06fb79435d35e485bd3c2");
  CHECK(HexLower(HmacSha256(std::string(65, 'k'), "block-size key")) ==
        "492c0e30e79bd478c547ea77404336b1093be9a3fe2de81aca2185a7a92a69fa");
}
