#include "api/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "api/text.h"

namespace tokenlog::api {

namespace {

// Parses an IPv4 or IPv6 literal (IPv4-mapped IPv6 becomes IPv4).
std::optional<Cidr> ParseAddress(std::string_view text) {
  std::string s(text);
  Cidr c;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memcpy(c.bytes.data(), &v4, 4);
    c.prefix = 32;
    return c;
  }
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.s6_addr, kMapped, 12) == 0) {
      std::memcpy(c.bytes.data(), v6.s6_addr + 12, 4);
      c.prefix = 32;
      return c;
    }
    c.v6 = true;
    std::memcpy(c.bytes.data(), v6.s6_addr, 16);
    c.prefix = 128;
    return c;
  }
  return std::nullopt;
}

bool Contains(const Cidr& net, const Cidr& addr) {
  if (net.v6 != addr.v6) return false;
  int full = net.prefix / 8, rest = net.prefix % 8;
  if (std::memcmp(net.bytes.data(), addr.bytes.data(), static_cast<size_t>(full)) != 0) {
    return false;
  }
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (net.bytes[full] & mask) == (addr.bytes[full] & mask);
}

}  // namespace

Result<std::vector<Cidr>> ParseCidrList(std::string_view text) {
  std::vector<Cidr> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find_first_of(", ", i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view item = text.substr(i, j - i);
    i = j + 1;
    if (item.empty()) continue;
    size_t slash = item.find('/');
    auto addr = ParseAddress(item.substr(0, slash));
    if (!addr) {
      return Status(Code::kInvalidRequest, "not an IP address or CIDR: " + std::string(item));
    }
    if (slash != std::string_view::npos) {
      std::string bits(item.substr(slash + 1));
      int max = addr->v6 ? 128 : 32;
      if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(bits) > max) {
        return Status(Code::kInvalidRequest, "bad prefix length in " + std::string(item));
      }
      addr->prefix = std::stoi(bits);
    }
    out.push_back(*addr);
  }
  return out;
}

bool ClientAddressResolver::IsTrusted(std::string_view address) const {
  auto addr = ParseAddress(address);
  if (!addr) return false;
  for (const auto& net : trusted_) {
    if (Contains(net, *addr)) return true;
  }
  return false;
}

std::string ClientAddressResolver::Resolve(std::string_view peer,
                                           const std::vector<std::string>& forwarded_for) const {
  if (forwarded_for.empty() || !IsTrusted(peer)) return std::string(peer);
  // Right to left: the first address that is not a trusted proxy.
  std::vector<std::string_view> hops;
  for (const auto& header : forwarded_for) {
    std::string_view h = header;
    size_t i = 0;
    while (i <= h.size()) {
      size_t j = h.find(',', i);
      if (j == std::string_view::npos) j = h.size();
      hops.push_back(TrimBlanks(h.substr(i, j - i)));
      i = j + 1;
    }
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!ParseAddress(*it)) return std::string(peer);  // malformed: trust nothing of it
    if (!IsTrusted(*it)) return std::string(*it);
  }
  return hops.empty() ? std::string(peer) : std::string(hops.front());
}

std::string FailureKey(std::string_view address) {
  auto addr = ParseAddress(address);
  if (!addr) return std::string(address);
  char text[INET6_ADDRSTRLEN];
  if (!addr->v6) {
    inet_ntop(AF_INET, addr->bytes.data(), text, sizeof(text));
    return text;
  }
  in6_addr net{};
  std::memcpy(net.s6_addr, addr->bytes.data(), 8);  // the /64
  inet_ntop(AF_INET6, &net, text, sizeof(text));
  return std::string(text) + "/64";
}

}  // namespace tokenlog::api
