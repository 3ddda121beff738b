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
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;  // also a '=' anywhere but the final padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == capacity) return std::nullopt;
      out[n++] = static_cast<char>((acc >> bits) & 0xFF);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;  // non-canonical unused bits
  return n;
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
