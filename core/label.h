// Free-text fields a person types: token labels and admin notes (API.md,
// "Words": label rules).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenlog {

// True when `s` is valid UTF-8 in the strict sense of RFC 3629: shortest
// form only (no overlongs), no surrogates (U+D800..U+DFFF), nothing above
// U+10FFFF, no truncated sequence, no stray continuation byte.
bool IsValidUtf8(std::string_view s);

// Foreign text (a User-Agent, a claimed username) made safe to record: each
// invalid UTF-8 sequence and each control character becomes U+FFFD, and the
// result is cut at a code point boundary to at most `max_bytes`.
std::string SanitizeText(std::string_view s, size_t max_bytes);

// Applies the label rules to `raw`:
//   1. it must be valid UTF-8 (checked first, on the untrimmed text);
//   2. leading and trailing Unicode White_Space is trimmed (ASCII space, tab,
//      CR, LF, VT, FF, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
//      U+202F, U+205F, U+3000);
//   3. the rest must not be empty;
//   4. it must contain no control character (Cc: U+0000..U+001F,
//      U+007F..U+009F), no line/paragraph separator (U+2028, U+2029) and no
//      bidirectional control (U+202A..U+202E, U+2066..U+2069);
//   5. it must be at most `max_code_points` code points long.
// Returns the trimmed text, or `error_code` with a detail naming the first
// rule broken, in this order, and the field (`what`: "label", "note"), e.g.
// "label must not be blank" or "note is longer than 500 characters". The
// detail never echoes the text.
Result<std::string> ValidateLabel(std::string_view raw, size_t max_code_points, Code error_code,
                                  std::string_view what = "label");

}  // namespace tokenlog
