#include "api/reply.h"

namespace tokenlog::api {

Reply Reply::Json(int status, const JcsObject& object) { return Json(status, object.Render()); }

Reply Reply::Json(int status, std::string json) {
  Reply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(json);
  return r;
}

Reply Reply::Problem(const Status& status) {
  JcsObject o;
  o.Str("type", ProblemType(status.code()));
  o.Str("title", ProblemTitle(status.code()));
  o.Int("status", HttpStatus(status.code()));
  o.Str("detail", status.detail().empty() ? std::string(ProblemTitle(status.code()))
                                          : status.detail());
  Reply r;
  r.status = HttpStatus(status.code());
  r.content_type = "application/problem+json";
  r.body = o.Render();
  if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace tokenlog::api
