#include "api/web_ui.h"

#include <string>

namespace tokenlog::api {

namespace {

std::string_view ContentType(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

Reply WebPageReply(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const WebFile& file : EmbeddedWebFiles()) {
    if (file.path != path) continue;
    Reply r;
    r.status = 200;
    r.content_type = std::string(ContentType(path));
    r.body = std::string(file.bytes);
    r.headers.emplace_back("Content-Security-Policy", std::string(kWebPageCsp));
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    // The page holds a signed-in session: never cache it. Scripts and styles
    // are revalidated, so a new binary's page never runs an old script.
    r.headers.emplace_back("Cache-Control",
                           r.content_type.starts_with("text/html") ? "no-store" : "no-cache");
    return r;
  }
  return Reply::Problem(Status(Code::kNotFound, "no such resource"));
}

}  // namespace tokenlog::api
