#include "core/jcs.h"

#include "core/time_format.h"

namespace tokenlog {

void AppendJcsString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

JcsObject& JcsObject::Str(std::string_view key, std::string_view value) {
  std::string v;
  AppendJcsString(v, value);
  return Raw(key, std::move(v));
}
JcsObject& JcsObject::Int(std::string_view key, int64_t value) {
  return Raw(key, std::to_string(value));
}
JcsObject& JcsObject::Uint(std::string_view key, uint64_t value) {
  return Raw(key, std::to_string(value));
}
JcsObject& JcsObject::Bool(std::string_view key, bool value) {
  return Raw(key, value ? "true" : "false");
}
JcsObject& JcsObject::Null(std::string_view key) { return Raw(key, "null"); }
JcsObject& JcsObject::OptStr(std::string_view key, const std::optional<std::string>& value) {
  return value ? Str(key, *value) : Null(key);
}
JcsObject& JcsObject::Time(std::string_view key, int64_t millis) {
  return Str(key, FormatTime(millis));
}
JcsObject& JcsObject::OptTime(std::string_view key, const std::optional<int64_t>& millis) {
  return millis ? Time(key, *millis) : Null(key);
}
JcsObject& JcsObject::Obj(std::string_view key, const JcsObject& value) {
  return Raw(key, value.Render());
}
JcsObject& JcsObject::Raw(std::string_view key, std::string value) {
  members_.insert_or_assign(std::string(key), std::move(value));
  return *this;
}

std::string JcsObject::Render() const {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : members_) {
    if (!first) out.push_back(',');
    first = false;
    AppendJcsString(out, key);
    out.push_back(':');
    out += value;
  }
  out.push_back('}');
  return out;
}

}  // namespace tokenlog
