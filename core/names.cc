#include "core/names.h"

#include "core/ascii.h"
#include "core/token_codec.h"

namespace tokenlog {

bool IsValidTenant(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > 63) return false;
  for (size_t i = 0; i < tenant.size(); ++i) {
    char c = tenant[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && c == '-')) return false;
  }
  return true;
}

namespace {

constexpr size_t kMaxUsername = 254;

bool IsUsernameChar(char c) { return c >= 0x21 && c <= 0x7E && c != ':' && c != '/'; }

}  // namespace

Result<std::string> NormalizeUsername(std::string_view username, Code error_code) {
  if (username.empty()) return Status(error_code, "username is empty");
  if (username.size() > kMaxUsername) {
    return Status(error_code, "username is longer than 254 characters");
  }
  std::string out;
  out.reserve(username.size());
  for (char c : username) {
    if (c < 0x21 || c > 0x7E) {
      return Status(error_code, "username must be printable ASCII without spaces");
    }
    if (!IsUsernameChar(c)) return Status(error_code, "username must not contain ':' or '/'");
    out.push_back(LowerAscii(c));
  }
  // Lower-casing would not hide a value (its checksum tells the case back):
  // an admin who pastes a leaked value where a username goes gets this, and
  // no event names the value as a user.
  if (MayHoldTokenValue(username)) {
    return Status(error_code,
                  "username must not hold a token value or its prefix tlp_ (to find whose a "
                  "value is, use POST /v1/admin/tokens/lookup)");
  }
  return out;
}

bool UsernameMatches(std::string_view claimed, std::string_view normalized) {
  if (claimed.empty() || claimed.size() > kMaxUsername || claimed.size() != normalized.size()) {
    return false;
  }
  for (size_t i = 0; i < claimed.size(); ++i) {
    if (!IsUsernameChar(claimed[i]) || LowerAscii(claimed[i]) != normalized[i]) return false;
  }
  return true;
}

}  // namespace tokenlog
