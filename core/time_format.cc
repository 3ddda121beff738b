#include "core/time_format.h"

#include <algorithm>

#include <limits>

#include "core/clock.h"

namespace tokenlog {
namespace {

// Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms".
// Days since 1970-01-01 of y-m-d (proleptic Gregorian; m in 1..12).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);             // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);                // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11]
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;               // [1, 31]
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;                  // [1, 12]
  return {y + (m <= 2), m, d};
}

bool IsLeapYear(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && IsLeapYear(y)) ? 29 : kDays[m - 1];
}

// Floor division and its non-negative remainder, for times before 1970.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Reads exactly `n` decimal digits at s[*pos] into *out and advances *pos.
bool ReadDigits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (s.size() - *pos < n) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  *pos += n;
  return true;
}

bool ReadChar(std::string_view s, size_t* pos, char expected) {
  if (*pos >= s.size() || s[*pos] != expected) return false;
  ++*pos;
  return true;
}

}  // namespace

std::string FormatTime(int64_t millis_since_epoch) {
  std::string out;
  AppendTime(out, millis_since_epoch);
  return out;
}

void AppendTime(std::string& out, int64_t millis_since_epoch) {
  // 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z; a stored time
  // outside it (only a damaged record holds one) prints clamped, never
  // overflows.
  constexpr int64_t kMin = -62'167'219'200'000;
  constexpr int64_t kMax = 253'402'300'799'999;
  millis_since_epoch = std::clamp(millis_since_epoch, kMin, kMax);
  const int64_t days = FloorDiv(millis_since_epoch, kMillisPerDay);
  const int64_t ms_of_day = millis_since_epoch - days * kMillisPerDay;
  const CivilDate date = CivilFromDays(days);
  const int64_t secs = ms_of_day / 1000;
  // Fixed-width fields, digit by digit, on the stack.
  char buf[24];
  auto put = [&buf](size_t at, int64_t value, size_t width) {
    for (size_t i = width; i > 0; --i, value /= 10) {
      buf[at + i - 1] = static_cast<char>('0' + value % 10);
    }
  };
  put(0, date.year, 4);  // 0..9999 after the clamp
  buf[4] = '-';
  put(5, date.month, 2);
  buf[7] = '-';
  put(8, date.day, 2);
  buf[10] = 'T';
  put(11, secs / 3600, 2);
  buf[13] = ':';
  put(14, secs / 60 % 60, 2);
  buf[16] = ':';
  put(17, secs % 60, 2);
  buf[19] = '.';
  put(20, ms_of_day % 1000, 3);
  buf[23] = 'Z';
  out.append(buf, sizeof buf);
}

std::optional<int64_t> ParseTime(std::string_view s, SubMillisecond rounding) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, &pos, 4, &year) || !ReadChar(s, &pos, '-') ||
      !ReadDigits(s, &pos, 2, &month) || !ReadChar(s, &pos, '-') || !ReadDigits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't')) return std::nullopt;
  ++pos;
  if (!ReadDigits(s, &pos, 2, &hour) || !ReadChar(s, &pos, ':') ||
      !ReadDigits(s, &pos, 2, &minute) || !ReadChar(s, &pos, ':') ||
      !ReadDigits(s, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12) return std::nullopt;
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;

  int millis = 0;
  bool past_millis = false;  // a non-zero digit after the third
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) {
        millis = millis * 10 + (s[pos] - '0');
      } else if (s[pos] != '0') {
        past_millis = true;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (size_t i = digits; i < 3; ++i) millis *= 10;
  }

  int64_t offset_minutes = 0;
  if (pos >= s.size()) return std::nullopt;  // the zone is required
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int off_hour = 0, off_minute = 0;
    if (!ReadDigits(s, &pos, 2, &off_hour) || !ReadChar(s, &pos, ':') ||
        !ReadDigits(s, &pos, 2, &off_minute)) {
      return std::nullopt;
    }
    if (off_hour > 23 || off_minute > 59) return std::nullopt;
    offset_minutes = sign * (off_hour * 60 + off_minute);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t local_seconds = days * 86400 + hour * 3600 + minute * 60 + second;
  const int up = rounding == SubMillisecond::kCeil && past_millis ? 1 : 0;
  return (local_seconds - offset_minutes * 60) * kMillisPerSecond + millis + up;
}

std::optional<int64_t> ParseDurationMillis(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t unit_millis = kMillisPerSecond;
  switch (text.back()) {
    case 's':
      unit_millis = kMillisPerSecond;
      text.remove_suffix(1);
      break;
    case 'm':
      unit_millis = 60 * kMillisPerSecond;
      text.remove_suffix(1);
      break;
    case 'h':
      unit_millis = 3600 * kMillisPerSecond;
      text.remove_suffix(1);
      break;
    case 'd':
      unit_millis = kMillisPerDay;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  if (text.empty()) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t count = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    if (count > (kMax - digit) / 10) return std::nullopt;
    count = count * 10 + digit;
  }
  if (count == 0 || count > kMax / unit_millis) return std::nullopt;
  return count * unit_millis;
}

}  // namespace tokenlog
