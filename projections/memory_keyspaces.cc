#include "projections/memory_keyspaces.h"

namespace tokenlog::projections {

Result<std::optional<std::string>> MemoryKeyspaces::Get(Keyspace ks, std::string_view key) const {
  const Map& m = keyspace(ks);
  auto it = m.find(std::string(key));
  if (it == m.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryKeyspaces::Scan(Keyspace ks, std::string_view prefix, std::string_view start,
                             bool reverse, const ScanVisitor& visit) const {
  const Map& m = keyspace(ks);
  auto has_prefix = [&](const std::string& k) { return k.compare(0, prefix.size(), prefix) == 0; };
  if (!reverse) {
    auto it = m.lower_bound(std::string(start.empty() ? prefix : start));
    for (; it != m.end() && has_prefix(it->first); ++it) {
      if (!visit(it->first, it->second)) break;
    }
    return Status();
  }
  // Reverse: begin at the last key <= start, or the last key with the prefix.
  Map::const_iterator it;
  if (!start.empty()) {
    it = m.upper_bound(std::string(start));
  } else {
    std::string end(prefix);
    // The first key after every key with `prefix`.
    while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
    if (end.empty()) {
      it = m.end();
    } else {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      it = m.lower_bound(end);
    }
  }
  while (it != m.begin()) {
    --it;
    if (!has_prefix(it->first)) break;
    if (!visit(it->first, it->second)) break;
  }
  return Status();
}

void MemoryKeyspaces::Put(Keyspace ks, std::string_view key, std::string_view value) {
  maps_[static_cast<size_t>(ks)].insert_or_assign(std::string(key), std::string(value));
}

void MemoryKeyspaces::Delete(Keyspace ks, std::string_view key) {
  maps_[static_cast<size_t>(ks)].erase(std::string(key));
}

}  // namespace tokenlog::projections
