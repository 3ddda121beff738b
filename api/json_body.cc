#include "api/json_body.h"

#include <boost/json/basic_parser_impl.hpp>
#include <set>
#include <vector>

#include "core/label.h"
#include "core/token_codec.h"

namespace tokenlog::api {

namespace json = boost::json;

namespace {

// A basic_parser handler that only remembers each open object's keys.
struct KeyRecorder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using error_code = boost::system::error_code;

  std::vector<std::set<std::string>> open;  // the keys of each open object
  std::string key;
  std::optional<std::string> duplicate;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) {
    open.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    open.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    key.append(s.data(), s.size());
    if (!open.back().insert(key).second) {
      duplicate = std::move(key);
      ec = json::error::syntax;  // stops the parse
      return false;
    }
    key.clear();
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, error_code&) { return true; }
  bool on_uint64(uint64_t, json::string_view, error_code&) { return true; }
  bool on_double(double, json::string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

// An integer JSON number (int64 or uint64 kind), or nullopt. Doubles (a
// fraction or an exponent in the text) are not integers here.
std::optional<int64_t> AsInteger(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    uint64_t u = v.get_uint64();
    if (u > static_cast<uint64_t>(INT64_MAX)) return INT64_MAX;
    return static_cast<int64_t>(u);
  }
  return std::nullopt;
}
}  // namespace

std::string QuoteName(std::string_view name) {
  if (MayHoldTokenValue(name)) return std::string(kWithheldText);
  return "\"" + SanitizeText(name, 64) + "\"";
}

std::optional<std::string> DuplicateKey(std::string_view text) {
  json::parse_options options;
  options.max_depth = 64;  // callers parse with their own (lower) limit first
  json::basic_parser<KeyRecorder> parser(options);
  boost::system::error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return std::move(parser.handler().duplicate);
}

Result<json::object> ParseObject(std::string_view body,
                                 std::initializer_list<std::string_view> allowed) {
  if (body.empty()) return json::object();
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  std::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec,
                              json::storage_ptr(), options);
  if (ec) {
    return Status(Code::kInvalidRequest,
                  "the body is not valid JSON (UTF-8, nesting at most " +
                      std::to_string(kMaxJsonDepth) + " deep): " + ec.message());
  }
  if (!v.is_object()) return Status(Code::kInvalidRequest, "the body must be a JSON object");
  if (auto key = DuplicateKey(body)) {
    return Status(Code::kInvalidRequest, "the body names " + QuoteName(*key) + " more than once");
  }
  for (const auto& member : v.get_object()) {
    std::string_view key(member.key().data(), member.key().size());
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status(Code::kInvalidRequest,
                    "unknown field " + QuoteName(key) +
                        (list.empty() ? "; this request takes no fields"
                                      : "; allowed: " + list));
    }
  }
  return std::move(v.get_object());
}

Result<ExpiryRequest> ReadExpiry(const json::object& body) {
  auto it = body.find("expires_in_days");
  if (it == body.end()) return ExpiryRequest{};
  if (it->value().is_null()) return ExpiryRequest{ExpiryRequest::Kind::kNull, 0};
  std::optional<int64_t> days = AsInteger(it->value());
  if (!days) {
    return Status(Code::kInvalidExpiry,
                  "expires_in_days must be an integer number of days (no fraction, no exponent)");
  }
  return ExpiryRequest{ExpiryRequest::Kind::kDays, *days};
}

Result<std::optional<std::string>> ReadOptionalString(const json::object& body,
                                                      std::string_view field, Code code) {
  auto it = body.find(json::string_view(field.data(), field.size()));
  if (it == body.end()) return std::optional<std::string>();
  if (!it->value().is_string()) {
    return Status(code, std::string(field) + " must be a string");
  }
  const auto& s = it->value().get_string();
  return std::optional<std::string>(std::string(s.data(), s.size()));
}

Result<PolicyLimits> ReadPolicyLimits(const json::object& body) {
  PolicyLimits limits;
  auto max = body.find("max_lifetime_days");
  auto def = body.find("default_lifetime_days");
  if (max == body.end() || def == body.end()) {
    return Status(Code::kInvalidPolicy,
                  "both max_lifetime_days (integer or null) and default_lifetime_days (integer) "
                  "are required");
  }
  if (max->value().is_null()) {
    limits.max_lifetime_days.reset();
  } else {
    auto n = AsInteger(max->value());
    if (!n) return Status(Code::kInvalidPolicy, "max_lifetime_days must be an integer or null");
    if (*n < 1 || *n > kLifetimeDaysCeiling) {
      return Status(Code::kInvalidPolicy, "max_lifetime_days must be between 1 and 3650, or null");
    }
    limits.max_lifetime_days = static_cast<int32_t>(*n);
  }
  auto d = AsInteger(def->value());
  if (!d) return Status(Code::kInvalidPolicy, "default_lifetime_days must be an integer");
  if (*d < 1 || *d > kLifetimeDaysCeiling) {
    return Status(Code::kInvalidPolicy, "default_lifetime_days must be between 1 and 3650");
  }
  limits.default_lifetime_days = static_cast<int32_t>(*d);
  return limits;
}

}  // namespace tokenlog::api
