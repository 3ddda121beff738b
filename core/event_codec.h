// The stored encoding of an event: the value of the `events` column family.
//
// Grammar (all integers big-endian; see core/bytes.h):
//
//   event       := version:u8 (=0x01) type:u8 (1..10, EventType)
//                  seq:u64 time:i64 tenant:str actor
//                  user:opt_str token_id:opt_str data
//                  prev_hash:byte[32] hash:byte[32]
//   actor       := role:u8 (1 user, 2 admin, 3 system, 4 basic)
//                  user:opt_str ip:opt_str
//   str         := len:varint32 byte[len]            (UTF-8 text)
//   opt_str     := 0x00 | 0x01 str
//   opt_i64     := 0x00 | 0x01 i64
//   data, by type:
//     token.minted           := label:str expires_at:opt_i64 hint:str
//                               token_sha256:byte[32] rotated_from:opt_str
//     token.revoked          := reason:u8 (RevokeReason 1..5) note:opt_str
//                               replaced_by:opt_str
//     token.expired          := expires_at:i64
//     token.expiry_shortened := expires_at_before:opt_i64 expires_at_after:i64
//                               policy_version:u64
//     token.used             := ip:str user_agent:str count:u64 first_at:i64
//                               last_at:i64
//     auth.denied            := reason:u8 (DenyReason 1..5) claimed_user:str
//                               ip:str user_agent:str count:u64
//     token.looked_up        := found:u8 (0|1)
//     policy.changed         := before:limits after:limits version:u64
//       limits               := max_lifetime_days:(0x00 | 0x01 u32)
//                               default_lifetime_days:u32
//     user.deactivated       := revoked_tokens:u32
//     user.reactivated       := (nothing)
//
// Times are milliseconds since the Unix epoch (UTC). The encoding holds every
// field of the event's JSON (event_json.h), so the printed event, and with it
// the hash chain, can be reproduced byte for byte from storage. A new field or
// type means a new version byte; old versions stay decodable.
#pragma once

#include <string>
#include <string_view>

#include "core/event.h"
#include "core/status.h"

namespace tokenlog {

inline constexpr uint8_t kEventFormatVersion = 1;

std::string EncodeEvent(const Event& event);

// Decodes one stored event. Any malformed input returns Code::kCorruption
// whose detail names the field and what is wrong with it.
Result<Event> DecodeEvent(std::string_view bytes);
// The same, decoded over `*out`, whose strings' memory is reused (what a
// replay of millions of events does, instead of allocating each one's
// strings anew). Every field is set; on an error `*out` holds a mix of
// fields and is only fit to be decoded over again.
Status DecodeEventInto(std::string_view bytes, Event* out);

}  // namespace tokenlog
