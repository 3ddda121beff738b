// ByteWriter / ByteReader: the primitives of every binary format in tokenlog
// (events, projection records, keys). Integers are big-endian so that keys
// sort numerically; strings are varint32-length-prefixed.
//
// A ByteReader never reads past its input and accepts only the minimal
// varint encoding, so each value has exactly one encoding: each Read* returns false when the
// bytes are missing or malformed, and the caller turns that into a
// Corruption status naming the field. Value types, not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenlog {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Varint32(uint32_t v);
  void Str(std::string_view s);  // varint32 length + bytes
  void Bytes(std::string_view s) { out_.append(s); }  // raw, no length
  void OptStr(const std::optional<std::string>& s);
  void OptI64(const std::optional<int64_t>& v);

  void Reserve(size_t n) { out_.reserve(n); }
  const std::string& data() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I64(int64_t* v);
  bool Varint32(uint32_t* v);
  bool Str(std::string* s);
  bool Str(std::string_view* s);  // a view into the input
  bool Bytes(size_t n, std::string_view* s);
  // Presence byte 0 or 1, then the value. *bad_presence is set when the
  // presence byte is neither 0 nor 1 (then false is returned).
  bool OptStr(std::optional<std::string>* s, bool* bad_presence);
  bool OptI64(std::optional<int64_t>* v, bool* bad_presence);

  size_t remaining() const { return in_.size(); }
  size_t offset() const { return offset_; }

 private:
  std::string_view in_;
  size_t offset_ = 0;
};

// Big-endian fixed-width encodings, for keys.
std::string EncodeU64(uint64_t v);
uint64_t DecodeU64(std::string_view eight_bytes);  // REQUIRES size() >= 8

}  // namespace tokenlog
