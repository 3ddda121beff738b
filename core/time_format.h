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
// The same 24 characters, appended to `out` (no allocation of its own).
void AppendTime(std::string& out, int64_t millis_since_epoch);

// What a time with digits past the millisecond becomes. Event times are whole
// milliseconds, so a bound compares right only when rounded its own way:
// "at or before T" (as-of --at) keeps the millisecond T falls in (kFloor);
// "at or after T" (since) and "before T" (until) take the next one (kCeil):
// an event at .263 is before .2639 and not at or after it.
enum class SubMillisecond { kFloor, kCeil };

// Parses an RFC 3339 date-time into milliseconds since the epoch:
//   YYYY-MM-DD ('T'|'t') hh:mm:ss ['.' 1*9 DIGIT] ('Z'|'z'|('+'|'-') hh:mm)
// Fraction digits beyond milliseconds round as `rounding` says. Returns
// nullopt for anything else: another separator (including a space), a
// missing zone, a trailing character, a day not in its month (leap years
// included), hour > 23, minute > 59, second > 59 (a leap second "60" is
// refused), an offset hour > 23 or minute > 59.
std::optional<int64_t> ParseTime(std::string_view rfc3339,
                                 SubMillisecond rounding = SubMillisecond::kFloor);

// Parses a positive duration into milliseconds: decimal digits and an
// optional unit, "s" (the default), "m", "h" or "d" — "30", "30s", "10m",
// "8h", "7d". Returns nullopt for empty text, zero, a sign, white space, any
// other unit (including upper case and "ms"), or a value that overflows
// int64 milliseconds.
std::optional<int64_t> ParseDurationMillis(std::string_view text);

}  // namespace tokenlog
