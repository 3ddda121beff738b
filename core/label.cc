#include "core/label.h"

#include <cstdint>

namespace tokenlog {
namespace {

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Decodes the code point at s[*pos] and advances *pos past it. Returns false
// (leaving *pos alone) when the bytes there are not strict UTF-8.
bool DecodeNext(std::string_view s, size_t* pos, char32_t* cp) {
  const size_t i = *pos;
  const uint8_t b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    *pos = i + 1;
    return true;
  }
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return false;  // stray continuation, overlong lead (C0, C1) or F5..FF
  }
  if (s.size() - i < len) return false;
  const uint8_t b1 = static_cast<uint8_t>(s[i + 1]);
  if (b1 < lo || b1 > hi) return false;
  value = (value << 6) | (b1 & 0x3F);
  for (size_t k = 2; k < len; ++k) {
    const uint8_t b = static_cast<uint8_t>(s[i + k]);
    if (!IsContinuation(b)) return false;
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  *pos = i + len;
  return true;
}

bool IsWhiteSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool IsControl(char32_t c) { return c <= 0x1F || (c >= 0x7F && c <= 0x9F); }

bool IsLineSeparator(char32_t c) { return c == 0x2028 || c == 0x2029; }

bool IsBidiControl(char32_t c) {
  return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t pos = 0;
  char32_t cp;
  while (pos < s.size()) {
    if (!DecodeNext(s, &pos, &cp)) return false;
  }
  return true;
}

std::string SanitizeText(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    char32_t cp;
    std::string_view piece;
    if (DecodeNext(s, &pos, &cp) && !IsControl(cp) && !IsLineSeparator(cp) &&
        !IsBidiControl(cp)) {
      piece = s.substr(start, pos - start);
    } else {
      if (pos == start) ++pos;  // skip one invalid byte
      piece = kReplacement;
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
  }
  return out;
}

Result<std::string> ValidateLabel(std::string_view raw, size_t max_code_points, Code error_code,
                                  std::string_view what) {
  const std::string field(what);
  // Pass 1: validate the UTF-8 and find the bytes [begin, end) left after
  // trimming white space at both ends.
  size_t begin = raw.size();
  size_t end = 0;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t at = pos;
    char32_t c;
    if (!DecodeNext(raw, &pos, &c)) return Status(error_code, field + " is not valid UTF-8");
    if (!IsWhiteSpace(c)) {
      if (begin == raw.size()) begin = at;
      end = pos;
    }
  }
  if (begin >= end) return Status(error_code, field + " must not be blank");

  // Pass 2: the trimmed text's characters and length.
  const std::string_view trimmed = raw.substr(begin, end - begin);
  size_t count = 0;
  for (size_t pos = 0; pos < trimmed.size(); ++count) {
    char32_t c = 0;
    (void)DecodeNext(trimmed, &pos, &c);  // valid: checked in pass 1
    if (IsControl(c)) return Status(error_code, field + " contains a control character");
    if (IsLineSeparator(c)) {
      return Status(error_code, field + " contains a line or paragraph separator");
    }
    if (IsBidiControl(c)) {
      return Status(error_code, field + " contains a bidirectional control character");
    }
  }
  if (count > max_code_points) {
    return Status(error_code,
                  field + " is longer than " + std::to_string(max_code_points) + " characters");
  }
  return std::string(trimmed);
}

}  // namespace tokenlog
