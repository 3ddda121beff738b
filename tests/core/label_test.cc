#include "core/label.h"

#include <catch2/catch.hpp>
#include <string>

namespace tokenlog {
namespace {

// UTF-8 of a code point (for building inputs; no validation).
std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

Result<std::string> Label(std::string_view raw) {
  return ValidateLabel(raw, 100, Code::kInvalidLabel);
}

std::string DetailOf(std::string_view raw) {
  Result<std::string> r = Label(raw);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidLabel);
  return r.status().detail();
}

TEST_CASE("Labels are trimmed of Unicode white space at both ends", "[label]") {
  Result<std::string> r = Label("  Power BI Desktop \xE2\x80\x94 laptop\t\r\n");
  REQUIRE(r.ok());
  CHECK(*r == "Power BI Desktop \xE2\x80\x94 laptop");

  for (char32_t ws :
       {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\u0085', U'\u00A0', U'\u1680', U'\u2000',
        U'\u2005', U'\u200A', U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000'}) {
    INFO("white space U+" << std::hex << static_cast<uint32_t>(ws));
    Result<std::string> t = Label(Utf8(ws) + "x y" + Utf8(ws) + Utf8(ws));
    REQUIRE(t.ok());
    CHECK(*t == "x y");
  }
}

TEST_CASE("Inner white space that is not a control stays", "[label]") {
  const std::string inner = std::string("a") + Utf8(0xA0) + "b" + Utf8(0x3000) + "c  d";
  Result<std::string> r = Label(inner);
  REQUIRE(r.ok());
  CHECK(*r == inner);
}

TEST_CASE("Blank labels are refused", "[label]") {
  CHECK(DetailOf("") == "label must not be blank");
  CHECK(DetailOf("   ") == "label must not be blank");
  CHECK(DetailOf(std::string(" \t\r\n") + Utf8(0x3000) + Utf8(0x2028)) ==
        "label must not be blank");
}

TEST_CASE("The length limit counts code points of the trimmed text", "[label]") {
  // U+00E9 (2 bytes), U+20AC (3 bytes), U+1F600 (4 bytes).
  for (char32_t c : {U'a', U'\u00E9', U'\u20AC', U'\U0001F600'}) {
    INFO("code point U+" << std::hex << static_cast<uint32_t>(c));
    const std::string ch = Utf8(c);
    Result<std::string> ok = Label(std::string("  ") + Repeat(ch, 100) + "  ");
    REQUIRE(ok.ok());
    CHECK(*ok == Repeat(ch, 100));
    CHECK(DetailOf(Repeat(ch, 101)) == "label is longer than 100 characters");
  }
  // Mixed widths: 100 code points, well over 100 bytes.
  const std::string mixed =
      Repeat(std::string("a") + Utf8(0xE9) + Utf8(0x20AC) + Utf8(0x1F600), 25);
  REQUIRE(mixed.size() == 250);
  CHECK(Label(mixed).ok());
  CHECK_FALSE(Label(mixed + "b").ok());
}

TEST_CASE("The maximum and the field name come from the caller", "[label]") {
  Result<std::string> r = ValidateLabel(Repeat("x", 501), 500, Code::kInvalidRequest, "note");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidRequest);
  CHECK(r.status().detail() == "note is longer than 500 characters");
  CHECK(ValidateLabel(Repeat("x", 500), 500, Code::kInvalidRequest, "note").ok());
  Result<std::string> blank = ValidateLabel(" ", 500, Code::kInvalidRequest, "note");
  REQUIRE_FALSE(blank.ok());
  CHECK(blank.status().detail() == "note must not be blank");
}

TEST_CASE("Control characters are refused inside a label", "[label]") {
  for (char32_t c : {U'\u0000', U'\u0001', U'\t', U'\n', U'\r', U'\u001B', U'\u001F', U'\u007F',
                     U'\u0080', U'\u0085', U'\u009F'}) {
    INFO("control U+" << std::hex << static_cast<uint32_t>(c));
    CHECK(DetailOf(std::string("a") + Utf8(c) + "b") == "label contains a control character");
  }
  CHECK(Label(std::string("a") + Utf8(0xA0) + "b").ok());  // first code point after Cc
  CHECK(Label(std::string("a") + Utf8(0x20) + "b").ok());
  CHECK(Label("a~b").ok());
}

TEST_CASE("Line and paragraph separators are refused inside a label", "[label]") {
  CHECK(DetailOf(std::string("a") + Utf8(0x2028) + "b") ==
        "label contains a line or paragraph separator");
  CHECK(DetailOf(std::string("a") + Utf8(0x2029) + "b") ==
        "label contains a line or paragraph separator");
}

TEST_CASE("Bidirectional controls are refused", "[label]") {
  for (char32_t c : {U'\u202A', U'\u202B', U'\u202C', U'\u202D', U'\u202E', U'\u2066', U'\u2067',
                     U'\u2068', U'\u2069'}) {
    INFO("bidi U+" << std::hex << static_cast<uint32_t>(c));
    CHECK(DetailOf(std::string("a") + Utf8(c) + "b") ==
          "label contains a bidirectional control character");
    CHECK(DetailOf(Utf8(c) + "ab") == "label contains a bidirectional control character");
  }
  CHECK(Label(std::string("a") + Utf8(0x202F) + "b").ok());  // narrow no-break space is fine
  CHECK(Label(std::string("a") + Utf8(0x2065) + "b").ok());
  CHECK(Label(std::string("a") + Utf8(0x206A) + "b").ok());
}

TEST_CASE("IsValidUtf8 accepts well-formed text", "[label]") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8(std::string("\0", 1)));
  for (char32_t c : {U'\u007F', U'\u0080', U'\u07FF', U'\u0800', U'\uD7FF', U'\uE000', U'\uFFFF',
                     U'\U00010000', U'\U0010FFFF'}) {
    INFO("U+" << std::hex << static_cast<uint32_t>(c));
    CHECK(IsValidUtf8(Utf8(c)));
  }
}

TEST_CASE("IsValidUtf8 rejects malformed text", "[label]") {
  const char* bad[] = {
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong 2-byte
      "\xE0\x80\x80",      // overlong 3-byte
      "\xE0\x9F\xBF",      // overlong 3-byte (U+07FF)
      "\xF0\x80\x80\x80",  // overlong 4-byte
      "\xF0\x8F\xBF\xBF",  // overlong 4-byte (U+FFFF)
      "\xED\xA0\x80",      // surrogate U+D800
      "\xED\xBF\xBF",      // surrogate U+DFFF
      "\xF4\x90\x80\x80",  // U+110000
      "\xF5\x80\x80\x80",  // lead byte above F4
      "\xFF",              // never valid
      "\xC3",              // truncated 2-byte
      "\xE2\x82",          // truncated 3-byte
      "\xF0\x9F\x98",      // truncated 4-byte
      "\x80",              // lone continuation
      "a\xBF"
      "b",                 // lone continuation inside text
      "\xC3\x28",          // second byte not a continuation
      "\xE2\x28\xA1",      // second byte not a continuation
      "\xE2\x82\x28",      // third byte not a continuation
      "\xF0\x9F\x98\x28",  // fourth byte not a continuation
  };
  for (const char* s : bad) {
    INFO("bytes: " << s);
    CHECK_FALSE(IsValidUtf8(s));
    CHECK(DetailOf(std::string("ok ").append(s).append(" ok")) == "label is not valid UTF-8");
  }
  // Truncated at the very end of the input (no trailing text).
  CHECK(DetailOf("ab\xE2\x82") == "label is not valid UTF-8");
  // Invalid UTF-8 that would otherwise be trimmed still fails.
  CHECK(DetailOf("  \x80") == "label is not valid UTF-8");
}

TEST_CASE("A valid label is returned byte for byte", "[label]") {
  const std::string s = "Relat\xC3\xB3rio \xE2\x80\x94 \xF0\x9F\x93\x8A Q3";
  Result<std::string> r = Label(s);
  REQUIRE(r.ok());
  CHECK(*r == s);
}

}  // namespace
}  // namespace tokenlog

TEST_CASE("SanitizeText replaces invalid UTF-8 and controls and cuts at a code point") {
  using tokenlog::SanitizeText;
  CHECK(SanitizeText("Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)", 256) ==
        "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)");
  CHECK(SanitizeText("a\xff" "b", 16) == "a\xEF\xBF\xBD" "b");
  CHECK(SanitizeText("a\nb", 16) == "a\xEF\xBF\xBD" "b");
  CHECK(SanitizeText("\xC3\xA9\xC3\xA9", 3) == "\xC3\xA9");  // never splits a code point
  CHECK(tokenlog::IsValidUtf8(SanitizeText("\xE2\x82", 16)));
  CHECK(SanitizeText(std::string(1000, 'x'), 256).size() == 256);
}
