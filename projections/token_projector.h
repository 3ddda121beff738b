// TokenProjector: the pure apply(event) behind every projection keyspace.
//
// Apply reads and writes only through the KeyspaceWriter it is given and
// reads no clock: the same function runs for live appends (inside the
// writer's group batch), for `tokenlog rebuild` and for in-memory replays.
// Stateless and thread-safe.
#pragma once

#include <optional>

#include "core/ports.h"
#include "core/token.h"

namespace tokenlog::projections {

// The record a token.minted event creates in `tokens` (Apply writes exactly
// this); nullopt when `event` is not a token.minted with a token and a user.
// What a mint's answer shows, without reading it back.
std::optional<TokenRecord> MintedRecord(const Event& event);

class TokenProjector final : public Projector {
 public:
  // Code::kCorruption when the event contradicts the projections (an event
  // about a token that was never minted).
  Status Apply(const Event& event, KeyspaceWriter& out) const override;
};

}  // namespace tokenlog::projections
