#include "core/token_codec.h"

#include "core/ascii.h"

#include <algorithm>
#include <array>
#include <cassert>

namespace tokenlog {
namespace {

// Slicing-by-8 tables: kCrc32Tables[0] is the byte-at-a-time table;
// kCrc32Tables[k][b] is the CRC of byte b followed by k zero bytes.
constexpr std::array<std::array<uint32_t, 256>, 8> MakeCrc32Tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t[0][i] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (uint32_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  }
  return t;
}

constexpr std::array<std::array<uint32_t, 256>, 8> kCrc32Tables = MakeCrc32Tables();

uint32_t LoadLe32(const char* p) {
  return static_cast<uint32_t>(static_cast<uint8_t>(p[0])) |
         static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24;
}

// Largest multiple of 62 that fits in a byte: bytes at or above it are
// rejected so that `byte % 62` is uniform.
constexpr unsigned kBase62RejectFrom = 248;

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool AllBase62(std::string_view s) {
  for (char c : s) {
    if (!IsBase62(c)) return false;
  }
  return true;
}

// Appends `count` uniformly random base62 chars to *out.
Status AppendRandomBase62(RandomSource& random, size_t count, std::string* out) {
  std::array<uint8_t, 64> buf;
  size_t needed = count;
  while (needed > 0) {
    // Ask for a little more than needed: about 3% of bytes are rejected.
    size_t n = std::min(buf.size(), needed + needed / 8 + 2);
    if (!random.Fill(buf.data(), n)) {
      return Status(Code::kUnavailable, "the random source failed");
    }
    for (size_t i = 0; i < n && needed > 0; ++i) {
      if (buf[i] >= kBase62RejectFrom) continue;
      out->push_back(kBase62Alphabet[buf[i] % 62]);
      --needed;
    }
  }
  return Status::Ok();
}

std::string Checksum(std::string_view random_part) {
  return Base62Fixed(Crc32(random_part), kTokenChecksumLength);
}

// Checksum(random_part) == checksum, without building the string.
bool ChecksumMatches(std::string_view random_part, std::string_view checksum) {
  if (checksum.size() != kTokenChecksumLength) return false;
  uint64_t value = Crc32(random_part);
  for (size_t i = kTokenChecksumLength; i > 0; --i) {
    if (checksum[i - 1] != kBase62Alphabet[value % 62]) return false;
    value /= 62;
  }
  return true;  // 62^6 > 2^32: nothing of the CRC is left over
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  const auto& t = kCrc32Tables;
  uint32_t c = 0xFFFFFFFFu;
  const char* p = data.data();
  size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    const uint32_t lo = LoadLe32(p) ^ c;
    const uint32_t hi = LoadLe32(p + 4);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) c = t[0][(c ^ static_cast<uint8_t>(*p)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string Base62Fixed(uint64_t value, size_t width) {
  std::string out(width, '0');
  for (size_t i = width; i > 0; --i) {
    out[i - 1] = kBase62Alphabet[value % 62];
    value /= 62;
  }
  assert(value == 0 && "Base62Fixed: value does not fit in width");
  return out;
}

Result<std::string> GenerateTokenValue(RandomSource& random) {
  std::string value(kTokenPrefix);
  value.reserve(kTokenValueLength);
  TL_RETURN_IF_ERROR(AppendRandomBase62(random, kTokenRandomLength, &value));
  value += Checksum(std::string_view(value).substr(kTokenPrefix.size()));
  assert(value.size() == kTokenValueLength);
  return value;
}

Status ValidateTokenValue(std::string_view value) {
  if (value.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return Status(Code::kInvalidRequest, "token value does not start with tlp_");
  }
  if (value.size() != kTokenValueLength) {
    return Status(Code::kInvalidRequest, "token value is not 40 characters long");
  }
  std::string_view body = value.substr(kTokenPrefix.size());
  if (!AllBase62(body)) {
    return Status(Code::kInvalidRequest,
                  "token value contains a character outside [0-9A-Za-z] after tlp_");
  }
  std::string_view random_part = body.substr(0, kTokenRandomLength);
  std::string_view checksum = body.substr(kTokenRandomLength);
  if (!ChecksumMatches(random_part, checksum)) {
    return Status(Code::kInvalidRequest,
                  "token value checksum does not match (mistyped or truncated?)");
  }
  return Status::Ok();
}

std::string TokenHint(std::string_view value) {
  constexpr size_t kHintChars = 4;
  std::string hint(kTokenPrefix);
  hint += "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
  hint += value.substr(value.size() > kHintChars ? value.size() - kHintChars : 0);
  return hint;
}

bool MayHoldTokenValue(std::string_view text) {
  constexpr size_t kBody = kTokenRandomLength + kTokenChecksumLength;
  size_t run = 0;  // base62 characters ending at text[i]
  for (size_t i = 0; i < text.size(); ++i) {
    if (i + kTokenPrefix.size() <= text.size() &&
        EqualsIgnoringAsciiCase(text.substr(i, kTokenPrefix.size()), kTokenPrefix)) {
      return true;
    }
    run = IsBase62(text[i]) ? run + 1 : 0;
    if (run >= kBody) {
      const std::string_view body = text.substr(i + 1 - kBody, kBody);
      if (ChecksumMatches(body.substr(0, kTokenRandomLength), body.substr(kTokenRandomLength))) {
        return true;
      }
    }
  }
  return false;
}

Result<std::string> NewTokenId(RandomSource& random) {
  std::string id(kTokenIdPrefix);
  id.reserve(kTokenIdPrefix.size() + kTokenIdRandomLength);
  TL_RETURN_IF_ERROR(AppendRandomBase62(random, kTokenIdRandomLength, &id));
  return id;
}

namespace {

// The 16 base62 chars after "tok_" of TokenIdOf(digest).
std::array<char, kTokenIdRandomLength> DerivedIdChars(const Digest& digest) {
  std::array<char, kTokenIdRandomLength> out{};
  for (size_t half = 0; half < 2; ++half) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = v << 8 | digest[half * 8 + i];
    for (size_t i = 8; i > 0; --i) {
      out[half * 8 + i - 1] = kBase62Alphabet[v % 62];
      v /= 62;
    }
  }
  return out;
}

}  // namespace

std::string TokenIdOf(const Digest& digest) {
  const auto chars = DerivedIdChars(digest);
  std::string id(kTokenIdPrefix);
  id.append(chars.data(), chars.size());
  return id;
}

bool IsTokenIdOf(std::string_view id, const Digest& digest) {
  if (id.size() != kTokenIdPrefix.size() + kTokenIdRandomLength ||
      id.substr(0, kTokenIdPrefix.size()) != kTokenIdPrefix) {
    return false;
  }
  const auto chars = DerivedIdChars(digest);
  return id.substr(kTokenIdPrefix.size()) == std::string_view(chars.data(), chars.size());
}

bool IsValidTokenId(std::string_view id) {
  return id.size() == kTokenIdPrefix.size() + kTokenIdRandomLength &&
         id.substr(0, kTokenIdPrefix.size()) == kTokenIdPrefix &&
         AllBase62(id.substr(kTokenIdPrefix.size()));
}

}  // namespace tokenlog
