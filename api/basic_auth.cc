#include "api/basic_auth.h"

#include "core/ascii.h"
#include "core/base64.h"

#include <array>
#include <cstdint>

namespace tokenlog::api {
namespace {

bool IsOws(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value) {
  BasicBuffer buffer;
  auto view = ParseBasicAuthorization(header_value, buffer);
  if (!view) return std::nullopt;
  return BasicCredentials{std::string(view->username), std::string(view->password)};
}

std::optional<BasicCredentialsView> ParseBasicAuthorization(std::string_view header_value,
                                                            BasicBuffer& buffer) {
  if (header_value.size() > kMaxBasicAuthorizationBytes) return std::nullopt;
  while (!header_value.empty() && IsOws(header_value.front())) header_value.remove_prefix(1);
  while (!header_value.empty() && IsOws(header_value.back())) header_value.remove_suffix(1);

  constexpr std::string_view kScheme = "basic";
  if (header_value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (LowerAscii(header_value[i]) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = header_value.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);

  // The decoded bytes are fewer than the header's: they fit the buffer.
  auto n = DecodeBase64Into(rest, Base64Variant::kStandardPadded, buffer.data(), buffer.size());
  if (!n) return std::nullopt;
  const std::string_view decoded(buffer.data(), *n);
  const size_t colon = decoded.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return BasicCredentialsView{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

}  // namespace tokenlog::api
