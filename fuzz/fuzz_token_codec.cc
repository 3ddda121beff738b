// libFuzzer target: token value validation (a malformed value is refused
// before any storage read) and the hint. Also builds a well-formed value from
// the input and checks that it validates and that any one-character change
// to it does not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/token_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tokenlog;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (ValidateTokenValue(in).ok()) {
    if (in.size() != kTokenValueLength) __builtin_trap();
    (void)TokenHint(in);
  }
  (void)IsValidTokenId(in);
  if (size < kTokenRandomLength + 2) return 0;
  std::string random;
  for (size_t i = 0; i < kTokenRandomLength; ++i) random.push_back(kBase62Alphabet[data[i] % 62]);
  std::string value = std::string(kTokenPrefix) + random +
                      Base62Fixed(Crc32(random), kTokenChecksumLength);
  if (!ValidateTokenValue(value).ok()) __builtin_trap();
  size_t pos = data[kTokenRandomLength] % value.size();
  char replacement = static_cast<char>(data[kTokenRandomLength + 1]);
  if (replacement == value[pos]) return 0;
  value[pos] = replacement;
  // CRC-32 detects every single-character change of the random part.
  if (ValidateTokenValue(value).ok()) __builtin_trap();
  return 0;
}
