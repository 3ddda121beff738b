// Strict base64 (RFC 4648): the standard alphabet with padding (HTTP Basic)
// and the URL-safe alphabet without padding (JWS, RFC 7515).
//
// Decoding accepts exactly one encoding per byte string: only alphabet
// characters, padding only where the variant requires it, and zero unused
// bits in the last character. Anything else is nullopt. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tokenlog {

enum class Base64Variant {
  kStandardPadded,  // A-Z a-z 0-9 + /, '=' padding to a multiple of 4
  kUrlUnpadded,     // A-Z a-z 0-9 - _, no padding
};

std::optional<std::string> DecodeBase64(std::string_view in, Base64Variant variant);
// The same decoding into `out` (room for `capacity` bytes, at least
// in.size() / 4 * 3 + 2 always suffices): the number of bytes written, or
// nullopt when `in` is not valid or the bytes do not fit. No allocation.
std::optional<size_t> DecodeBase64Into(std::string_view in, Base64Variant variant, char* out,
                                       size_t capacity);
std::string EncodeBase64(std::string_view in, Base64Variant variant);

}  // namespace tokenlog
