#include "api/service.h"

#include <algorithm>
#include <cstdio>

#include "api/basic_auth.h"
#include "projections/audit.h"
#include "api/json_body.h"
#include "api/text.h"
#include "api/views.h"
#include "api/web_ui.h"
#include "core/event_json.h"
#include "core/names.h"
#include "core/sha256.h"
#include "core/time_format.h"
#include "core/token_codec.h"
#include "projections/records.h"
#include "projections/state_view.h"
#include "projections/token_projector.h"

namespace tokenlog::api {

namespace {

using projections::ProjectionState;

constexpr size_t kPageDefault = 50;
constexpr size_t kPageMax = 500;

// The request headers the OData check reads, found in one pass: the first
// of each name, compared case-insensitively (what httplib's own find()
// answers, without its tree walk and tolower() call per character for each
// name; this runs on every check).
struct CheckHeaders {
  std::optional<std::string_view> authorization;
  // Authorization is a singleton field (RFC 9110): a second one, whatever
  // its value, makes the request ambiguous (a proxy and this server could
  // each read a different one), and the check fails closed.
  bool authorization_repeated = false;
  std::optional<std::string_view> require_tenant;  // X-Auth-Require-Tenant
  // Repeated with another value (a gateway that appends rather than sets
  // it): no tenant matches, the check fails closed.
  bool require_tenant_conflict = false;
  std::optional<std::string_view> user_agent;
};

CheckHeaders FindCheckHeaders(const httplib::Headers& headers) {
  CheckHeaders found;
  auto take = [](std::optional<std::string_view>& slot, const std::string& value) {
    if (!slot) slot = value;
  };
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoringCase(name, "authorization")) {
      if (found.authorization) found.authorization_repeated = true;
      take(found.authorization, value);
    } else if (EqualsIgnoringCase(name, "user-agent")) {
      take(found.user_agent, value);
    } else if (EqualsIgnoringCase(name, "x-auth-require-tenant")) {
      if (found.require_tenant && *found.require_tenant != value) {
        found.require_tenant_conflict = true;
      }
      take(found.require_tenant, value);
    }
  }
  return found;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The segments between the slashes of a path (empty ones kept: "/v1//tokens"
// and "/v1/tokens/" name no route), each percent-decoded when `encoded`;
// nullopt when an escape is not "%" and two hex digits. Decoding each segment
// after splitting keeps "%2F" inside its segment.
std::optional<std::vector<std::string>> PathSegments(std::string_view path, bool encoded) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  for (;;) {
    const size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    std::string& decoded = out.emplace_back();
    decoded.reserve(segment.size());
    for (size_t i = 0; i < segment.size(); ++i) {
      if (!encoded || segment[i] != '%') {
        decoded.push_back(segment[i]);
        continue;
      }
      const int hi = i + 2 < segment.size() ? HexValue(segment[i + 1]) : -1;
      const int lo = hi >= 0 ? HexValue(segment[i + 2]) : -1;
      if (lo < 0) return std::nullopt;
      decoded.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

// `got` matches `pattern` ("/v1/tokens/{id}": "{x}" is any one segment, put
// in `params`).
bool Match(std::string_view pattern, const std::vector<std::string>& got,
           std::vector<std::string>* params) {
  // The pattern's segments are split as PathSegments splits a path, in
  // place: each request tries the routes in turn, with no allocation each.
  params->clear();
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  if (pattern.empty()) return got.empty();
  for (size_t i = 0;; ++i) {
    const size_t slash = pattern.find('/');
    const std::string_view want = pattern.substr(0, slash);
    if (i == got.size()) return false;
    if (want.size() > 2 && want.front() == '{') {
      if (got[i].empty()) return false;  // an empty segment names nothing
      params->push_back(got[i]);
    } else if (want != got[i]) {
      return false;
    }
    if (slash == std::string_view::npos) return i + 1 == got.size();
    pattern.remove_prefix(slash + 1);
  }
}

// Only the listed query parameters, each at most once.
Status CheckQuery(const httplib::Request& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : req.params) {
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      return Status(Code::kInvalidRequest, "unknown query parameter " + QuoteName(key));
    }
    if (req.params.count(key) > 1) {
      return Status(Code::kInvalidRequest, "query parameter " + QuoteName(key) + " is repeated");
    }
  }
  return Status();
}

std::optional<std::string> QueryParam(const httplib::Request& req, const char* key) {
  auto it = req.params.find(key);
  if (it == req.params.end()) return std::nullopt;
  return it->second;
}

Result<std::optional<TokenStatus>> StatusFilter(const httplib::Request& req) {
  auto raw = QueryParam(req, "status");
  if (!raw) return std::optional<TokenStatus>();
  auto s = ParseTokenStatus(*raw);
  if (!s) {
    return Status(Code::kInvalidRequest, "status must be active, revoked or expired");
  }
  return std::optional<TokenStatus>(*s);
}

Result<size_t> LimitParam(const httplib::Request& req) {
  auto raw = QueryParam(req, "limit");
  if (!raw) return kPageDefault;
  if (raw->empty() || raw->size() > 3 ||
      raw->find_first_not_of("0123456789") != std::string::npos) {
    return Status(Code::kInvalidRequest, "limit must be an integer from 1 to 500");
  }
  size_t n = std::stoul(*raw);
  if (n < 1 || n > kPageMax) {
    return Status(Code::kInvalidRequest, "limit must be an integer from 1 to 500");
  }
  return n;
}

// What a cursor is bound to: the route, the caller's tenant and user, and
// every filter.
std::string Binding(std::initializer_list<std::string_view> parts) {
  std::string b;
  for (auto p : parts) {
    b.append(p);
    b.push_back('\n');
  }
  return b;
}

Reply Unauthenticated(std::string detail) {
  Reply r = Reply::Problem(Status(Code::kUnauthenticated, std::move(detail)));
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tokenlog\"");
  return r;
}

}  // namespace

Service::Service(storage::EventStore& store, const Clock& clock, RandomSource& random,
                 const JwtVerifier& jwt, Metrics& metrics, ServiceConfig config)
    : store_(store),
      clock_(clock),
      random_(random),
      jwt_(jwt),
      metrics_(metrics),
      config_(std::move(config)),
      cursors_(store.paging_key()),
      usage_(config_.usage),
      addresses_(config_.trusted_proxies),
      limiter_(config_.auth_failure_limit, kMaxLimitedAddresses),
      challenge_("Basic realm=\"" + config_.realm + "\", charset=\"UTF-8\"") {}

const std::vector<Service::Route>& Service::Routes() {
  static const std::vector<Route> routes = {
      // The web page's static files (api/web_ui.h).
      {"GET", "/", &Service::WebPage, false, false},
      {"GET", "/index.html", &Service::WebPage, false, false},
      {"GET", "/app.js", &Service::WebPage, false, false},
      {"GET", "/app.css", &Service::WebPage, false, false},
      {"GET", "/healthz", &Service::Healthz, false, false},
      {"GET", "/readyz", &Service::Readyz, false, false},
      {"GET", "/metrics", &Service::MetricsText, false, false},
      {"POST", "/v1/tokens", &Service::MintToken, true, false},
      {"GET", "/v1/tokens", &Service::ListTokens, true, false},
      {"GET", "/v1/tokens/{id}", &Service::GetToken, true, false},
      {"POST", "/v1/tokens/{id}/revoke", &Service::RevokeToken, true, false},
      {"POST", "/v1/tokens/{id}/rotate", &Service::RotateToken, true, false},
      {"GET", "/v1/admin/policy", &Service::GetPolicy, true, true},
      {"PUT", "/v1/admin/policy", &Service::PutPolicy, true, true},
      {"POST", "/v1/admin/policy/preview", &Service::PreviewPolicy, true, true},
      {"GET", "/v1/admin/tokens", &Service::AdminListTokens, true, true},
      {"POST", "/v1/admin/tokens/lookup", &Service::AdminLookup, true, true},
      {"POST", "/v1/admin/tokens/{id}/revoke", &Service::AdminRevokeToken, true, true},
      {"POST", "/v1/admin/users/{user}/deactivate", &Service::Deactivate, true, true},
      {"POST", "/v1/admin/users/{user}/reactivate", &Service::Reactivate, true, true},
      {"GET", "/v1/activity", &Service::Activity, true, false},
      {"GET", "/v1/admin/activity", &Service::AdminActivity, true, true},
  };
  return routes;
}

std::string_view Service::RawPath(const httplib::Request& req) {
  if (req.target.empty()) return req.path;
  return std::string_view(req.target).substr(0, req.target.find('?'));
}

bool Service::IsCheck(const httplib::Request& req) {
  constexpr std::string_view kCheck = "/v1/auth/check";
  const std::string_view path = RawPath(req);
  return path.substr(0, kCheck.size()) == kCheck &&
         (path.size() == kCheck.size() || path[kCheck.size()] == '/');
}

Reply Service::Handle(const httplib::Request& req, std::string& route) {
  // The check's sub-paths may hold anything: they are not decoded.
  if (IsCheck(req)) {
    route = "/v1/auth/check";
    return Check(req);
  }
  // HEAD is GET without a body (the writer drops it).
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  // Routes match the path as sent (httplib's decoded path would split at a
  // "%2F" and keep a malformed escape as it is).
  const std::string_view raw = RawPath(req);
  if (raw.empty() || raw.front() != '/') {
    route = "unmatched";
    return Reply::Problem(Status(Code::kNotFound, "no such resource"));
  }
  const auto segments = PathSegments(raw, /*encoded=*/!req.target.empty());
  if (!segments) {
    route = "unmatched";
    return Reply::Problem(Status(Code::kInvalidRequest,
                                 "the path has a malformed percent-escape (\"%\" and two hex "
                                 "digits)"));
  }
  Call call;
  const Route* found = nullptr;
  std::string allow;
  for (const Route& r : Routes()) {
    std::vector<std::string> params;
    if (!Match(r.pattern, *segments, &params)) continue;
    if (method == r.method) {
      found = &r;
      call.params = std::move(params);
      break;
    }
    allow += (allow.empty() ? "" : ", ") + std::string(r.method);
    if (std::string_view(r.method) == "GET") allow += ", HEAD";
  }
  if (!found) {
    if (!allow.empty()) {
      route = "method_not_allowed";
      Reply r = Reply::Problem(Status(Code::kMethodNotAllowed,
                                      "this path accepts " + allow + ", not " + req.method));
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    route = "unmatched";
    return Reply::Problem(Status(Code::kNotFound, "no such resource"));
  }
  route = found->pattern;
  if (found->authenticated) {
    auto it = req.headers.find("Authorization");
    if (it == req.headers.end()) {
      return Unauthenticated("this API needs an Authorization: Bearer <JWT> header");
    }
    if (req.headers.count("Authorization") > 1) {  // Headers compare case-insensitively
      return Unauthenticated("send one Authorization header, not several");
    }
    std::string_view value = it->second;
    if (!EqualsIgnoringCase(value.substr(0, 7), "Bearer ")) {
      return Unauthenticated("this API needs a Bearer JWT (personal access tokens only work "
                             "on /v1/auth/check)");
    }
    value.remove_prefix(7);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    auto principal = jwt_.Verify(value, clock_.NowMillis());
    if (!principal.ok()) return Unauthenticated(principal.status().detail());
    if (found->admin && principal->role != Role::kAdmin) {
      return Reply::Problem(Status(Code::kForbidden, "this needs the admin role"));
    }
    call.caller = std::move(principal).value();
    // The write routes take no query parameters (the reads check their own).
    if (std::string_view(found->method) != "GET") {
      if (auto s = CheckQuery(req, {}); !s.ok()) return Reply::Problem(s);
    }
  }
  return (this->*(found->handler))(req, call);
}

Reply Service::WebPage(const httplib::Request& req, const Call&) { return WebPageReply(req.path); }

std::string Service::ClientIp(const httplib::Request& req) const {
  if (!addresses_.trusts_any()) return req.remote_addr;  // X-Forwarded-For is ignored then
  std::vector<std::string> forwarded;
  auto [first, last] = req.headers.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) forwarded.push_back(it->second);
  return addresses_.Resolve(req.remote_addr, forwarded);
}

CommandContext Service::Context(const httplib::Request& req, const Principal& caller) const {
  CommandContext ctx;
  ctx.tenant = caller.tenant;
  ctx.actor = Actor{caller.role == Role::kAdmin ? ActorRole::kAdmin : ActorRole::kUser,
                    caller.user, ClientIp(req)};
  ctx.random = &random_;
  ctx.max_active_tokens = config_.max_active_tokens;
  return ctx;
}

template <typename DecideFn>
Result<Decision> Service::Run(DecideFn decide) {
  Decision out;
  auto appended = store_.Execute(
      [&](const KeyspaceReader& ks, int64_t now) -> Result<std::vector<Event>> {
        ProjectionState state(ks);
        TL_ASSIGN_OR_RETURN(Decision d, decide(state, now));
        out.token_id = std::move(d.token_id);
        out.token_value = std::move(d.token_value);
        out.count = d.count;
        return std::move(d.events);
      });
  if (!appended.ok()) return appended.status();
  out.events = std::move(appended).value();
  return out;
}

Reply Service::TokenReply(int status, std::string_view token_id,
                          const std::optional<std::string>& value) {
  auto token = ProjectionState(store_.committed()).Token(token_id);
  if (!token.ok()) return Reply::Problem(token.status());
  if (!*token) return Reply::Problem(Status(Code::kNotFound, "no such token"));
  JcsObject o = TokenJson(**token, clock_.NowMillis(), usage_.LastUsed((*token)->id));
  if (value) o.Str("token", *value);
  Reply r = Reply::Json(status, o);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Reply Service::NewTokenReply(const Decision& d) {
  // The committed token.minted event holds all of the new record: no read
  // of `tokens` (it was a tenth of a mint's CPU in the server).
  for (const Event& e : d.events) {
    if (e.token_id != d.token_id) continue;
    std::optional<TokenRecord> t = projections::MintedRecord(e);
    if (!t) continue;
    JcsObject o = TokenJson(*t, clock_.NowMillis(), usage_.LastUsed(t->id));
    if (d.token_value) o.Str("token", *d.token_value);
    Reply r = Reply::Json(201, o);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  return TokenReply(201, *d.token_id, d.token_value);
}

// ---- operations ----

Reply Service::Healthz(const httplib::Request&, const Call&) {
  return Reply::Json(200, JcsObject().Str("status", "ok"));
}

bool Service::Ready() const { return store_.writable() || store_.TryRecover(); }

Reply Service::Readyz(const httplib::Request&, const Call&) {
  if (!Ready()) {
    return Reply::Problem(Status(Code::kUnavailable, "storage is not writable"));
  }
  return Reply::Json(200, JcsObject().Str("status", "ready").Uint("log_head_seq",
                                                                   store_.head().seq));
}

Reply Service::MetricsText(const httplib::Request&, const Call&) {
  metrics_.SetLogHeadSeq(store_.head().seq);
  Reply r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.Render();
  return r;
}

Status Service::Start() {
  // RocksDB's estimate counts every version of a record until compaction,
  // so it can be high; Reserve caps it (at ~130 MB of table, what 1M tokens
  // need anyway). Growing instead costs ~0.2 s of start-up per 1M tokens.
  auth_index_.Reserve(store_.EstimateEntries(Keyspace::kTokens));
  const uint64_t loaded_at = store_.head().seq;
  TL_ASSIGN_OR_RETURN(size_t active, auth_index_.Load(store_.committed()));
  metrics_.SetActiveTokens(static_cast<int64_t>(active));
  metrics_.SetLogHeadSeq(store_.head().seq);
  store_.SetCommitListener([this](const std::vector<Event>& events,
                                  const storage::CommittedWrites& writes) {
    Status failed;
    Status read = writes.Visit(
        {Keyspace::kUsers, Keyspace::kTokens},
        [&](Keyspace ks, std::string_view key, std::optional<std::string_view> value) {
          if (failed.ok()) failed = auth_index_.OnWrite(ks, key, value);
        });
    if (!read.ok() || !failed.ok()) {
      // The check's index would no longer match the log (a revocation could
      // be missed): stop, and let a restart load it again.
      std::fprintf(stderr, "tokenlog: the check's index cannot follow a commit: %s; stopping\n",
                   (read.ok() ? failed : read).ToString().c_str());
      std::abort();
    }
    for (const Event& e : events) {
      metrics_.CountEvent(e.type());
      switch (e.type()) {
        case EventType::kTokenMinted: metrics_.AddActiveTokens(1); break;
        case EventType::kTokenRevoked: metrics_.AddActiveTokens(-1); break;
        case EventType::kTokenExpired: metrics_.AddActiveTokens(-1); break;
        default: break;
      }
    }
    if (!events.empty()) metrics_.SetLogHeadSeq(events.back().seq);
  });
  if (store_.head().seq != loaded_at) {
    return Status(Code::kUnavailable, "the log changed while the check's index was loading: "
                                      "Start() must run before any command");
  }
  return Status();
}

Status Service::FlushUsage(bool everything) {
  std::vector<Event> due = usage_.TakeDue(clock_.NowMillis(), everything);
  if (due.empty()) return Status();
  auto appended = store_.Execute(
      [&](const KeyspaceReader&, int64_t) -> Result<std::vector<Event>> { return due; });
  if (!appended.ok()) {
    usage_.Requeue(due);
    return appended.status();
  }
  return Status();
}

Result<uint32_t> Service::ExpireDue() {
  // The candidates come from the check's index, read here on the sweeper's
  // thread (a scan of it, when anything can be due, would otherwise hold up
  // every write), all of them in one scan: a backlog of N due tokens costs
  // one pass over the index, not N / kBatch. They are logged kBatch to a
  // command; the decision re-reads each token in the writer, so one revoked
  // meanwhile is skipped, and one that became due meanwhile waits for the
  // next sweep.
  constexpr size_t kBatch = 500;
  const std::vector<std::string> due = auth_index_.DueForExpiry(clock_.NowMillis());
  uint32_t total = 0;
  for (size_t from = 0; from < due.size(); from += kBatch) {
    const std::vector<std::string> batch(
        due.begin() + static_cast<std::ptrdiff_t>(from),
        due.begin() + static_cast<std::ptrdiff_t>(std::min(due.size(), from + kBatch)));
    TL_ASSIGN_OR_RETURN(Decision d, Run([&](const StateReader& s, int64_t now) {
                          return DecideExpireDue(s, now, batch);
                        }));
    total += static_cast<uint32_t>(d.events.size());
  }
  return total;
}

// ---- OData check ----

Reply Service::Check(const httplib::Request& req) {
  const std::string client = ClientIp(req);
  const int64_t now = clock_.NowMillis();
  auto deny = [&](DenyMetric why) {
    metrics_.CountDenied(why);
    // Presented credentials that fail count against the address; the
    // anonymous first request of a challenge flow does not.
    uint32_t retry_after = 0;
    if (why != DenyMetric::kMissing) {
      const std::string failure_key = FailureKey(client);  // only failures need it
      retry_after = limiter_.RetryAfter(failure_key, now);
      limiter_.RecordFailure(failure_key, now);
    }
    if (retry_after > 0) {
      metrics_.CountCheck(CheckResult::kRateLimited);
      Reply r = Reply::Problem(Status(Code::kRateLimited,
                                      "too many failed checks from this address; retry later"));
      r.headers.emplace_back("Retry-After", std::to_string(retry_after));
      r.headers.emplace_back("Cache-Control", "no-store");
      return r;
    }
    metrics_.CountCheck(CheckResult::kDenied);
    Reply r = Reply::Problem(Status(Code::kUnauthenticated,
                                    "the username or personal access token is not valid"));
    r.headers.emplace_back("WWW-Authenticate", challenge_);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  };
  CheckHeaders headers = FindCheckHeaders(req.headers);
  if (!headers.authorization) return deny(DenyMetric::kMissing);
  if (headers.authorization_repeated) return deny(DenyMetric::kMalformed);
  BasicBuffer decoded;  // no allocation for the credentials
  auto creds = ParseBasicAuthorization(*headers.authorization, decoded);
  if (!creds) return deny(DenyMetric::kMalformed);
  // The lookup first, its answer used only once the checksum holds: the
  // index slot's cache miss overlaps the checksum (a value that fails it
  // costs a SHA-256 and a lookup more, ~0.3 us, and is refused as before).
  auto found = auth_index_.Find(Sha256(creds->password));
  if (!ValidateTokenValue(creds->password).ok()) return deny(DenyMetric::kBadChecksum);
  if (!found) return deny(DenyMetric::kUnknown);
  const projections::AuthIndex::Match& t = *found;
  usage_.Prefetch(t.token_id());  // its miss overlaps the owner's, read next
  const projections::AuthIndex::Owner& owner = *t.owner;

  std::optional<DenyReason> reason;
  TokenStatus status = t.StatusAt(now);
  if (status == TokenStatus::kRevoked) {
    reason = DenyReason::kRevoked;
  } else if (status == TokenStatus::kExpired) {
    reason = DenyReason::kExpired;
  } else if (owner.deactivated.load(std::memory_order_acquire)) {
    reason = DenyReason::kUserDeactivated;
  } else if (!UsernameMatches(creds->username, owner.user())) {
    reason = DenyReason::kUserMismatch;
  } else if (headers.require_tenant &&
             (headers.require_tenant_conflict || *headers.require_tenant != owner.tenant())) {
    reason = DenyReason::kTenantMismatch;
  }
  const std::string_view user_agent = headers.user_agent.value_or(std::string_view());
  if (reason) {
    usage_.RecordDenial(t.ref(), *reason, creds->username, client, user_agent, now);
    return deny(ToDenyMetric(*reason));
  }
  usage_.RecordUse(t.ref(), client, user_agent, now);
  metrics_.CountCheck(CheckResult::kAllowed);
  Reply r;
  r.status = 200;
  r.headers.reserve(4);
  r.headers.emplace_back("X-Auth-User", owner.user());
  r.headers.emplace_back("X-Auth-Tenant", owner.tenant());
  r.headers.emplace_back("X-Auth-Token-Id", t.token_id());
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ---- /v1/tokens ----

Reply Service::MintToken(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {"label", "expires_in_days"});
  if (!body.ok()) return Reply::Problem(body.status());
  auto label = ReadOptionalString(*body, "label", Code::kInvalidLabel);
  if (!label.ok()) return Reply::Problem(label.status());
  if (!*label) return Reply::Problem(Status(Code::kInvalidLabel, "label is required"));
  auto expiry = ReadExpiry(*body);
  if (!expiry.ok()) return Reply::Problem(expiry.status());
  CommandContext ctx = Context(req, call.caller);
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return DecideMint(s, ctx, call.caller.user, **label, *expiry);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  return NewTokenReply(*d);
}

Reply Service::ListTokens(const httplib::Request& req, const Call& call) {
  if (auto s = CheckQuery(req, {"status"}); !s.ok()) return Reply::Problem(s);
  auto filter = StatusFilter(req);
  if (!filter.ok()) return Reply::Problem(filter.status());
  auto tokens = ProjectionState(store_.committed()).UserTokens(call.caller.tenant,
                                                               call.caller.user);
  if (!tokens.ok()) return Reply::Problem(tokens.status());
  int64_t now = clock_.NowMillis();
  std::vector<std::string> items;
  uint32_t active = 0;
  for (const auto& t : *tokens) {
    TokenStatus st = t.StatusAt(now);
    if (st == TokenStatus::kActive) ++active;
    if (*filter && st != **filter) continue;
    items.push_back(TokenJson(t, now, usage_.LastUsed(t.id)).Render());
  }
  JcsObject o;
  o.Raw("tokens", JsonArray(items));
  o.Uint("active_count", active);
  o.Uint("max_active", config_.max_active_tokens);
  return Reply::Json(200, o);
}

Reply Service::GetToken(const httplib::Request& req, const Call& call) {
  if (auto s = CheckQuery(req, {}); !s.ok()) return Reply::Problem(s);
  auto token = ProjectionState(store_.committed()).Token(call.params[0]);
  if (!token.ok()) return Reply::Problem(token.status());
  if (!*token || (*token)->tenant != call.caller.tenant || (*token)->user != call.caller.user) {
    return Reply::Problem(Status(Code::kNotFound, "no such token"));
  }
  return Reply::Json(200, TokenJson(**token, clock_.NowMillis(), usage_.LastUsed((*token)->id)));
}

Reply Service::RevokeToken(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {});
  if (!body.ok()) return Reply::Problem(body.status());
  CommandContext ctx = Context(req, call.caller);
  TokenScope scope{call.caller.tenant, call.caller.user};
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return DecideRevoke(s, ctx, scope, call.params[0], RevokeReason::kUser, std::nullopt);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  return TokenReply(200, *d->token_id);
}

Reply Service::RotateToken(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {"expires_in_days"});
  if (!body.ok()) return Reply::Problem(body.status());
  auto expiry = ReadExpiry(*body);
  if (!expiry.ok()) return Reply::Problem(expiry.status());
  CommandContext ctx = Context(req, call.caller);
  TokenScope scope{call.caller.tenant, call.caller.user};
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return DecideRotate(s, ctx, scope, call.params[0], *expiry);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  return NewTokenReply(*d);
}

// ---- /v1/admin ----

Reply Service::GetPolicy(const httplib::Request& req, const Call& call) {
  if (auto s = CheckQuery(req, {}); !s.ok()) return Reply::Problem(s);
  auto policy = ProjectionState(store_.committed()).PolicyOf(call.caller.tenant);
  if (!policy.ok()) return Reply::Problem(policy.status());
  return Reply::Json(200, PolicyJson(*policy, config_.max_active_tokens));
}

Reply Service::PutPolicy(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {"max_lifetime_days", "default_lifetime_days"});
  if (!body.ok()) return Reply::Problem(body.status());
  auto limits = ReadPolicyLimits(*body);
  if (!limits.ok()) return Reply::Problem(limits.status());
  CommandContext ctx = Context(req, call.caller);
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return DecideSetPolicy(s, ctx, *limits);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  auto policy = ProjectionState(store_.committed()).PolicyOf(call.caller.tenant);
  if (!policy.ok()) return Reply::Problem(policy.status());
  JcsObject o = PolicyJson(*policy, config_.max_active_tokens);
  o.Uint("affected_tokens", d->count);
  return Reply::Json(200, o);
}

Reply Service::PreviewPolicy(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {"max_lifetime_days", "default_lifetime_days"});
  if (!body.ok()) return Reply::Problem(body.status());
  auto limits = ReadPolicyLimits(*body);
  if (!limits.ok()) return Reply::Problem(limits.status());
  auto effects = tokenlog::PreviewPolicy(ProjectionState(store_.committed()), call.caller.tenant,
                                         *limits, clock_.NowMillis());
  if (!effects.ok()) return Reply::Problem(effects.status());
  std::vector<std::string> items;
  for (const auto& e : *effects) {
    JcsObject o;
    o.Str("token_id", e.token.id);
    o.Str("user", e.token.user);
    o.Str("label", e.token.label);
    o.OptTime("expires_at_before", e.expires_at_before);
    o.Time("expires_at_after", e.expires_at_after);
    o.Bool("expires_now", e.expires_now);
    items.push_back(o.Render());
  }
  return Reply::Json(200, JcsObject().Raw("affected", JsonArray(items)));
}

Reply Service::AdminListTokens(const httplib::Request& req, const Call& call) {
  if (auto s = CheckQuery(req, {"user", "status", "limit", "cursor"}); !s.ok()) {
    return Reply::Problem(s);
  }
  projections::TokenPageQuery q;
  q.tenant = call.caller.tenant;
  q.now = clock_.NowMillis();
  if (auto user = QueryParam(req, "user")) {
    auto normalized = NormalizeUsername(*user);
    if (!normalized.ok()) return Reply::Problem(normalized.status());
    q.user = *normalized;
  }
  auto filter = StatusFilter(req);
  if (!filter.ok()) return Reply::Problem(filter.status());
  q.status = *filter;
  auto limit = LimitParam(req);
  if (!limit.ok()) return Reply::Problem(limit.status());
  q.limit = *limit;
  std::string binding =
      Binding({"admin-tokens", q.tenant, call.caller.user, q.user ? *q.user : "",
               q.status ? TokenStatusName(*q.status) : ""});
  if (auto cursor = QueryParam(req, "cursor")) {
    auto seq = cursors_.Open(binding, *cursor);
    if (!seq.ok()) return Reply::Problem(seq.status());
    q.before_mint_seq = *seq;
  }
  auto page = ProjectionState(store_.committed()).TokensPage(q);
  if (!page.ok()) return Reply::Problem(page.status());
  std::vector<std::string> items;
  for (const auto& t : page->tokens) items.push_back(TokenJson(t, q.now, usage_.LastUsed(t.id)).Render());
  JcsObject o;
  o.Raw("tokens", JsonArray(items));
  if (page->next_before_mint_seq) {
    o.Str("next_cursor", cursors_.Seal(binding, *page->next_before_mint_seq));
  } else {
    o.Null("next_cursor");
  }
  return Reply::Json(200, o);
}

Reply Service::AdminRevokeToken(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {"note"});
  if (!body.ok()) return Reply::Problem(body.status());
  auto note = ReadOptionalString(*body, "note", Code::kInvalidRequest);
  if (!note.ok()) return Reply::Problem(note.status());
  CommandContext ctx = Context(req, call.caller);
  TokenScope scope{call.caller.tenant, std::nullopt};
  std::optional<std::string_view> note_view;
  if (*note) note_view = **note;
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return DecideRevoke(s, ctx, scope, call.params[0], RevokeReason::kAdmin, note_view);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  return TokenReply(200, *d->token_id);
}

Reply Service::AdminLookup(const httplib::Request& req, const Call& call) {
  auto body = ParseObject(req.body, {"token"});
  if (!body.ok()) return Reply::Problem(body.status());
  auto value = ReadOptionalString(*body, "token", Code::kInvalidRequest);
  if (!value.ok()) return Reply::Problem(value.status());
  if (!*value) return Reply::Problem(Status(Code::kInvalidRequest, "token is required"));
  if (auto s = ValidateTokenValue(**value); !s.ok()) {
    return Reply::Problem(Status(Code::kInvalidRequest,
                                 "not a tokenlog token value: " + s.detail()));
  }
  CommandContext ctx = Context(req, call.caller);
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return DecideLookup(s, ctx, **value);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  if (!d->token_id) {
    return Reply::Problem(Status(Code::kNotFound, "no token of this tenant has this value"));
  }
  return TokenReply(200, *d->token_id);
}

Reply Service::Deactivate(const httplib::Request& req, const Call& call) {
  return UserStateChange(req, call, /*deactivate=*/true);
}

Reply Service::Reactivate(const httplib::Request& req, const Call& call) {
  return UserStateChange(req, call, /*deactivate=*/false);
}

Reply Service::UserStateChange(const httplib::Request& req, const Call& call, bool deactivate) {
  auto body = ParseObject(req.body, {});
  if (!body.ok()) return Reply::Problem(body.status());
  auto user = NormalizeUsername(call.params[0]);
  if (!user.ok()) return Reply::Problem(user.status());
  CommandContext ctx = Context(req, call.caller);
  auto d = Run([&](const StateReader& s, int64_t now) {
    ctx.now = now;
    return deactivate ? DecideDeactivate(s, ctx, *user) : DecideReactivate(s, ctx, *user);
  });
  if (!d.ok()) return Reply::Problem(d.status());
  JcsObject o;
  o.Str("user", *user);
  if (deactivate) o.Uint("revoked_tokens", d->count);
  return Reply::Json(200, o);
}

// ---- activity ----

Reply Service::Activity(const httplib::Request& req, const Call& call) {
  return ActivityPage(req, call, /*whole_tenant=*/false);
}

Reply Service::AdminActivity(const httplib::Request& req, const Call& call) {
  return ActivityPage(req, call, /*whole_tenant=*/true);
}

Reply Service::ActivityPage(const httplib::Request& req, const Call& call, bool whole_tenant) {
  // `type` may repeat; every other parameter at most once.
  for (const auto& [key, value] : req.params) {
    if (key != "type" && key != "user" && key != "token_id" && key != "since" &&
        key != "until" && key != "limit" && key != "cursor") {
      return Reply::Problem(
          Status(Code::kInvalidRequest, "unknown query parameter " + QuoteName(key)));
    }
    if (key != "type" && req.params.count(key) > 1) {
      return Reply::Problem(
          Status(Code::kInvalidRequest, "query parameter " + QuoteName(key) + " is repeated"));
    }
  }
  projections::AuditQuery q;
  q.tenant = call.caller.tenant;
  if (!whole_tenant) q.scope_user = call.caller.user;
  std::string types_text;
  auto [first, last] = req.params.equal_range("type");
  for (auto it = first; it != last; ++it) {
    std::string_view list = it->second;
    for (;;) {  // every comma-separated name, empty ones included (refused)
      size_t comma = list.find(',');
      std::string_view name = list.substr(0, comma);
      auto type = ParseEventType(name);
      if (!type) {
        return Reply::Problem(Status(Code::kInvalidRequest,
                                     "type must name event types such as token.minted"));
      }
      if (std::find(q.types.begin(), q.types.end(), *type) == q.types.end()) {
        q.types.push_back(*type);
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  std::sort(q.types.begin(), q.types.end());
  for (auto t : q.types) types_text += std::string(EventTypeName(t)) + ",";
  if (auto user = QueryParam(req, "user")) {
    auto normalized = NormalizeUsername(*user);
    if (!normalized.ok()) return Reply::Problem(normalized.status());
    q.user = *normalized;
  }
  if (auto token = QueryParam(req, "token_id")) {
    if (!IsValidTokenId(*token)) {
      return Reply::Problem(Status(Code::kInvalidRequest, "token_id must be tok_ + 16 base62"));
    }
    // API.md: on /v1/activity any token id but the caller's own is 404, for
    // admins too; on /v1/admin/activity another tenant's is 404, exactly as
    // one that does not exist.
    TokenScope scope{call.caller.tenant, std::nullopt};
    if (!whole_tenant) scope.owner = call.caller.user;
    auto found = FindInScope(ProjectionState(store_.committed()), scope, *token);
    if (!found.ok()) return Reply::Problem(found.status());
    q.token_id = *token;
  }
  for (auto [name, target] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}}) {
    if (auto raw = QueryParam(req, name)) {
      // since is inclusive, until exclusive: both round a time past the
      // millisecond up (core/time_format.h).
      auto t = ParseTime(*raw, SubMillisecond::kCeil);
      if (!t) {
        return Reply::Problem(Status(Code::kInvalidRequest,
                                     std::string(name) + " must be an RFC 3339 time"));
      }
      *target = *t;
    }
  }
  auto limit = LimitParam(req);
  if (!limit.ok()) return Reply::Problem(limit.status());
  q.limit = *limit;
  std::string binding = Binding(
      {whole_tenant ? "admin-activity" : "activity", q.tenant, call.caller.user, types_text,
       q.user ? *q.user : "", q.token_id ? *q.token_id : "",
       q.since ? std::to_string(*q.since) : "", q.until ? std::to_string(*q.until) : ""});
  if (auto cursor = QueryParam(req, "cursor")) {
    auto seq = cursors_.Open(binding, *cursor);
    if (!seq.ok()) return Reply::Problem(seq.status());
    q.before_seq = *seq;
  }
  q.scan_budget = std::max<size_t>(1000, 4 * q.limit);
  // Everything up to the head is written before the head moves (see
  // projections/audit.h).
  q.newest_seq = store_.head().seq;
  auto page = projections::FindAudit(
      store_.committed(), [this](uint64_t seq) { return store_.ReadEvent(seq); }, q);
  if (!page.ok()) return Reply::Problem(page.status());
  std::vector<std::string> items;
  for (const auto& e : page->events) items.push_back(RenderEvent(e, EventForm::kApi));
  JcsObject o;
  o.Raw("events", JsonArray(items));
  if (page->next_before_seq) {
    o.Str("next_cursor", cursors_.Seal(binding, *page->next_before_seq));
  } else {
    o.Null("next_cursor");
  }
  return Reply::Json(200, o);
}

}  // namespace tokenlog::api
