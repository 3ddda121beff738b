// libFuzzer target: the HTTP Basic Authorization parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/basic_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto creds = tokenlog::api::ParseBasicAuthorization(in);
  if (creds && creds->username.find(':') != std::string::npos) __builtin_trap();  // split at the first ':'
  return 0;
}
