#include "core/time_format.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "core/clock.h"

namespace tokenlog {
namespace {

TEST_CASE("FormatTime golden values", "[time_format]") {
  CHECK(FormatTime(0) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatTime(1) == "1970-01-01T00:00:00.001Z");
  CHECK(FormatTime(1795924800000) == "2026-11-29T04:00:00.000Z");
  CHECK(FormatTime(1709210096789) == "2024-02-29T12:34:56.789Z");  // leap day
  CHECK(FormatTime(951782400000) == "2000-02-29T00:00:00.000Z");   // leap day, /400 year
  CHECK(FormatTime(951782400000 + kMillisPerDay) == "2000-03-01T00:00:00.000Z");
  CHECK(FormatTime(2147483648000) == "2038-01-19T03:14:08.000Z");
  CHECK(FormatTime(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatTime(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(FormatTime(-62135596800000) == "0001-01-01T00:00:00.000Z");
  std::string out = "at ";
  AppendTime(out, 1709210096789);
  CHECK(out == "at 2024-02-29T12:34:56.789Z");
}

TEST_CASE("ParseTime reads the golden values back", "[time_format]") {
  CHECK(ParseTime("1970-01-01T00:00:00.000Z") == std::optional<int64_t>(0));
  CHECK(ParseTime("1970-01-01T00:00:00Z") == std::optional<int64_t>(0));
  CHECK(ParseTime("2026-11-29T04:00:00.000Z") == std::optional<int64_t>(1795924800000));
  CHECK(ParseTime("2024-02-29T12:34:56.789Z") == std::optional<int64_t>(1709210096789));
  CHECK(ParseTime("9999-12-31T23:59:59.999Z") == std::optional<int64_t>(253402300799999));
  CHECK(ParseTime("2026-11-29t04:00:00z") == std::optional<int64_t>(1795924800000));
}

TEST_CASE("FormatTime and ParseTime round-trip", "[time_format]") {
  // Every day from 1970 to beyond 2100 at a varying time of day, then a sweep
  // of large steps up to year 9999.
  for (int64_t t = 0; t < 50000 * kMillisPerDay; t += kMillisPerDay + 3600 * 1000 + 7) {
    const std::string s = FormatTime(t);
    REQUIRE(ParseTime(s) == std::optional<int64_t>(t));
  }
  for (int64_t t = 0; t <= 253402300799999; t += 9876543210987) {
    const std::string s = FormatTime(t);
    REQUIRE(s.size() == 24);
    REQUIRE(ParseTime(s) == std::optional<int64_t>(t));
  }
}

TEST_CASE("ParseTime applies offsets", "[time_format]") {
  const std::optional<int64_t> utc = ParseTime("2026-11-29T04:00:00Z");
  REQUIRE(utc.has_value());
  CHECK(ParseTime("2026-11-29T05:00:00+01:00") == utc);
  CHECK(ParseTime("2026-11-28T23:00:00-05:00") == utc);
  CHECK(ParseTime("2026-11-29T09:30:00+05:30") == utc);
  CHECK(ParseTime("2026-11-29T04:00:00+00:00") == utc);
  CHECK(ParseTime("2026-11-29T04:00:00-00:00") == utc);
  CHECK(ParseTime("2026-11-30T03:59:00+23:59") == utc);
  // Crossing a year boundary.
  CHECK(ParseTime("2027-01-01T00:30:00+01:00") == ParseTime("2026-12-31T23:30:00Z"));
}

TEST_CASE("ParseTime truncates the fraction to milliseconds", "[time_format]") {
  const int64_t base = 1795924800000;
  CHECK(ParseTime("2026-11-29T04:00:00.5Z") == std::optional<int64_t>(base + 500));
  CHECK(ParseTime("2026-11-29T04:00:00.05Z") == std::optional<int64_t>(base + 50));
  CHECK(ParseTime("2026-11-29T04:00:00.123Z") == std::optional<int64_t>(base + 123));
  CHECK(ParseTime("2026-11-29T04:00:00.1239Z") == std::optional<int64_t>(base + 123));
  CHECK(ParseTime("2026-11-29T04:00:00.999999999Z") == std::optional<int64_t>(base + 999));
  CHECK(ParseTime("2026-11-29T04:00:00.000000001Z") == std::optional<int64_t>(base));
}

TEST_CASE("ParseTime rounds a fraction past the millisecond up when asked", "[time_format]") {
  const int64_t base = 1795924800000;
  auto ceil = [](std::string_view t) { return ParseTime(t, SubMillisecond::kCeil); };
  CHECK(ceil("2026-11-29T04:00:00.1239Z") == std::optional<int64_t>(base + 124));
  CHECK(ceil("2026-11-29T04:00:00.000000001Z") == std::optional<int64_t>(base + 1));
  CHECK(ceil("2026-11-29T04:00:00.999999999Z") == std::optional<int64_t>(base + 1000));
  CHECK(ceil("2026-11-29T04:00:59.9991+01:00") ==
        std::optional<int64_t>(base - 3600000 + 59000 + 1000));
  // Nothing past the millisecond, or only zeros: nothing to round.
  CHECK(ceil("2026-11-29T04:00:00.123Z") == std::optional<int64_t>(base + 123));
  CHECK(ceil("2026-11-29T04:00:00.123000000Z") == std::optional<int64_t>(base + 123));
  CHECK(ceil("2026-11-29T04:00:00.1Z") == std::optional<int64_t>(base + 100));
  CHECK(ceil("2026-11-29T04:00:00Z") == std::optional<int64_t>(base));
  // Before the epoch the fraction still counts forward from the second.
  CHECK(ceil("1969-12-31T23:59:59.0001Z") == std::optional<int64_t>(-1000 + 1));
  CHECK(ParseTime("1969-12-31T23:59:59.0001Z") == std::optional<int64_t>(-1000));
  CHECK(!ceil("2026-11-29T04:00:00.1234567890Z"));
}

TEST_CASE("ParseTime validates calendar days", "[time_format]") {
  CHECK(ParseTime("2024-02-29T00:00:00Z").has_value());
  CHECK(ParseTime("2000-02-29T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2023-02-29T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("1900-02-29T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2100-02-29T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2024-02-30T00:00:00Z").has_value());
  CHECK(ParseTime("2026-04-30T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2026-04-31T00:00:00Z").has_value());
  CHECK(ParseTime("2026-12-31T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2026-12-32T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2026-00-10T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2026-13-10T00:00:00Z").has_value());
  CHECK_FALSE(ParseTime("2026-01-00T00:00:00Z").has_value());
}

TEST_CASE("ParseTime rejects everything else", "[time_format]") {
  const char* bad[] = {
      "",
      "2026-11-29",
      "2026-11-29T04:00:00",   // no zone
      "2026-11-29T04:00Z",     // no seconds
      "2026-11-29 04:00:00Z",  // space separator
      "2026-11-29X04:00:00Z",
      "2026-11-29T24:00:00Z",
      "2026-11-29T23:60:00Z",
      "2026-11-29T23:59:60Z",             // leap second
      "2026-11-29T04:00:00.Z",            // empty fraction
      "2026-11-29T04:00:00.1234567890Z",  // 10 fraction digits
      "2026-11-29T04:00:00,5Z",
      "2026-11-29T04:00:00Z ",  // trailing space
      " 2026-11-29T04:00:00Z",
      "2026-11-29T04:00:00ZZ",
      "2026-11-29T04:00:00+01",
      "2026-11-29T04:00:00+0100",
      "2026-11-29T04:00:00+24:00",
      "2026-11-29T04:00:00+01:60",
      "2026-11-29T04:00:00+1:00",
      "2026-11-29T04:00:00+01:00Z",
      "2026-11-29T04:00:00UTC",
      "2026-1-29T04:00:00Z",
      "2026-11-9T04:00:00Z",
      "26-11-29T04:00:00Z",
      "20260-11-29T04:00:00Z",
      "+2026-11-29T04:00:00Z",
      "2026/11/29T04:00:00Z",
      "2026-11-29T4:00:00Z",
      "2026-11-29T04:0a:00Z",
      "1795924800000",
  };
  for (const char* s : bad) {
    INFO("input: '" << s << "'");
    CHECK_FALSE(ParseTime(s).has_value());
  }
  CHECK_FALSE(ParseTime(std::string("2026-11-29T04:00:00Z\0", 21)).has_value());
}

TEST_CASE("ParseDurationMillis reads seconds and suffixes", "[time_format]") {
  CHECK(ParseDurationMillis("30") == std::optional<int64_t>(30000));
  CHECK(ParseDurationMillis("30s") == std::optional<int64_t>(30000));
  CHECK(ParseDurationMillis("10m") == std::optional<int64_t>(600000));
  CHECK(ParseDurationMillis("8h") == std::optional<int64_t>(28800000));
  CHECK(ParseDurationMillis("7d") == std::optional<int64_t>(604800000));
  CHECK(ParseDurationMillis("1") == std::optional<int64_t>(1000));
  CHECK(ParseDurationMillis("007s") == std::optional<int64_t>(7000));
  CHECK(ParseDurationMillis("106751991167d") ==
        std::optional<int64_t>(106751991167 * kMillisPerDay));
  CHECK(ParseDurationMillis("9223372036854775s") == std::optional<int64_t>(9223372036854775000));
}

TEST_CASE("ParseDurationMillis rejects bad durations", "[time_format]") {
  const char* bad[] = {
      "",
      "s",
      "m",
      "0",
      "0s",
      "00",
      "-5",
      "-5s",
      "+5",
      "5x",
      "5ms",
      "5S",
      "5M",
      "5H",
      "5D",
      "5 s",
      " 5",
      "5 ",
      "1.5h",
      "1e3",
      "5ss",
      "s5",
      "5w",
      "5y",
      "106751991168d",        // overflows int64 milliseconds
      "9223372036854776s",    // likewise
      "9223372036854775808",  // overflows the count itself
      "99999999999999999999999999s",
  };
  for (const char* s : bad) {
    INFO("input: '" << s << "'");
    CHECK_FALSE(ParseDurationMillis(s).has_value());
  }
}

}  // namespace
}  // namespace tokenlog

TEST_CASE("FormatTime clamps times outside years 0000..9999 instead of overflowing") {
  CHECK(tokenlog::FormatTime(INT64_MIN) == "0000-01-01T00:00:00.000Z");
  CHECK(tokenlog::FormatTime(INT64_MAX) == "9999-12-31T23:59:59.999Z");
  CHECK(tokenlog::FormatTime(253'402'300'799'999) == "9999-12-31T23:59:59.999Z");
}
