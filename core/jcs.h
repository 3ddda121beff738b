// JcsObject: builds RFC 8785 (JSON Canonicalization Scheme) text.
//
// Members are kept sorted by key (bytewise, which is the JCS order for the
// ASCII keys this project uses), their values rendered as they are added
// into one buffer: an event or a reply of ~10 members costs two or three
// allocations, not a map node and a value string each; strings are escaped as ECMAScript's
// JSON.stringify does; numbers are integers only (every number tokenlog
// prints is an integer below 2^53). REQUIRES: string values are valid UTF-8
// (callers sanitize foreign text first). Not thread-safe; a value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokenlog {

class JcsObject {
 public:
  JcsObject& Str(std::string_view key, std::string_view value);
  JcsObject& Int(std::string_view key, int64_t value);
  JcsObject& Uint(std::string_view key, uint64_t value);
  JcsObject& Bool(std::string_view key, bool value);
  JcsObject& Null(std::string_view key);
  // The string, or null.
  JcsObject& OptStr(std::string_view key, const std::optional<std::string>& value);
  // A time as RFC 3339 UTC with milliseconds (core/time_format.h).
  JcsObject& Time(std::string_view key, int64_t millis);
  // The time, or null.
  JcsObject& OptTime(std::string_view key, const std::optional<int64_t>& millis);
  JcsObject& Obj(std::string_view key, const JcsObject& value);
  // A member whose value is already canonical JSON text.
  JcsObject& Raw(std::string_view key, std::string_view value);

  std::string Render() const;

 private:
  struct Member {
    std::string key;
    size_t at = 0;    // the rendered value: values_[at, at + size)
    size_t size = 0;
  };
  // Adds or replaces `key`, its value the text write(values_) appends (a
  // replaced value's old text stays in values_, unused).
  template <typename Write>
  JcsObject& Put(std::string_view key, Write&& write);
  void RenderTo(std::string& out) const;

  std::vector<Member> members_;  // sorted by key, unique
  std::string values_;
};

// Appends `value` as a JCS string literal (with quotes) to `out`.
void AppendJcsString(std::string& out, std::string_view value);

}  // namespace tokenlog
