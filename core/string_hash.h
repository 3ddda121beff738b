// A string hash that also takes string_views, so that maps keyed by
// std::string can be searched without building a std::string.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace tokenlog {

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

}  // namespace tokenlog
