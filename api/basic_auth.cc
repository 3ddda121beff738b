#include "api/basic_auth.h"

#include "core/base64.h"

#include <array>
#include <cstdint>

namespace tokenlog::api {
namespace {

bool IsOws(char c) { return c == ' ' || c == '\t'; }

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value) {
  if (header_value.size() > kMaxBasicAuthorizationBytes) return std::nullopt;
  while (!header_value.empty() && IsOws(header_value.front())) header_value.remove_prefix(1);
  while (!header_value.empty() && IsOws(header_value.back())) header_value.remove_suffix(1);

  constexpr std::string_view kScheme = "basic";
  if (header_value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (AsciiLower(header_value[i]) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = header_value.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);

  std::optional<std::string> decoded = DecodeBase64(rest, Base64Variant::kStandardPadded);
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  BasicCredentials credentials;
  credentials.username = decoded->substr(0, colon);
  credentials.password = decoded->substr(colon + 1);
  return credentials;
}

}  // namespace tokenlog::api
