// Grammar of tenant ids and usernames (API.md, "Words").
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenlog {

// A tenant id: [a-z0-9][a-z0-9-]{0,62}. Not case-folded.
bool IsValidTenant(std::string_view tenant);

// A username: 1..254 chars of printable ASCII (0x21..0x7E) except ':' and
// '/', and nothing that may hold a token value (MayHoldTokenValue: the
// prefix tlp_ in any case, or a value's checksummed body), so that no event
// names a value as a user. Returns it lower-cased (usernames compare
// case-insensitively), or `error_code` with a detail naming the rule broken.
Result<std::string> NormalizeUsername(std::string_view username,
                                      Code error_code = Code::kInvalidRequest);

// Whether `claimed` is a valid username whose normalized form is
// `normalized`: the same answer as NormalizeUsername(claimed) succeeding and
// equalling `normalized`, without allocating (the OData check's path), for
// any `normalized` that NormalizeUsername returned. (A stored name from
// before the token-value rule still matches its owner's claims: the rule
// keeps values out of new events, and the check's path does not rescan.)
bool UsernameMatches(std::string_view claimed, std::string_view normalized);

}  // namespace tokenlog
