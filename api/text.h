// Small text helpers of the HTTP layer: header names and values, media types.
#pragma once

#include <string_view>

#include "core/ascii.h"

namespace tokenlog::api {

// `s` without leading and trailing spaces and tabs (HTTP's optional
// whitespace).
inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Equal but for the case of ASCII letters (header names, media types).
inline bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return EqualsIgnoringAsciiCase(a, b);
}

}  // namespace tokenlog::api
