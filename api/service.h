// Service: every route of API.md, as handlers from an HTTP request to a Reply.
//
// Management routes authenticate a bearer JWT, parse and check the request,
// run the pure decision of core/commands.h through the EventStore (so the
// answer is sent only after its events are fsynced) and render the result.
// /v1/auth/check reads the committed projections and never writes.
// Thread-safe: one Service serves every HTTP worker.
#pragma once

#include <httplib.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/client_address.h"
#include "api/cursor.h"
#include "api/failure_limiter.h"
#include "api/jwt.h"
#include "api/metrics.h"
#include "api/reply.h"
#include "core/clock.h"
#include "core/commands.h"
#include "core/random.h"
#include "core/usage_ledger.h"
#include "projections/auth_index.h"
#include "storage/event_store.h"

namespace tokenlog::api {

struct ServiceConfig {
  std::string realm = "tokenlog";
  uint32_t max_active_tokens = kDefaultMaxActiveTokens;
  UsageLedgerConfig usage;  // throttles of token.used and auth.denied
  // Peers allowed to name the client in X-Forwarded-For.
  std::vector<Cidr> trusted_proxies;
  // Failed checks per minute per client address before 429 (0: no limit).
  uint32_t auth_failure_limit = 60;
};

// Client addresses the failure limiter tracks at most.
inline constexpr size_t kMaxLimitedAddresses = 100'000;

class Service {
 public:
  // All references must outlive the Service.
  Service(storage::EventStore& store, const Clock& clock, RandomSource& random,
          const JwtVerifier& jwt, Metrics& metrics, ServiceConfig config);

  virtual ~Service() = default;

  // Routes and answers one request whose body (if any) has been read. Sets
  // `route` to the matched route pattern (for metrics), or "unmatched".
  // Virtual so a test can make it throw and see what HttpServer does then.
  virtual Reply Handle(const httplib::Request& req, std::string& route);

  // The path as sent (the target before any '?'), or the decoded path of a
  // request built without a target (tests, benchmarks).
  static std::string_view RawPath(const httplib::Request& req);
  // Whether `req` is for the OData check: /v1/auth/check or below it.
  static bool IsCheck(const httplib::Request& req);

  // Appends token.expired for tokens past their expiry, in batches, until
  // none is due. Returns how many were expired. The candidates come from the
  // check's index: call Start() first.
  Result<uint32_t> ExpireDue();

  // Appends the token.used and auth.denied events that are due (every
  // pending one when `everything`, at shutdown). Counts that cannot be
  // appended stay pending.
  Status FlushUsage(bool everything);

  // Storage open and writable, projections current.
  bool Ready() const;

  // Call once, before serving and before any command runs: loads the
  // check's in-memory index and the tokenlog_active_tokens gauge (tokens
  // neither revoked nor logged as expired) from the projections, and keeps
  // both current with every commit.
  Status Start();

 private:
  // One request's routing result: path parameters and the verified caller.
  struct Call {
    std::vector<std::string> params;
    Principal caller;  // empty for unauthenticated routes
  };
  using Handler = Reply (Service::*)(const httplib::Request&, const Call&);
  struct Route {
    const char* method;
    const char* pattern;  // segments; "{x}" matches one non-empty segment
    Handler handler;
    bool authenticated;   // needs a JWT (management API)
    bool admin;           // needs role admin
  };
  static const std::vector<Route>& Routes();

  Reply Check(const httplib::Request& req);
  Reply WebPage(const httplib::Request& req, const Call& call);
  Reply Healthz(const httplib::Request& req, const Call& call);
  Reply Readyz(const httplib::Request& req, const Call& call);
  Reply MetricsText(const httplib::Request& req, const Call& call);
  Reply MintToken(const httplib::Request& req, const Call& call);
  Reply ListTokens(const httplib::Request& req, const Call& call);
  Reply GetToken(const httplib::Request& req, const Call& call);
  Reply RevokeToken(const httplib::Request& req, const Call& call);
  Reply RotateToken(const httplib::Request& req, const Call& call);
  Reply GetPolicy(const httplib::Request& req, const Call& call);
  Reply PutPolicy(const httplib::Request& req, const Call& call);
  Reply PreviewPolicy(const httplib::Request& req, const Call& call);
  Reply AdminListTokens(const httplib::Request& req, const Call& call);
  Reply AdminRevokeToken(const httplib::Request& req, const Call& call);
  Reply AdminLookup(const httplib::Request& req, const Call& call);
  Reply Deactivate(const httplib::Request& req, const Call& call);
  Reply Reactivate(const httplib::Request& req, const Call& call);
  Reply UserStateChange(const httplib::Request& req, const Call& call, bool deactivate);
  Reply Activity(const httplib::Request& req, const Call& call);
  Reply AdminActivity(const httplib::Request& req, const Call& call);
  Reply ActivityPage(const httplib::Request& req, const Call& call, bool whole_tenant);

  CommandContext Context(const httplib::Request& req, const Principal& caller) const;
  // The client's address: the peer, or X-Forwarded-For's right-most
  // untrusted hop when the peer is a trusted proxy.
  std::string ClientIp(const httplib::Request& req) const;
  // Runs a decision through the log; the Decision carries the committed events.
  template <typename DecideFn>
  Result<Decision> Run(DecideFn decide);
  // 200 (or `status`) with the token object of `token_id`.
  Reply TokenReply(int status, std::string_view token_id,
                   const std::optional<std::string>& value = std::nullopt);
  // 201 with the new token of a mint or rotation as of the mint, built from
  // its committed token.minted event (the record the projection wrote), with
  // its value. A later command of the same write group (a deactivation, a
  // policy change) may already have changed the stored token; the answer
  // shows the state its own command left, as a read after the commit would
  // have shown a later group's.
  Reply NewTokenReply(const Decision& d);

  storage::EventStore& store_;
  const Clock& clock_;
  RandomSource& random_;
  const JwtVerifier& jwt_;
  Metrics& metrics_;
  ServiceConfig config_;
  CursorSealer cursors_;
  UsageLedger usage_;
  projections::AuthIndex auth_index_;  // the check's lookups
  ClientAddressResolver addresses_;
  FailureLimiter limiter_;
  std::string challenge_;  // WWW-Authenticate for denied checks
};

}  // namespace tokenlog::api
