// Parsing of HTTP Basic credentials (RFC 7617) for the OData check (API.md,
// "OData authentication check").
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace tokenlog::api {

// Longest Authorization header value that ParseBasicAuthorization() reads.
inline constexpr size_t kMaxBasicAuthorizationBytes = 4096;

// The two halves of `user-id:password`, as raw bytes: neither is validated
// here (the caller checks the username grammar and the token).
struct BasicCredentials {
  std::string username;
  std::string password;
};

// Parses an Authorization header value `Basic <base64>`: the scheme is
// case-insensitive and followed by one or more spaces; leading and trailing
// spaces and tabs around the whole value are ignored. The credentials must be
// standard base64 (RFC 4648 section 4) with its padding, strict: only the
// alphabet, a length that is a multiple of 4, '=' only as final padding, and
// zero unused bits. The decoded bytes are split at the FIRST ':'. Returns
// nullopt for a value over kMaxBasicAuthorizationBytes, another scheme, bad
// base64 or no ':'. Never throws beyond std::bad_alloc; linear in the input.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value);

// The same, without allocating: the decoded bytes go to `buffer` and the
// halves point into it (valid while `buffer` lives and is not reused).
struct BasicCredentialsView {
  std::string_view username;
  std::string_view password;
};
using BasicBuffer = std::array<char, kMaxBasicAuthorizationBytes>;
std::optional<BasicCredentialsView> ParseBasicAuthorization(std::string_view header_value,
                                                            BasicBuffer& buffer);

}  // namespace tokenlog::api
