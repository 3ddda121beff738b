// Times and durations as text: RFC 3339 (API.md: UTC with `Z`, millisecond
// precision on output) and the CLI's durations ("30s", "10m", "8h", "7d").
//
// Dates use the proleptic Gregorian calendar, computed with Howard Hinnant's
// days_from_civil / civil_from_days (no timegm, no locale, no time zone
// database). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenlog {

// "2026-11-29T04:00:00.000Z": UTC, always exactly 3 fraction digits.
// Times outside years 0000..9999 (only a damaged record holds one) are
// clamped to that range.
std::string FormatTime(int64_t millis_since_epoch);

// Parses an RFC 3339 date-time into milliseconds since the epoch:
//   YYYY-MM-DD ('T'|'t') hh:mm:ss ['.' 1*9 DIGIT] ('Z'|'z'|('+'|'-') hh:mm)
// Fraction digits beyond milliseconds are truncated (not rounded). Returns
// nullopt for anything else: another separator (including a space), a
// missing zone, a trailing character, a day not in its month (leap years
// included), hour > 23, minute > 59, second > 59 (a leap second "60" is
// refused), an offset hour > 23 or minute > 59.
std::optional<int64_t> ParseTime(std::string_view rfc3339);

// Parses a positive duration into milliseconds: decimal digits and an
// optional unit, "s" (the default), "m", "h" or "d" — "30", "30s", "10m",
// "8h", "7d". Returns nullopt for empty text, zero, a sign, white space, any
// other unit (including upper case and "ms"), or a value that overflows
// int64 milliseconds.
std::optional<int64_t> ParseDurationMillis(std::string_view text);

}  // namespace tokenlog
