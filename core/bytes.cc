#include "core/bytes.h"

namespace tokenlog {

void ByteWriter::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) U8(static_cast<uint8_t>(v >> shift));
}

void ByteWriter::U64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) U8(static_cast<uint8_t>(v >> shift));
}

void ByteWriter::Varint32(uint32_t v) {
  while (v >= 0x80) {
    U8(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  U8(static_cast<uint8_t>(v));
}

void ByteWriter::Str(std::string_view s) {
  Varint32(static_cast<uint32_t>(s.size()));
  out_.append(s);
}

void ByteWriter::OptStr(const std::optional<std::string>& s) {
  U8(s ? 1 : 0);
  if (s) Str(*s);
}

void ByteWriter::OptI64(const std::optional<int64_t>& v) {
  U8(v ? 1 : 0);
  if (v) I64(*v);
}

bool ByteReader::U8(uint8_t* v) {
  if (in_.empty()) return false;
  *v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  ++offset_;
  return true;
}

bool ByteReader::U32(uint32_t* v) {
  if (in_.size() < 4) return false;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r = (r << 8) | static_cast<uint8_t>(in_[i]);
  in_.remove_prefix(4);
  offset_ += 4;
  *v = r;
  return true;
}

bool ByteReader::U64(uint64_t* v) {
  if (in_.size() < 8) return false;
  *v = DecodeU64(in_);
  in_.remove_prefix(8);
  offset_ += 8;
  return true;
}

bool ByteReader::I64(int64_t* v) {
  uint64_t u;
  if (!U64(&u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

bool ByteReader::Varint32(uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    uint8_t byte;
    if (!U8(&byte)) return false;
    if (shift == 28 && (byte & 0xF0) != 0) return false;  // over 32 bits
    result |= static_cast<uint32_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && shift > 0) return false;  // not minimal: one encoding per value
      *v = result;
      return true;
    }
  }
  return false;
}

bool ByteReader::Str(std::string* s) {
  std::string_view view;
  if (!Str(&view)) return false;
  s->assign(view);
  return true;
}

bool ByteReader::Str(std::string_view* s) {
  uint32_t len;
  if (!Varint32(&len) || len > in_.size()) return false;
  *s = in_.substr(0, len);
  in_.remove_prefix(len);
  offset_ += len;
  return true;
}

bool ByteReader::Bytes(size_t n, std::string_view* s) {
  if (n > in_.size()) return false;
  *s = in_.substr(0, n);
  in_.remove_prefix(n);
  offset_ += n;
  return true;
}

bool ByteReader::OptStr(std::optional<std::string>* s, bool* bad_presence) {
  *bad_presence = false;
  uint8_t present;
  if (!U8(&present)) return false;
  if (present > 1) {
    *bad_presence = true;
    return false;
  }
  if (present == 0) {
    s->reset();
    return true;
  }
  std::string_view v;
  if (!Str(&v)) return false;
  if (*s) {
    (*s)->assign(v);  // reuses the string's memory
  } else {
    s->emplace(v);
  }
  return true;
}

bool ByteReader::OptI64(std::optional<int64_t>* v, bool* bad_presence) {
  *bad_presence = false;
  uint8_t present;
  if (!U8(&present)) return false;
  if (present > 1) {
    *bad_presence = true;
    return false;
  }
  if (present == 0) {
    v->reset();
    return true;
  }
  int64_t x;
  if (!I64(&x)) return false;
  *v = x;
  return true;
}

std::string EncodeU64(uint64_t v) {
  ByteWriter w;
  w.U64(v);
  return w.Release();
}

uint64_t DecodeU64(std::string_view b) {
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(b[i]);
  return r;
}

}  // namespace tokenlog
