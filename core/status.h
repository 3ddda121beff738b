// Status and Result<T>: the error model of every request path.
//
// A Status is a Code plus a human-readable detail. The codes map one-to-one to
// the problem codes of API.md (see ProblemType()), with one internal addition:
// kCorruption, a malformed stored record, which the API reports as 503
// `unavailable` (the service cannot read its state) while tools print the
// detail. Nothing on a request path throws; functions return Status or
// Result<T>, both [[nodiscard]].
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tokenlog {

enum class Code {
  kOk = 0,
  kInvalidRequest,        // 400 invalid_request
  kInvalidLabel,          // 400 invalid_label
  kInvalidExpiry,         // 400 invalid_expiry
  kInvalidPolicy,         // 400 invalid_policy
  kUnauthenticated,       // 401 unauthenticated
  kForbidden,             // 403 forbidden
  kUserDeactivated,       // 403 user_deactivated
  kNotFound,              // 404 not_found
  kMethodNotAllowed,      // 405 method_not_allowed
  kTokenLimitReached,     // 409 token_limit_reached
  kTokenNotActive,        // 409 token_not_active
  kLengthRequired,        // 411 length_required
  kPayloadTooLarge,       // 413 payload_too_large
  kUnsupportedMediaType,  // 415 unsupported_media_type
  kHeadersTooLarge,       // 431 headers_too_large
  kRateLimited,           // 429 rate_limited
  kUnavailable,           // 503 unavailable
  kCorruption,            // 503 unavailable (internal: a stored record is malformed)
};

// The API.md problem `type` of a code ("ok" for kOk).
std::string_view ProblemType(Code code);
// The HTTP status of a code (200 for kOk).
int HttpStatus(Code code);
// The problem `title` of a code: a short fixed text.
std::string_view ProblemTitle(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string detail) : code_(code), detail_(std::move(detail)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& detail() const { return detail_; }
  // "<problem type>: <detail>", for logs and tools.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string detail_;
};

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }
  Result(Code code, std::string detail) : v_(Status(code, std::move(detail))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: !ok()
  const Status& status() const { return std::get<Status>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.ok() ? Status::Ok() : r.status();
}
}  // namespace internal

}  // namespace tokenlog

#define TL_CONCAT_INNER(a, b) a##b
#define TL_CONCAT(a, b) TL_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or Result) from the enclosing
// function when it is not OK.
#define TL_RETURN_IF_ERROR(expr)                                          \
  do {                                                                    \
    auto&& tl_status_or_ = (expr);                                        \
    if (!tl_status_or_.ok()) return ::tokenlog::internal::AsStatus(tl_status_or_); \
  } while (0)

// `TL_ASSIGN_OR_RETURN(auto x, Fn())`: declares x from a Result's value, or
// returns its Status.
#define TL_ASSIGN_OR_RETURN(lhs, expr) \
  TL_ASSIGN_OR_RETURN_IMPL(TL_CONCAT(tl_result_, __LINE__), lhs, expr)
#define TL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
