// MemoryKeyspaces: projection keyspaces in std::maps, for in-memory replays
// (as-of, verify's fresh replay) and tests. Not thread-safe.
#pragma once

#include <array>
#include <map>
#include <string>

#include "core/ports.h"

namespace tokenlog::projections {

class MemoryKeyspaces final : public KeyspaceWriter {
 public:
  using Map = std::map<std::string, std::string>;

  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override;
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override;
  void Put(Keyspace ks, std::string_view key, std::string_view value) override;
  void Delete(Keyspace ks, std::string_view key) override;

  const Map& keyspace(Keyspace ks) const { return maps_[static_cast<size_t>(ks)]; }

 private:
  std::array<Map, kKeyspaceCount> maps_;
};

}  // namespace tokenlog::projections
