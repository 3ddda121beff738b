// SHA-256 and lower-case hex: how token values are kept (only their digest is
// stored) and how the event hash chain is printed.
//
// Pure functions over OpenSSL's SHA-256; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokenlog {

using Digest = std::array<uint8_t, 32>;

// The SHA-256 of `data`. Never fails (the process aborts if OpenSSL cannot
// compute a digest, which only happens when it cannot allocate memory).
Digest Sha256(std::string_view data);
// HMAC-SHA-256 of `data` under `key` (any length, empty included).
Digest HmacSha256(std::string_view key, std::string_view data);

// Lower-case hex of p[0..n): 2n characters.
std::string HexLower(const uint8_t* p, size_t n);
std::string HexLower(const Digest& d);

// Parses exactly 64 hex digits (either case) into *out. Returns false for any
// other input, leaving *out unchanged.
bool ParseHexDigest(std::string_view hex, Digest* out);

}  // namespace tokenlog
