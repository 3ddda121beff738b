// The incident tools: events, as-of, timeline, verify, rebuild, backup.
//
// Every read command opens the data directory as a RocksDB secondary
// instance, so it works on a running server's data (a consistent state as of
// the moment it opened) and on a stopped one or a backup alike. `rebuild`
// needs the server stopped (it takes the database lock).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <set>

#include "api/views.h"
#include "core/bytes.h"
#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/names.h"
#include "core/sha256.h"
#include "core/time_format.h"
#include "core/token_codec.h"
#include "projections/audit.h"
#include "projections/memory_keyspaces.h"
#include "projections/state_view.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"
#include "tools/commands.h"

namespace tokenlog::tools {

namespace {

using projections::MemoryKeyspaces;
using projections::ProjectionState;
using projections::TokenProjector;
using storage::EventStore;
using storage::OpenMode;

int Fail(const std::string& command, const std::string& message) {
  std::cerr << "tokenlog " << command << ": " << message << std::endl;
  return 2;
}

Result<std::unique_ptr<EventStore>> OpenForReading(const std::string& data,
                                                   const Projector& projector,
                                                   const Clock& clock) {
  return EventStore::Open(data, OpenMode::kSecondary, projector, clock);
}

// Prints rows as an aligned table (terminal) — widths from the rows.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  };
  print(header);
  for (const auto& r : rows) print(r);
  std::cout.flush();
}

std::vector<std::string> EventRow(const Event& e) {
  std::string actor(ActorRoleName(e.actor.role));
  if (e.actor.user) actor += ":" + *e.actor.user;
  return {std::to_string(e.seq), FormatTime(e.time), std::string(EventTypeName(e.type())),
          e.tenant, e.user.value_or("-"), e.token_id.value_or("-"), actor};
}

const std::vector<std::string> kEventHeader = {"SEQ",  "TIME",     "TYPE", "TENANT",
                                               "USER", "TOKEN_ID", "ACTOR"};

// Prints events: JSON lines (with prev_hash and hash) or a table.
class EventPrinter {
 public:
  explicit EventPrinter(bool json) : json_(json) {}
  void Add(const Event& e) {
    if (json_) {
      std::cout << RenderEvent(e, EventForm::kLog) << '\n';
    } else {
      rows_.push_back(EventRow(e));
    }
  }
  void Finish() {
    if (json_) {
      std::cout.flush();
    } else {
      PrintTable(kEventHeader, rows_);
    }
  }

 private:
  bool json_;
  std::vector<std::vector<std::string>> rows_;
};

// --since (inclusive) or --until (exclusive), as the activity API reads them:
// a time past the millisecond rounds up (core/time_format.h).
std::optional<int64_t> TimeFlag(const std::string& text, const std::string& name,
                                std::string* error) {
  if (text.empty()) return std::nullopt;
  auto t = ParseTime(text, SubMillisecond::kCeil);
  if (!t) *error = name + ": not an RFC 3339 time";
  return t;
}

// What is wrong with a --token flag that is not a token id, or "".
std::string TokenFlagError(const std::string& token) {
  return IsValidTokenId(token) ? "" : "--token: not a token id (tok_ and 16 letters or digits)";
}

// --tenant, --user and --token as the API reads them: a tenant id, a
// username (compared lower-cased, like everywhere else), a token id. Empty
// means not given. Returns what is wrong, or "".
std::string NormalizeSubject(std::string& tenant, std::string& user, const std::string& token) {
  if (!tenant.empty() && !IsValidTenant(tenant)) {
    return "--tenant: not a tenant id ([a-z0-9][a-z0-9-]{0,62})";
  }
  if (!user.empty()) {
    auto normalized = NormalizeUsername(user);
    if (!normalized.ok()) return "--user: " + normalized.status().detail();
    user = std::move(normalized).value();
  }
  return token.empty() ? "" : TokenFlagError(token);
}

// ---- events ----

struct EventsFlags {
  std::string data = "./data";
  uint64_t from_seq = 1;
  uint64_t to_seq = UINT64_MAX;
  std::string since, until, tenant, user, token;
  std::vector<std::string> types;
  bool json = false;
};

int RunEvents(EventsFlags f) {
  std::string error = NormalizeSubject(f.tenant, f.user, f.token);
  if (!error.empty()) return Fail("events", error);
  auto since = TimeFlag(f.since, "--since", &error);
  auto until = TimeFlag(f.until, "--until", &error);
  if (!error.empty()) return Fail("events", error);
  std::set<EventType> types;
  for (const auto& list : f.types) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string name = list.substr(start, comma == std::string::npos ? comma : comma - start);
      auto t = ParseEventType(name);
      if (!t) return Fail("events", "--type: unknown event type " + name);
      types.insert(*t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  SystemClock clock;
  TokenProjector projector;
  auto store = OpenForReading(f.data, projector, clock);
  if (!store.ok()) return Fail("events", store.status().ToString());
  EventPrinter printer(f.json);
  auto scanned = (*store)->ScanDecoded(f.from_seq, [&](const Event& e) {
    if (e.seq > f.to_seq) return false;
    if (until && e.time >= *until) return false;  // times never decrease along the log
    if (since && e.time < *since) return true;
    if (!f.tenant.empty() && e.tenant != f.tenant) return true;
    if (!f.user.empty() && !projections::Involves(e, f.user)) return true;
    if (!f.token.empty() && e.token_id != f.token) return true;
    if (!types.empty() && !types.count(e.type())) return true;
    printer.Add(e);
    return true;
  });
  printer.Finish();
  if (!scanned.ok()) return Fail("events", scanned.ToString());
  return 0;
}

// ---- as-of ----

struct AsOfFlags {
  std::string data = "./data";
  std::string at, tenant, user;
  bool json = false;
  uint32_t max_active_tokens = 5;
};

int RunAsOf(AsOfFlags f) {
  if (f.tenant.empty()) return Fail("as-of", "--tenant: a tenant id is required");
  if (auto error = NormalizeSubject(f.tenant, f.user, ""); !error.empty()) {
    return Fail("as-of", error);
  }
  auto at = ParseTime(f.at);
  if (!at) return Fail("as-of", "--at: not an RFC 3339 time");
  SystemClock clock;
  TokenProjector projector;
  auto store = OpenForReading(f.data, projector, clock);
  if (!store.ok()) return Fail("as-of", store.status().ToString());
  // Replay the log up to --at (inclusive) with the live apply.
  MemoryKeyspaces mem;
  Status failed;
  auto scanned = (*store)->ScanDecoded(1, [&](const Event& e) {
    if (e.time > *at) return false;
    failed = projector.Apply(e, mem);
    return failed.ok();
  });
  if (!scanned.ok()) return Fail("as-of", scanned.ToString());
  if (!failed.ok()) return Fail("as-of", failed.ToString());
  ProjectionState state(mem);
  auto tokens = f.user.empty() ? state.TenantTokens(f.tenant) : state.UserTokens(f.tenant, f.user);
  auto policy = state.PolicyOf(f.tenant);
  if (!tokens.ok()) return Fail("as-of", tokens.status().ToString());
  if (!policy.ok()) return Fail("as-of", policy.status().ToString());
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : *tokens) {
    if (t.StatusAt(*at) != TokenStatus::kActive) continue;
    if (f.json) {
      std::cout << api::TokenJson(t, *at).Render() << '\n';
    } else {
      rows.push_back({t.id, t.user, t.label, FormatTime(t.created_at),
                      t.expires_at ? FormatTime(*t.expires_at) : "never", t.hint});
    }
  }
  if (f.json) {
    std::cout << JcsObject().Obj("policy", api::PolicyJson(*policy, f.max_active_tokens)).Render()
              << std::endl;
    return 0;
  }
  std::cout << "Tokens of tenant " << f.tenant << (f.user.empty() ? "" : " user " + f.user)
            << " that could authenticate at " << FormatTime(*at) << ":\n";
  PrintTable({"ID", "USER", "LABEL", "CREATED", "EXPIRES", "HINT"}, rows);
  const auto& p = *policy;
  std::cout << "\nPolicy in force: max_lifetime_days "
            << (p.limits.max_lifetime_days ? std::to_string(*p.limits.max_lifetime_days) : "none")
            << ", default_lifetime_days " << p.limits.default_lifetime_days << ", version "
            << p.version << std::endl;
  return 0;
}

// ---- timeline ----

struct TimelineFlags {
  std::string data = "./data";
  std::string token, token_value, token_sha256;
  bool json = false;
};

int RunTimeline(const TimelineFlags& f) {
  int given = !f.token.empty() + !f.token_value.empty() + !f.token_sha256.empty();
  if (given != 1) {
    return Fail("timeline", "give exactly one of --token, --token-value, --token-sha256");
  }
  if (!f.token.empty()) {
    if (auto error = TokenFlagError(f.token); !error.empty()) return Fail("timeline", error);
  }
  SystemClock clock;
  TokenProjector projector;
  auto store = OpenForReading(f.data, projector, clock);
  if (!store.ok()) return Fail("timeline", store.status().ToString());
  ProjectionState state((*store)->committed());
  std::string id = f.token;
  if (id.empty()) {
    Digest digest{};
    if (!f.token_value.empty()) {
      // Hashed here; the value is never printed.
      if (auto s = ValidateTokenValue(f.token_value); !s.ok()) return Fail("timeline", s.detail());
      digest = Sha256(f.token_value);
    } else if (!ParseHexDigest(f.token_sha256, &digest)) {
      return Fail("timeline", "--token-sha256: expected 64 hex digits");
    }
    auto found = state.TokenIdByHash(digest);
    if (!found.ok()) return Fail("timeline", found.status().ToString());
    if (!*found) {
      std::cerr << "tokenlog timeline: no token has this value" << std::endl;
      return 1;
    }
    id = **found;
  }
  auto token = state.Token(id);
  if (!token.ok()) return Fail("timeline", token.status().ToString());
  if (!*token) {
    std::cerr << "tokenlog timeline: no token " << id << std::endl;
    return 1;
  }
  // The mint (it has no row in the token's audit index), then that index,
  // oldest first.
  std::string prefix = (*token)->tenant + '\0' + id + '\0';
  EventPrinter printer(f.json);
  Status failed;
  auto minted = (*store)->ReadEvent((*token)->mint_seq);
  if (!minted.ok()) return Fail("timeline", minted.status().ToString());
  if (!*minted) return Fail("timeline", "the token's record names a missing mint event");
  printer.Add(**minted);
  auto scanned = (*store)->committed().Scan(
      Keyspace::kAuditToken, prefix, "", false, [&](std::string_view key, std::string_view) {
        auto e = (*store)->ReadEvent(DecodeU64(key.substr(key.size() - 8)));
        if (!e.ok() || !*e) {
          failed = e.ok() ? Status(Code::kCorruption, "index names a missing event") : e.status();
          return false;
        }
        printer.Add(**e);
        return true;
      });
  if (!f.json) {
    const TokenRecord& t = **token;
    std::cout << "Token " << t.id << " \"" << t.label << "\" of " << t.user << " (" << t.tenant
              << "), " << t.hint << ", now " << TokenStatusName(t.StatusAt(clock.NowMillis()))
              << "\n";
  }
  printer.Finish();
  if (!scanned.ok()) return Fail("timeline", scanned.ToString());
  if (!failed.ok()) return Fail("timeline", failed.ToString());
  return 0;
}

// ---- verify ----

struct VerifyFlags {
  std::string data = "./data";
};

int RunVerify(const VerifyFlags& f) {
  SystemClock clock;
  TokenProjector projector;
  auto store = OpenForReading(f.data, projector, clock);
  if (!store.ok()) return Fail("verify", store.status().ToString());
  MemoryKeyspaces mem;
  uint64_t expected = 1;
  Digest prev{};
  std::optional<uint64_t> bad_seq;
  std::string problem;
  auto scanned = (*store)->ScanEvents(1, [&](uint64_t seq, std::string_view raw) {
    auto fail = [&](uint64_t at, std::string why) {
      bad_seq = at;
      problem = std::move(why);
      return false;
    };
    if (seq != expected) {
      return fail(expected, "seq " + std::to_string(expected) + " is missing (next is " +
                                std::to_string(seq) + ")");
    }
    auto e = DecodeEvent(raw);
    if (!e.ok()) return fail(seq, e.status().detail());
    if (e->seq != seq) return fail(seq, "the event says seq " + std::to_string(e->seq));
    if (e->prev_hash != prev) return fail(seq, "prev_hash is not the previous event's hash");
    if (ComputeEventHash(*e) != e->hash) {
      return fail(seq, "hash does not match the event's contents");
    }
    if (auto s = projector.Apply(*e, mem); !s.ok()) return fail(seq, s.detail());
    prev = e->hash;
    ++expected;
    return true;
  });
  if (!scanned.ok()) {
    std::cout << "log unreadable: " << scanned.ToString() << "\nfirst bad seq: " << expected
              << std::endl;
    return 1;
  }
  if (bad_seq) {
    std::cout << "log broken at seq " << *bad_seq << ": " << problem
              << "\nfirst bad seq: " << *bad_seq << std::endl;
    return 1;
  }
  const uint64_t events = expected - 1;
  // Projections must equal the fresh replay, byte for byte.
  for (size_t i = 0; i < kKeyspaceCount; ++i) {
    auto ks = static_cast<Keyspace>(i);
    const auto& want = mem.keyspace(ks);
    auto it = want.begin();
    std::optional<std::string> diff;
    auto s = (*store)->committed().Scan(ks, "", "", false,
                                        [&](std::string_view k, std::string_view v) {
                                          if (it == want.end() || it->first != k) {
                                            diff = "stored key " + HexLower(reinterpret_cast<const uint8_t*>(k.data()), k.size()) + " is not in the replay";
                                            return false;
                                          }
                                          if (it->second != v) {
                                            diff = "value of key " + HexLower(reinterpret_cast<const uint8_t*>(k.data()), k.size()) + " differs from the replay";
                                            return false;
                                          }
                                          ++it;
                                          return true;
                                        });
    if (!s.ok()) return Fail("verify", s.ToString());
    if (!diff && it != want.end()) diff = "the replay has keys that are not stored";
    if (diff) {
      std::cout << "projection " << KeyspaceName(ks) << " differs from a fresh replay of the "
                << events << " events: " << *diff
                << "\nrun `tokenlog rebuild` with the server stopped to recreate it" << std::endl;
      return 1;
    }
  }
  auto head = (*store)->head();
  std::cout << "ok: " << events << " events, seq 1.." << events << " gap-free, hash chain intact"
            << (events ? " (head " + HexLower(head.hash) + ")" : "")
            << ", projections equal a fresh replay" << std::endl;
  return 0;
}

// ---- rebuild ----

struct RebuildFlags {
  std::string data = "./data";
};

int RunRebuild(const RebuildFlags& f) {
  // Opening read-write creates a store where there is none: a mistyped
  // --data would get an empty one and a report of 0 events rebuilt.
  if (!EventStore::HoldsStore(f.data)) {
    return Fail("rebuild", "no tokenlog store in " + f.data + " (no CURRENT file)");
  }
  SystemClock clock;
  TokenProjector projector;
  auto store = EventStore::Open(f.data, OpenMode::kReadWrite, projector, clock);
  if (!store.ok()) {
    if (store.status().code() == Code::kInvalidRequest) return Fail("rebuild", store.status().ToString());
    return Fail("rebuild", store.status().ToString() +
                               " (rebuild needs the server stopped: it takes the database lock)");
  }
  const bool tty = ::isatty(STDERR_FILENO);
  auto progress = [&](uint64_t done, uint64_t total) {
    if (!tty) return;
    int pct = total ? static_cast<int>(done * 100 / total) : 100;
    int bar = pct * 30 / 100;
    std::fprintf(stderr, "\rrebuilding [%s%s] %3d%% %llu/%llu events", std::string(bar, '#').c_str(),
                 std::string(30 - bar, ' ').c_str(), pct, static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total));
    std::fflush(stderr);
  };
  auto s = (*store)->Rebuild(progress);
  if (tty) std::fprintf(stderr, "\n");
  if (!s.ok()) return Fail("rebuild", s.ToString());
  std::cout << "rebuilt every projection from " << (*store)->head().seq << " events" << std::endl;
  return 0;
}

// ---- backup ----

struct BackupFlags {
  std::string data = "./data";
  std::string to;
};

int RunBackup(const BackupFlags& f) {
  SystemClock clock;
  TokenProjector projector;
  auto head = EventStore::Backup(f.data, f.to, projector, clock);
  if (!head.ok()) return Fail("backup", head.status().ToString());
  std::cout << "backup of " << head->seq << " events in " << f.to
            << (head->seq ? " (head " + HexLower(head->hash) + ")" : "") << std::endl;
  return 0;
}

}  // namespace

void AddLogCommands(CLI::App& app, std::function<int()>* run) {
  {
    auto f = std::make_shared<EventsFlags>();
    auto* cmd = app.add_subcommand("events", "Print the log, filtered (ascending seq)");
    cmd->add_option("--data", f->data, "data directory (live or a backup)")->capture_default_str();
    cmd->add_option("--from-seq", f->from_seq, "first seq");
    cmd->add_option("--to-seq", f->to_seq, "last seq");
    cmd->add_option("--since", f->since, "from this time (inclusive, RFC 3339)");
    cmd->add_option("--until", f->until, "before this time (exclusive, RFC 3339)");
    cmd->add_option("--tenant", f->tenant, "only this tenant");
    cmd->add_option("--user", f->user, "only events whose actor or subject is this user");
    cmd->add_option("--token", f->token, "only events of this token id");
    cmd->add_option("--type", f->types, "event types (repeatable or a comma list)");
    cmd->add_flag("--json", f->json, "JSON lines, with prev_hash and hash");
    cmd->callback([f, run] { *run = [f] { return RunEvents(*f); }; });
  }
  {
    auto f = std::make_shared<AsOfFlags>();
    auto* cmd = app.add_subcommand(
        "as-of", "The tokens that could authenticate at a past time, and the policy then");
    cmd->add_option("--data", f->data, "data directory (live or a backup)")->capture_default_str();
    cmd->add_option("--at", f->at, "the time (RFC 3339), inclusive")->required();
    cmd->add_option("--tenant", f->tenant, "tenant id")->required();
    cmd->add_option("--user", f->user, "only this user's tokens");
    cmd->add_option("--max-active-tokens", f->max_active_tokens,
                    "the server's cap, for the printed policy")
        ->capture_default_str();
    cmd->add_flag("--json", f->json, "one token object per line, then {\"policy\": …}");
    cmd->callback([f, run] { *run = [f] { return RunAsOf(*f); }; });
  }
  {
    auto f = std::make_shared<TimelineFlags>();
    auto* cmd = app.add_subcommand("timeline", "One token's whole story (never prints a value)");
    cmd->add_option("--data", f->data, "data directory (live or a backup)")->capture_default_str();
    cmd->add_option("--token", f->token, "token id (tok_…)");
    cmd->add_option("--token-value", f->token_value, "a found value, hashed locally");
    cmd->add_option("--token-sha256", f->token_sha256, "the value's SHA-256 (hex)");
    cmd->add_flag("--json", f->json, "JSON lines, with prev_hash and hash");
    cmd->callback([f, run] { *run = [f] { return RunTimeline(*f); }; });
  }
  {
    auto f = std::make_shared<VerifyFlags>();
    auto* cmd = app.add_subcommand(
        "verify", "Check seq continuity, the hash chain, and projections against a replay");
    cmd->add_option("--data", f->data, "data directory (live or a backup)")->capture_default_str();
    cmd->callback([f, run] { *run = [f] { return RunVerify(*f); }; });
  }
  {
    auto f = std::make_shared<RebuildFlags>();
    auto* cmd = app.add_subcommand("rebuild",
                                   "Offline: drop and rebuild every projection from the log");
    cmd->add_option("--data", f->data, "data directory of a stopped server")
        ->capture_default_str();
    cmd->callback([f, run] { *run = [f] { return RunRebuild(*f); }; });
  }
  {
    auto f = std::make_shared<BackupFlags>();
    auto* cmd = app.add_subcommand(
        "backup", "A consistent copy, taken while the server runs, that serve --data accepts");
    cmd->add_option("--data", f->data, "data directory (live or not)")->capture_default_str();
    cmd->add_option("--to", f->to, "destination directory (absent or empty)")->required();
    cmd->callback([f, run] { *run = [f] { return RunBackup(*f); }; });
  }
}

}  // namespace tokenlog::tools
