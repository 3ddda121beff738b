// libFuzzer target: the JSON request body decoders.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace tokenlog;
  auto body = api::ParseObject(in, {"label", "expires_in_days", "max_lifetime_days",
                                     "default_lifetime_days", "note", "token"});
  if (!body.ok()) return 0;
  (void)api::ReadExpiry(*body);
  (void)api::ReadPolicyLimits(*body);
  (void)api::ReadOptionalString(*body, "label", Code::kInvalidLabel);
  return 0;
}
