// Paging cursors: opaque, URL-safe, bound to the caller and the filters.
//
// A cursor is base64url(position:u64 || mac:byte[12]) where mac is the first
// 12 bytes of HMAC-SHA-256(key, binding || position). `binding` names the
// caller and every filter of the query, so a cursor used by someone else,
// with other filters, or altered in any byte does not open. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tokenlog::api {

class CursorSealer {
 public:
  // REQUIRES: key is not empty.
  explicit CursorSealer(std::string key) : key_(std::move(key)) {}

  std::string Seal(std::string_view binding, uint64_t position) const;
  // The position sealed in `cursor` for `binding`; kInvalidRequest otherwise.
  Result<uint64_t> Open(std::string_view binding, std::string_view cursor) const;

 private:
  std::string Mac(std::string_view binding, uint64_t position) const;
  std::string key_;
};

}  // namespace tokenlog::api
