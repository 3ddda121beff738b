#include "core/status.h"

namespace tokenlog {

std::string_view ProblemType(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidRequest: return "invalid_request";
    case Code::kInvalidLabel: return "invalid_label";
    case Code::kInvalidExpiry: return "invalid_expiry";
    case Code::kInvalidPolicy: return "invalid_policy";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kForbidden: return "forbidden";
    case Code::kUserDeactivated: return "user_deactivated";
    case Code::kNotFound: return "not_found";
    case Code::kMethodNotAllowed: return "method_not_allowed";
    case Code::kTokenLimitReached: return "token_limit_reached";
    case Code::kTokenNotActive: return "token_not_active";
    case Code::kLengthRequired: return "length_required";
    case Code::kPayloadTooLarge: return "payload_too_large";
    case Code::kUnsupportedMediaType: return "unsupported_media_type";
    case Code::kHeadersTooLarge: return "headers_too_large";
    case Code::kRateLimited: return "rate_limited";
    case Code::kUnavailable: return "unavailable";
    case Code::kCorruption: return "unavailable";
  }
  return "unavailable";
}

int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidRequest:
    case Code::kInvalidLabel:
    case Code::kInvalidExpiry:
    case Code::kInvalidPolicy: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kForbidden:
    case Code::kUserDeactivated: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kTokenLimitReached:
    case Code::kTokenNotActive: return 409;
    case Code::kLengthRequired: return 411;
    case Code::kPayloadTooLarge: return 413;
    case Code::kUnsupportedMediaType: return 415;
    case Code::kHeadersTooLarge: return 431;
    case Code::kRateLimited: return 429;
    case Code::kUnavailable:
    case Code::kCorruption: return 503;
  }
  return 503;
}

std::string_view ProblemTitle(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidRequest: return "Invalid request";
    case Code::kInvalidLabel: return "Invalid label";
    case Code::kInvalidExpiry: return "Invalid expiry";
    case Code::kInvalidPolicy: return "Invalid policy";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kForbidden: return "Forbidden";
    case Code::kUserDeactivated: return "User deactivated";
    case Code::kNotFound: return "Not found";
    case Code::kMethodNotAllowed: return "Method not allowed";
    case Code::kTokenLimitReached: return "Token limit reached";
    case Code::kTokenNotActive: return "Token not active";
    case Code::kLengthRequired: return "Length required";
    case Code::kPayloadTooLarge: return "Payload too large";
    case Code::kUnsupportedMediaType: return "Unsupported media type";
    case Code::kHeadersTooLarge: return "Request header fields too large";
    case Code::kRateLimited: return "Too many requests";
    case Code::kUnavailable: return "Service unavailable";
    case Code::kCorruption: return "Service unavailable";
  }
  return "Service unavailable";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(code_ == Code::kCorruption ? "corruption" : ProblemType(code_));
  out += ": ";
  out += detail_;
  return out;
}

}  // namespace tokenlog
