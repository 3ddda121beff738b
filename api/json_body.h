// Request bodies: JSON objects with known fields, refused with the right
// problem code before anything is decided.
#pragma once

#include <boost/json.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/policy.h"
#include "core/status.h"

namespace tokenlog::api {

inline constexpr int kMaxJsonDepth = 8;

// A name the client sent (a field, a query parameter), quoted for an error
// detail: at most 64 bytes of valid UTF-8 without control characters, and
// never anything that holds a token prefix (no error echoes a token value).
std::string QuoteName(std::string_view name);

// The first key that an object of `text` names twice, or nullopt (also when
// `text` is not JSON, or nests over 64 deep: parse it first). Parsers
// disagree on which of two equal keys counts; bodies and JWTs that have them
// are refused rather than read either way.
std::optional<std::string> DuplicateKey(std::string_view text);

// Parses `body` as a JSON object whose keys are all in `allowed`. An empty
// body is an empty object. Not JSON (including invalid UTF-8), deeper than
// kMaxJsonDepth, not an object, a key named twice, or an unknown field:
// kInvalidRequest.
Result<boost::json::object> ParseObject(std::string_view body,
                                        std::initializer_list<std::string_view> allowed);

// `expires_in_days`: absent, null, or an integer (no fraction, no exponent).
// Anything else: kInvalidExpiry.
Result<ExpiryRequest> ReadExpiry(const boost::json::object& body);

// An optional string field; a non-string is `code`.
Result<std::optional<std::string>> ReadOptionalString(const boost::json::object& body,
                                                      std::string_view field, Code code);

// A policy body: both fields required; max an integer or null, default an
// integer. kInvalidPolicy otherwise (range checks are the domain's).
Result<PolicyLimits> ReadPolicyLimits(const boost::json::object& body);

}  // namespace tokenlog::api
