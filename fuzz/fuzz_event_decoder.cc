// libFuzzer target: the stored event decoder. Whatever decodes must
// re-encode to the same bytes and render as JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/label.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto event = tokenlog::DecodeEvent(in);
  if (!event.ok()) return 0;
  if (tokenlog::EncodeEvent(*event) != in) __builtin_trap();
  (void)tokenlog::RenderEvent(*event, tokenlog::EventForm::kLog);
  (void)tokenlog::ComputeEventHash(*event);
  return 0;
}
