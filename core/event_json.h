// The JSON face of an event (API.md "Events") and the hash chain over it.
//
// RenderEvent(e, kApi) is the object the HTTP API returns; kLog adds
// `prev_hash` and `hash`, exactly as `tokenlog events --json` prints it. Both
// are RFC 8785 canonical (JcsObject), so `hash` = SHA-256 of the kLog form
// without its `hash` member can be recomputed by anyone with a JCS library.
#pragma once

#include <string>

#include "core/event.h"
#include "core/jcs.h"

namespace tokenlog {

enum class EventForm { kApi, kLog };

JcsObject EventToJcs(const Event& event, EventForm form);
std::string RenderEvent(const Event& event, EventForm form);

// SHA-256 of the canonical JSON of `event` with `prev_hash` and without
// `hash`. Ignores event.hash.
Digest ComputeEventHash(const Event& event);

// 64 zeros: the prev_hash of seq 1.
inline constexpr Digest kGenesisHash{};

}  // namespace tokenlog
