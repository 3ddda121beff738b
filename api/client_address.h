// The client address of a request (API.md, "OData authentication check"):
// the peer's, or, when the peer is a trusted proxy, the right-most untrusted
// address of X-Forwarded-For. Also the key failures are counted under: an
// IPv4 address, or an IPv6 address's /64.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tokenlog::api {

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  int prefix = 0;
};

// "10.0.0.0/8, 192.168.1.7, ::1, fd00::/8" (commas and/or spaces). An address
// without a prefix is a single host. kInvalidRequest naming a bad entry.
Result<std::vector<Cidr>> ParseCidrList(std::string_view text);

class ClientAddressResolver {
 public:
  explicit ClientAddressResolver(std::vector<Cidr> trusted) : trusted_(std::move(trusted)) {}

  // `peer`: the socket's remote address; `forwarded_for`: the
  // X-Forwarded-For header values in order (may be empty). Thread-safe.
  std::string Resolve(std::string_view peer, const std::vector<std::string>& forwarded_for) const;

  bool IsTrusted(std::string_view address) const;
  // False when no proxy is trusted: then X-Forwarded-For never matters.
  bool trusts_any() const { return !trusted_.empty(); }

 private:
  std::vector<Cidr> trusted_;
};

// The rate-limiting key of an address: IPv4 as is, IPv6 as its /64
// ("2001:db8:1:2::/64"); IPv4-mapped IPv6 as the IPv4 address.
std::string FailureKey(std::string_view address);

}  // namespace tokenlog::api
