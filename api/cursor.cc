#include "api/cursor.h"

#include <openssl/crypto.h>

#include "core/base64.h"
#include "core/bytes.h"
#include "core/sha256.h"

namespace tokenlog::api {

namespace {
constexpr size_t kMacBytes = 12;
}  // namespace

std::string CursorSealer::Mac(std::string_view binding, uint64_t position) const {
  std::string material(binding);
  material.push_back('\0');
  material += EncodeU64(position);
  Digest mac = HmacSha256(key_, material);
  return std::string(reinterpret_cast<const char*>(mac.data()), kMacBytes);
}

std::string CursorSealer::Seal(std::string_view binding, uint64_t position) const {
  return EncodeBase64(EncodeU64(position) + Mac(binding, position), Base64Variant::kUrlUnpadded);
}

Result<uint64_t> CursorSealer::Open(std::string_view binding, std::string_view cursor) const {
  Status bad(Code::kInvalidRequest,
             "cursor is not valid here: pass next_cursor from the previous page, with the same "
             "filters");
  if (cursor.size() > 64) return bad;
  auto raw = DecodeBase64(cursor, Base64Variant::kUrlUnpadded);
  if (!raw || raw->size() != 8 + kMacBytes) return bad;
  uint64_t position = DecodeU64(*raw);
  std::string expected = Mac(binding, position);
  if (CRYPTO_memcmp(expected.data(), raw->data() + 8, kMacBytes) != 0) return bad;
  return position;
}

}  // namespace tokenlog::api
