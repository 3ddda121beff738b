// The JSON shapes of API.md that more than one place prints: the token
// object and the policy object (the HTTP API and the CLI's --json).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/jcs.h"
#include "core/policy.h"
#include "core/token.h"

namespace tokenlog::api {

// The token object, status computed at `now`. `fresher_use`: a use seen in
// memory but not yet logged, which wins over the stored last_used_at when
// later. Never contains the value.
JcsObject TokenJson(const TokenRecord& token, int64_t now,
                    std::optional<int64_t> fresher_use = std::nullopt);

JcsObject PolicyJson(const Policy& policy, uint32_t max_active_tokens);

// A JSON array of already-rendered JSON values.
std::string JsonArray(const std::vector<std::string>& items);

}  // namespace tokenlog::api
