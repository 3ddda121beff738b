// MintedEvent: a token.minted event for a fresh value, made as the service
// makes one (the id derived from the value's digest), for tests that append
// events to a store directly. Never returns the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/event.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/token_codec.h"

namespace tokenlog::testing {

inline Event MintedEvent(RandomSource& random, int64_t time, const std::string& tenant,
                         const std::string& user,
                         std::optional<int64_t> expires_at = std::nullopt) {
  const std::string value = GenerateTokenValue(random).value();
  Event e;
  e.time = time;
  e.tenant = tenant;
  e.actor = Actor{ActorRole::kUser, user, "127.0.0.1"};
  e.user = user;
  TokenMinted d;
  d.label = "l";
  d.hint = TokenHint(value);
  d.token_sha256 = Sha256(value);
  d.expires_at = expires_at;
  e.token_id = TokenIdOf(d.token_sha256);
  e.data = d;
  return e;
}

}  // namespace tokenlog::testing
