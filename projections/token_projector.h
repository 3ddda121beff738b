// TokenProjector: the pure apply(event) behind every projection keyspace.
//
// Apply reads and writes only through the KeyspaceWriter it is given and
// reads no clock: the same function runs for live appends (inside the
// writer's group batch), for `tokenlog rebuild` and for in-memory replays.
// Stateless and thread-safe.
#pragma once

#include "core/ports.h"

namespace tokenlog::projections {

class TokenProjector final : public Projector {
 public:
  // Code::kCorruption when the event contradicts the projections (an event
  // about a token that was never minted).
  Status Apply(const Event& event, KeyspaceWriter& out) const override;
};

}  // namespace tokenlog::projections
