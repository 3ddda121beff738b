#include "core/jcs.h"

#include <algorithm>
#include <charconv>

#include "core/time_format.h"

namespace tokenlog {

void AppendJcsString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + value.size() + 2);  // enough unless something is escaped
  out.push_back('"');
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(value.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:  // the other C0 controls
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(value.data() + plain, value.size() - plain);
  out.push_back('"');
}

template <typename Write>
JcsObject& JcsObject::Put(std::string_view key, Write&& write) {
  if (members_.empty()) {  // most objects: one allocation each
    members_.reserve(12);
    values_.reserve(256);
  }
  const size_t at = values_.size();
  write(values_);
  const size_t size = values_.size() - at;
  auto it = std::lower_bound(
      members_.begin(), members_.end(), key,
      [](const Member& m, std::string_view k) { return std::string_view(m.key) < k; });
  if (it != members_.end() && it->key == key) {
    it->at = at;
    it->size = size;
  } else {
    members_.insert(it, Member{std::string(key), at, size});
  }
  return *this;
}

namespace {

template <typename Integer>
void AppendInteger(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

JcsObject& JcsObject::Str(std::string_view key, std::string_view value) {
  return Put(key, [&](std::string& out) { AppendJcsString(out, value); });
}
JcsObject& JcsObject::Int(std::string_view key, int64_t value) {
  return Put(key, [&](std::string& out) { AppendInteger(out, value); });
}
JcsObject& JcsObject::Uint(std::string_view key, uint64_t value) {
  return Put(key, [&](std::string& out) { AppendInteger(out, value); });
}
JcsObject& JcsObject::Bool(std::string_view key, bool value) {
  return Put(key, [&](std::string& out) { out += value ? "true" : "false"; });
}
JcsObject& JcsObject::Null(std::string_view key) {
  return Put(key, [](std::string& out) { out += "null"; });
}
JcsObject& JcsObject::OptStr(std::string_view key, const std::optional<std::string>& value) {
  return value ? Str(key, *value) : Null(key);
}
JcsObject& JcsObject::Time(std::string_view key, int64_t millis) {
  return Put(key, [&](std::string& out) {  // a time needs no escape
    out.push_back('"');
    AppendTime(out, millis);
    out.push_back('"');
  });
}
JcsObject& JcsObject::OptTime(std::string_view key, const std::optional<int64_t>& millis) {
  return millis ? Time(key, *millis) : Null(key);
}
JcsObject& JcsObject::Obj(std::string_view key, const JcsObject& value) {
  return Put(key, [&](std::string& out) { value.RenderTo(out); });
}
JcsObject& JcsObject::Raw(std::string_view key, std::string_view value) {
  return Put(key, [&](std::string& out) { out += value; });
}

std::string JcsObject::Render() const {
  std::string out;
  RenderTo(out);
  return out;
}

void JcsObject::RenderTo(std::string& out) const {
  size_t size = 2;  // the braces; each member adds its key, value, quotes, colon and comma
  for (const Member& m : members_) size += m.key.size() + m.size + 4;
  out.reserve(out.size() + size);
  out.push_back('{');
  bool first = true;
  for (const Member& m : members_) {
    if (!first) out.push_back(',');
    first = false;
    AppendJcsString(out, m.key);
    out.push_back(':');
    out.append(values_, m.at, m.size);
  }
  out.push_back('}');
}

}  // namespace tokenlog
