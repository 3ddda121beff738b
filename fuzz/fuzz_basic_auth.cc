// libFuzzer target: the HTTP Basic Authorization parser and the strict base64
// decoder under it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "api/basic_auth.h"
#include "core/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tokenlog::Base64Variant;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto creds = tokenlog::api::ParseBasicAuthorization(in);
  if (creds && creds->username.find(':') != std::string::npos) __builtin_trap();  // split at the first ':'
  // The allocation-free form answers the same.
  tokenlog::api::BasicBuffer buffer;
  auto view = tokenlog::api::ParseBasicAuthorization(in, buffer);
  if (creds.has_value() != view.has_value()) __builtin_trap();
  if (creds && (creds->username != view->username || creds->password != view->password)) {
    __builtin_trap();
  }

  // Strict base64: what decodes re-encodes to the same text (one encoding per
  // byte string), and decoding into a buffer of any size either fits exactly
  // or says it does not (a heap buffer of that size, so that ASan sees a byte
  // written past it).
  for (Base64Variant variant : {Base64Variant::kStandardPadded, Base64Variant::kUrlUnpadded}) {
    auto decoded = tokenlog::DecodeBase64(in, variant);
    if (decoded && tokenlog::EncodeBase64(*decoded, variant) != in) __builtin_trap();
    const size_t capacity = size == 0 ? 0 : data[0] % 64;
    std::unique_ptr<char[]> out(new char[capacity == 0 ? 1 : capacity]);
    auto n = tokenlog::DecodeBase64Into(in, variant, out.get(), capacity);
    if (n.has_value() != (decoded && decoded->size() <= capacity)) __builtin_trap();
    if (n && std::string_view(out.get(), *n) != *decoded) __builtin_trap();
  }
  return 0;
}
