#include "core/base64.h"

#include <array>
#include <cstdint>

namespace tokenlog {

namespace {

constexpr std::string_view kStandard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Value of each alphabet character, -1 for any other byte (including '=').
constexpr std::array<int8_t, 256> MakeTable(std::string_view alphabet) {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kStandardTable = MakeTable(kStandard);
constexpr std::array<int8_t, 256> kUrlTable = MakeTable(kUrl);

}  // namespace

std::optional<std::string> DecodeBase64(std::string_view in, Base64Variant variant) {
  std::string out(in.size() / 4 * 3 + 2, '\0');
  auto n = DecodeBase64Into(in, variant, out.data(), out.size());
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

std::optional<size_t> DecodeBase64Into(std::string_view in, Base64Variant variant, char* out,
                                       size_t capacity) {
  const bool padded = variant == Base64Variant::kStandardPadded;
  const auto& table = padded ? kStandardTable : kUrlTable;
  std::string_view data = in;
  if (padded) {
    if (in.size() % 4 != 0) return std::nullopt;
    size_t padding = 0;
    while (padding < 2 && padding < in.size() && in[in.size() - 1 - padding] == '=') ++padding;
    data = in.substr(0, in.size() - padding);
  } else if (in.size() % 4 == 1) {
    return std::nullopt;
  }
  // Four characters to three bytes a step; the size is known up front.
  const size_t quads = data.size() / 4;
  const size_t rest = data.size() % 4;  // 0, 2 or 3 (1 was refused above)
  if (rest == 1) return std::nullopt;   // unreachable after the checks above
  const size_t size = quads * 3 + (rest == 0 ? 0 : rest - 1);
  if (size > capacity) return std::nullopt;
  auto value = [&](char c) { return table[static_cast<unsigned char>(c)]; };
  const char* p = data.data();
  for (size_t q = 0; q < quads; ++q, p += 4, out += 3) {
    const int8_t a = value(p[0]), b = value(p[1]), c = value(p[2]), d = value(p[3]);
    if ((a | b | c | d) < 0) return std::nullopt;  // also a '=' anywhere but the final padding
    const uint32_t v = static_cast<uint32_t>(a) << 18 | static_cast<uint32_t>(b) << 12 |
                       static_cast<uint32_t>(c) << 6 | static_cast<uint32_t>(d);
    out[0] = static_cast<char>(v >> 16);
    out[1] = static_cast<char>((v >> 8) & 0xFF);
    out[2] = static_cast<char>(v & 0xFF);
  }
  if (rest >= 2) {
    const int8_t a = value(p[0]), b = value(p[1]), c = rest == 3 ? value(p[2]) : 0;
    if ((a | b | c) < 0) return std::nullopt;
    const uint32_t v = static_cast<uint32_t>(a) << 18 | static_cast<uint32_t>(b) << 12 |
                       static_cast<uint32_t>(c) << 6;
    // The bits past the last whole byte must be zero (canonical encoding).
    if ((rest == 2 ? v & 0xFFFF : v & 0xFF) != 0) return std::nullopt;
    out[0] = static_cast<char>(v >> 16);
    if (rest == 3) out[1] = static_cast<char>((v >> 8) & 0xFF);
  }
  return size;
}

std::string EncodeBase64(std::string_view in, Base64Variant variant) {
  const bool padded = variant == Base64Variant::kStandardPadded;
  const std::string_view alphabet = padded ? kStandard : kUrl;
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3F]);
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3F]);
  while (padded && out.size() % 4 != 0) out.push_back('=');
  return out;
}

}  // namespace tokenlog
