// Reply: what a route handler answers, before it is written to the wire.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/jcs.h"
#include "core/status.h"

namespace tokenlog::api {

struct Reply {
  int status = 200;
  std::string content_type;  // empty: no body
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close_connection = false;  // the request's body was not read: close after answering

  static Reply Json(int status, const JcsObject& object);
  static Reply Json(int status, std::string json);
  // application/problem+json with the code's type, title and status, and
  // `status.detail()` as detail. Never include secrets in the detail.
  static Reply Problem(const Status& status);
};

}  // namespace tokenlog::api
