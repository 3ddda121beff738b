// libFuzzer target: the stored event decoder. Whatever decodes must
// re-encode to the same bytes and render as JSON; decoded over a used event
// (what replays do), it must give the same event as a fresh decode, and the
// same verdict.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/label.h"

namespace {
// Carries what the previous inputs left in it, as a replay's reused event does.
tokenlog::Event reused;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto event = tokenlog::DecodeEvent(in);
  const bool over_ok = tokenlog::DecodeEventInto(in, &reused).ok();
  if (over_ok != event.ok()) __builtin_trap();
  if (!event.ok()) return 0;
  if (!(reused == *event)) __builtin_trap();
  if (tokenlog::EncodeEvent(*event) != in) __builtin_trap();
  (void)tokenlog::RenderEvent(*event, tokenlog::EventForm::kLog);
  (void)tokenlog::ComputeEventHash(*event);
  return 0;
}
