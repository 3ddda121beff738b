// The web page's static files (api/web_ui.h) over real HTTP: content types,
// the security headers, and that nothing else about routing changed.
#include "api/web_ui.h"

#include <catch2/catch.hpp>

#include "tests/api/test_server.h"

using namespace tokenlog;
using namespace tokenlog::testing;

namespace {

void ExpectSecurityHeaders(const Resp& r) {
  INFO(r.Text().substr(0, 600));
  CHECK(r.Header("Content-Security-Policy") == std::string(api::kWebPageCsp));
  CHECK(r.Header("X-Content-Type-Options") == "nosniff");
  CHECK(r.Header("Referrer-Policy") == "no-referrer");
}

}  // namespace

TEST_CASE("GET / serves the page with a strict CSP and no caching") {
  TestServer server;
  for (const char* path : {"/", "/index.html"}) {
    Resp r = server.Send("GET", path);
    INFO(path);
    CHECK(r.status == 200);
    CHECK(r.Header("Content-Type") == "text/html; charset=utf-8");
    CHECK(r.Header("Cache-Control") == "no-store");
    ExpectSecurityHeaders(r);
    CHECK(r.body.starts_with("<!doctype html>"));
    CHECK(r.body.find("<script src=\"/app.js\" defer></script>") != std::string::npos);
    // The CSP allows no inline script or style: the page has none.
    CHECK(r.body.find("<script>") == std::string::npos);
    CHECK(r.body.find("<style") == std::string::npos);
    CHECK(r.body.find(" style=") == std::string::npos);
  }
  CHECK(api::kWebPageCsp.find("default-src 'none'") != std::string::npos);
  CHECK(api::kWebPageCsp.find("script-src 'self';") != std::string::npos);
  CHECK(api::kWebPageCsp.find("unsafe") == std::string::npos);
}

TEST_CASE("the script and the style sheet are served with their types") {
  TestServer server;
  Resp js = server.Send("GET", "/app.js");
  CHECK(js.status == 200);
  CHECK(js.Header("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(js.body.find("'use strict';") != std::string::npos);
  ExpectSecurityHeaders(js);
  Resp css = server.Send("GET", "/app.css");
  CHECK(css.status == 200);
  CHECK(css.Header("Content-Type") == "text/css; charset=utf-8");
  CHECK(!css.body.empty());
  ExpectSecurityHeaders(css);
  // HEAD: the same headers, no body.
  Resp head = server.Send("HEAD", "/app.js");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  // The embedded bytes are the files' bytes, byte for byte.
  for (const auto& file : api::EmbeddedWebFiles()) {
    Resp r = server.Send("GET", std::string(file.path));
    INFO(file.path);
    CHECK(r.body == std::string(file.bytes));
  }
}

TEST_CASE("the page's paths take only GET and HEAD; other paths are unchanged") {
  TestServer server;
  Resp post = server.Send("POST", "/");
  EXPECT_PROBLEM(post, 405, "method_not_allowed");
  CHECK(post.Header("Allow") == "GET, HEAD");
  EXPECT_PROBLEM(server.Send("PUT", "/app.js", {}, "{}"), 405, "method_not_allowed");
  EXPECT_PROBLEM(server.Send("GET", "/app.jsx"), 404, "not_found");
  EXPECT_PROBLEM(server.Send("GET", "/web/index.html"), 404, "not_found");
  EXPECT_PROBLEM(server.Send("GET", "/index.html/"), 404, "not_found");
  // The API still wants its JWT and still answers JSON.
  Resp tokens = server.Send("GET", "/v1/tokens");
  EXPECT_PROBLEM(tokens, 401, "unauthenticated");
  CHECK(!tokens.Has("Content-Security-Policy"));
}
