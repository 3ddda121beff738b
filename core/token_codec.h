// Token values and token ids (API.md, "Words").
//
// Grammar of a token value (40 ASCII chars):
//
//   value    := "tlp_" random checksum
//   random   := 30 * base62          ; from the RandomSource, >= 178 bits
//   checksum := 6 * base62           ; CRC-32 (IEEE 802.3, as zlib's crc32())
//                                    ; of the 30 random chars, written as a
//                                    ; fixed-width big-endian base62 number,
//                                    ; left-padded with '0'
//   base62   := [0-9A-Za-z]          ; digit values in kBase62Alphabet order
//
// The checksum lets the service (and secret scanners) reject a mistyped value
// without touching storage. A token id is "tok_" followed by 16 base62 chars.
//
// A token minted since schema 5 has the id derived from its value's SHA-256
// (TokenIdOf), so that a value or a digest finds its token with one point
// read of the token records and needs no hash index of its own. Ids minted
// before were random (NewTokenId): the projections keep a hash index entry
// for those alone. The id reveals 95 bits of the digest, never the value:
// inverting SHA-256 for a 178-bit random value is as hard with them.
//
// Random chars are drawn without bias: bytes >= 248 (= 4 * 62) are rejected,
// the rest taken modulo 62.
//
// All functions are thread-safe (a RandomSource is thread-safe). No function
// here ever puts a token value into a Status detail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/random.h"
#include "core/sha256.h"
#include "core/status.h"

namespace tokenlog {

inline constexpr std::string_view kTokenPrefix = "tlp_";
inline constexpr size_t kTokenValueLength = 40;
inline constexpr size_t kTokenRandomLength = 30;
inline constexpr size_t kTokenChecksumLength = 6;
inline constexpr std::string_view kTokenIdPrefix = "tok_";
inline constexpr size_t kTokenIdRandomLength = 16;
inline constexpr std::string_view kBase62Alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the value zlib's
// crc32(0, data, size) returns. Crc32("123456789") == 0xCBF43926.
uint32_t Crc32(std::string_view data);

// `value` in base62 as exactly `width` chars, big-endian, left-padded with '0'.
// REQUIRES: value < 62^width (asserted in debug builds; higher digits are
// dropped otherwise).
std::string Base62Fixed(uint64_t value, size_t width);

// A fresh token value. Returns kUnavailable if the random source fails.
Result<std::string> GenerateTokenValue(RandomSource& random);

// OK when `value` is a well-formed token value (prefix, length, alphabet and
// checksum all hold). Otherwise kInvalidRequest with a detail naming the first
// rule broken, checked in this order: wrong prefix, wrong length, a character
// outside base62, checksum mismatch. The detail never contains the value.
Status ValidateTokenValue(std::string_view value);

// "tlp_…" (U+2026 in UTF-8) followed by the last 4 chars of `value` (all of
// it when shorter), so a person can tell tokens apart.
std::string TokenHint(std::string_view value);

// True when text a client sent may hold a token value, which no error
// message, log line or event may carry: the prefix anywhere, in any case (a
// value whole or cut short), or 36 base62 characters whose last 6 are the
// checksum of the 30 before them (a value whose prefix was mangled or cut
// off; 1 in 62^6 of random base62 runs match).
bool MayHoldTokenValue(std::string_view text);

// What an error message or event carries in place of such text.
inline constexpr std::string_view kWithheldText = "(withheld: it held a token prefix)";

// A fresh random token id: "tok_" + 16 base62 chars. Returns kUnavailable
// if the random source fails. (What ids were before schema 5; tests and
// benchmarks use it to make such tokens.)
Result<std::string> NewTokenId(RandomSource& random);

// The id of the token whose value has SHA-256 `digest`: "tok_" + 16 base62
// chars, the two halves of the digest's first 16 bytes (big-endian) written
// as 8 base62 digits each (62^8 < 2^64; modulo 62^8, a bias of 1e-5).
std::string TokenIdOf(const Digest& digest);
// True when `id` == TokenIdOf(digest), without allocating.
bool IsTokenIdOf(std::string_view id, const Digest& digest);

// True when `id` is "tok_" followed by exactly 16 base62 chars.
bool IsValidTokenId(std::string_view id);

}  // namespace tokenlog
