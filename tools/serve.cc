// `tokenlog serve`: the HTTP service on a data directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>

#include "api/http_server.h"
#include "api/jwt.h"
#include "api/metrics.h"
#include "api/service.h"
#include "core/sha256.h"
#include "core/time_format.h"
#include "projections/token_projector.h"
#include "storage/event_store.h"
#include "tools/commands.h"

namespace tokenlog::tools {

namespace {

constexpr int64_t kUsageFlushMillis = 2000;

struct ServeFlags {
  std::string data = "./data";
  std::string listen = "127.0.0.1:8080";
  bool dev = false;
  std::string hs256_secret_file;
  std::string rs256_public_key;
  std::string issuer;
  std::string audience;
  std::string tls_cert;
  std::string tls_key;
  std::string realm = "tokenlog";
  uint32_t max_active_tokens = 5;
  std::string sweep_interval = "30s";
  std::string usage_interval = "10m";
  int threads = 64;
  int listen_backlog = 4096;
  size_t max_body_bytes = 65536;
  std::string trusted_proxies;
  uint32_t auth_failure_limit = 60;
  // HTTP connection limits beyond API.md's table (api::HttpLimits).
  std::string read_timeout = "10s";
  std::string write_timeout = "10s";
  std::string keep_alive_timeout = "5s";
  size_t max_header_bytes = 16384;
  size_t max_header_count = 100;
  std::string testing_clock_offset;  // end-to-end tests only: ages tokens
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string StripTrailingWhitespace(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// DIR/dev-jwt.secret, created (mode 0600, 32 random bytes as hex) when missing.
Result<std::string> DevSecret(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / kDevSecretFile).string();
  if (auto existing = ReadFile(path)) return StripTrailingWhitespace(*existing);
  uint8_t raw[32];
  CryptoRandom random;
  if (!random.Fill(raw, sizeof(raw))) return Status(Code::kUnavailable, "no randomness");
  std::string secret = HexLower(raw, sizeof(raw));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status(Code::kUnavailable, "cannot create " + path);
  std::string line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status(Code::kUnavailable, "cannot write " + path);
  return secret;
}

bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  std::string p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *port = std::stoi(p);
  return *port <= 65535;
}

bool ValidRealm(const std::string& realm) {
  if (realm.empty() || realm.size() > 200) return false;
  for (char c : realm) {
    if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') return false;
  }
  return true;
}

int Fail(const std::string& message) {
  std::cerr << "tokenlog serve: " << message << std::endl;
  return 2;
}

int RunServe(const ServeFlags& f) {
  auto sweep = ParseDurationMillis(f.sweep_interval);
  if (!sweep) return Fail("--sweep-interval: not a duration (e.g. 30s, 10m, 8h, 7d)");
  auto usage_interval = ParseDurationMillis(f.usage_interval);
  if (!usage_interval) return Fail("--usage-interval: not a duration (e.g. 30s, 10m, 8h, 7d)");
  if (!ValidRealm(f.realm)) return Fail("--realm: printable ASCII without quotes or backslashes");
  if (f.max_active_tokens < 1) return Fail("--max-active-tokens must be at least 1");
  if (f.threads < 1 || f.threads > 4096) return Fail("--threads must be 1..4096");
  if (f.listen_backlog < 1) return Fail("--listen-backlog must be at least 1");
  if (f.max_body_bytes < 1) return Fail("--max-body-bytes must be at least 1");
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return Fail("--tls-cert and --tls-key go together");
  }
  api::HttpLimits limits;
  for (auto [flag, text, target] :
       {std::tuple{"--read-timeout", &f.read_timeout, &limits.read_timeout_seconds},
        std::tuple{"--write-timeout", &f.write_timeout, &limits.write_timeout_seconds},
        std::tuple{"--keep-alive-timeout", &f.keep_alive_timeout,
                   &limits.keep_alive_timeout_seconds}}) {
    auto ms = ParseDurationMillis(*text);
    if (!ms || *ms < 1000) return Fail(std::string(flag) + ": a duration of at least 1s");
    *target = static_cast<time_t>(*ms / 1000);
  }
  if (f.max_header_bytes < 1024) return Fail("--max-header-bytes must be at least 1024");
  if (f.max_header_count < 8) return Fail("--max-header-count must be at least 8");
  limits.max_header_bytes = f.max_header_bytes;
  limits.max_header_count = f.max_header_count;
  std::string host;
  int port = 0;
  if (!SplitHostPort(f.listen, &host, &port)) return Fail("--listen: expected HOST:PORT");

  api::JwtConfig jwt_config;
  if (!f.hs256_secret_file.empty()) {
    auto secret = ReadFile(f.hs256_secret_file);
    if (!secret) return Fail("--jwt-hs256-secret-file: cannot read " + f.hs256_secret_file);
    jwt_config.hs256_secret = StripTrailingWhitespace(*secret);
  }
  if (!f.rs256_public_key.empty()) {
    auto pem = ReadFile(f.rs256_public_key);
    if (!pem) return Fail("--jwt-rs256-public-key: cannot read " + f.rs256_public_key);
    jwt_config.rs256_public_key_pem = *pem;
  }
  const bool dev_key = !jwt_config.hs256_secret && !jwt_config.rs256_public_key_pem;
  if (dev_key && !f.dev) {
    return Fail("no JWT key: pass --jwt-hs256-secret-file or --jwt-rs256-public-key, or --dev "
                "to try tokenlog with a generated development key");
  }
  if (!f.issuer.empty()) jwt_config.issuer = f.issuer;
  if (!f.audience.empty()) jwt_config.audience = f.audience;
  // A key that cannot be used stops the start before the data directory is
  // created (the dev key is made in it, so its verifier comes once it exists).
  std::unique_ptr<api::JwtVerifier> verifier;
  auto make_verifier = [&]() -> Status {
    TL_ASSIGN_OR_RETURN(verifier, api::JwtVerifier::Create(jwt_config));
    return Status();
  };
  if (!dev_key) {
    if (auto s = make_verifier(); !s.ok()) return Fail(s.detail());
  }
  auto trusted = api::ParseCidrList(f.trusted_proxies);
  if (!trusted.ok()) return Fail("--trusted-proxies: " + trusted.status().detail());
  int64_t clock_offset = 0;
  if (!f.testing_clock_offset.empty()) {
    auto offset = ParseDurationMillis(f.testing_clock_offset);
    if (!offset) return Fail("--testing-clock-offset: not a duration");
    clock_offset = *offset;
    std::cerr << "tokenlog serve: TESTING: the clock runs " << f.testing_clock_offset
              << " ahead of the system clock" << std::endl;
  }
  if (!f.tls_cert.empty()) {
    if (auto s = api::HttpServer::CheckTls(f.tls_cert, f.tls_key); !s.ok()) return Fail(s.detail());
  }
  // Every flag is checked above: a start refused for a flag leaves no data
  // directory behind.
  std::error_code ec;
  std::filesystem::create_directories(f.data, ec);
  if (ec) return Fail("cannot create the data directory " + f.data + ": " + ec.message());
  // Besides a store's own files, only the dev key and a volume's lost+found.
  if (auto s = storage::EventStore::CheckNewStoreDirectory(f.data, {kDevSecretFile, "lost+found"});
      !s.ok()) {
    return Fail(s.detail());
  }

  if (dev_key) {
    auto secret = DevSecret(f.data);
    if (!secret.ok()) return Fail(secret.status().detail());
    jwt_config.hs256_secret = *secret;
    if (auto s = make_verifier(); !s.ok()) return Fail(s.detail());
    std::cerr << "tokenlog serve: --dev: HS256 key in "
              << (std::filesystem::path(f.data) / kDevSecretFile).string()
              << "; get a JWT with: tokenlog dev-jwt --data " << f.data
              << " --user you@example.com --tenant acme [--role admin]" << std::endl;
  }
  if (f.issuer.empty() || f.audience.empty()) {
    std::cerr << "tokenlog serve: warning: --jwt-issuer and/or --jwt-audience not set; any JWT "
                 "signed with the configured key is accepted whatever its iss/aud"
              << std::endl;
  }

  OffsetClock clock(clock_offset);
  CryptoRandom random;
  projections::TokenProjector projector;
  auto store = storage::EventStore::Open(f.data, storage::OpenMode::kReadWrite, projector, clock);
  if (!store.ok()) return Fail(store.status().detail());

  api::Metrics metrics;
  api::ServiceConfig config;
  config.realm = f.realm;
  config.max_active_tokens = f.max_active_tokens;
  config.usage.usage_interval_ms = *usage_interval;
  config.auth_failure_limit = f.auth_failure_limit;
  config.trusted_proxies = std::move(trusted).value();
  api::Service service(**store, clock, random, *verifier, metrics, config);
  if (auto s = service.Start(); !s.ok()) return Fail(s.detail());

  limits.max_body_bytes = f.max_body_bytes;
  limits.listen_backlog = f.listen_backlog;
  limits.threads = f.threads;
  api::HttpServer server(service, metrics, limits);
  if (!f.tls_cert.empty()) {
    if (auto s = server.EnableTls(f.tls_cert, f.tls_key); !s.ok()) return Fail(s.detail());
  }
  std::string error;
  int bound = server.Bind(host, port, &error);
  if (bound < 0) return Fail(error);

  // Signals and the expiry sweeper run on one Asio thread. SIGHUP (a closed
  // terminal, `make run` over a dropped SSH session) stops as cleanly as
  // SIGTERM: pending usage is flushed, not lost.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::atomic<bool> serve_returned{false};
  signals.async_wait([&](const boost::system::error_code& err, int) {
    if (err) return;
    // A signal just after "listening on" may come before Serve() runs, when
    // httplib's stop() does nothing and the server would then run on: wait
    // until it runs (or has already returned).
    while (!server.is_running() && !serve_returned.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    server.stop();
  });
  boost::asio::steady_timer timer(io);
  std::function<void()> schedule = [&] {
    timer.expires_after(std::chrono::milliseconds(*sweep));
    timer.async_wait([&](const boost::system::error_code& err) {
      if (err) return;
      auto expired = service.ExpireDue();
      if (!expired.ok()) {
        std::cerr << "tokenlog serve: expiry sweep failed: " << expired.status().ToString()
                  << std::endl;
      }
      schedule();
    });
  };
  schedule();
  // Usage and denials are folded in memory and appended every couple of
  // seconds (each token at most once per --usage-interval), never on the
  // check's path.
  boost::asio::steady_timer usage_timer(io);
  std::function<void()> schedule_usage = [&] {
    usage_timer.expires_after(std::chrono::milliseconds(kUsageFlushMillis));
    usage_timer.async_wait([&](const boost::system::error_code& err) {
      if (err) return;
      if (auto s = service.FlushUsage(false); !s.ok()) {
        std::cerr << "tokenlog serve: usage flush failed: " << s.ToString() << std::endl;
      }
      schedule_usage();
    });
  };
  schedule_usage();
  std::thread io_thread([&] { io.run(); });

  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "listening on " << (server.tls() ? "https" : "http") << "://" << shown_host << ":" << bound << std::endl;
  bool served = server.Serve();
  serve_returned = true;
  io.stop();
  io_thread.join();
  if (auto s = service.FlushUsage(true); !s.ok()) {
    std::cerr << "tokenlog serve: final usage flush failed: " << s.ToString() << std::endl;
  }
  (*store)->Close();
  if (!served && !error.empty()) return Fail(error);
  std::cerr << "tokenlog serve: stopped" << std::endl;
  return 0;
}

}  // namespace

void AddServe(CLI::App& app, std::function<int()>* run) {
  auto flags = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand("serve", "Run the HTTP service on a data directory");
  auto opt = [&](const std::string& name, auto& target, const std::string& help) {
    std::string env = "TOKENLOG_" + name.substr(2);
    for (auto& c : env) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
    return cmd->add_option(name, target, help)->envname(env)
        ->capture_default_str();
  };
  opt("--data", flags->data, "RocksDB data directory, created if missing");
  opt("--listen", flags->listen, "HOST:PORT to listen on; port 0 picks a free port");
  cmd->add_flag("--dev", flags->dev,
                "trying it out: use (creating) DATA/dev-jwt.secret as the HS256 key when no key "
                "is configured")
      ->envname("TOKENLOG_DEV");
  opt("--jwt-hs256-secret-file", flags->hs256_secret_file, "HS256 key file");
  opt("--jwt-rs256-public-key", flags->rs256_public_key, "PEM public key file for RS256");
  opt("--jwt-issuer", flags->issuer, "required iss claim");
  opt("--jwt-audience", flags->audience, "required aud claim");
  opt("--tls-cert", flags->tls_cert, "TLS certificate (PEM)");
  opt("--tls-key", flags->tls_key, "TLS private key (PEM)");
  opt("--realm", flags->realm, "Basic realm of WWW-Authenticate on /v1/auth/check");
  opt("--max-active-tokens", flags->max_active_tokens, "active tokens per user");
  opt("--sweep-interval", flags->sweep_interval, "how often expired tokens are logged");
  opt("--usage-interval", flags->usage_interval, "at most one token.used per token per interval");
  opt("--threads", flags->threads, "HTTP worker threads (each holds one connection)");
  opt("--listen-backlog", flags->listen_backlog, "listening socket backlog");
  opt("--max-body-bytes", flags->max_body_bytes, "larger request bodies get 413");
  opt("--trusted-proxies", flags->trusted_proxies, "CIDRs allowed to set X-Forwarded-For");
  opt("--auth-failure-limit", flags->auth_failure_limit,
      "failed checks per minute per client address before 429");
  opt("--read-timeout", flags->read_timeout,
      "a request must arrive within this once its connection is open");
  opt("--write-timeout", flags->write_timeout, "a client must take a response within this");
  opt("--keep-alive-timeout", flags->keep_alive_timeout,
      "an idle keep-alive connection is closed after this (each holds a worker thread)");
  opt("--max-header-bytes", flags->max_header_bytes,
      "request line and headers at most this many bytes, else 431");
  opt("--max-header-count", flags->max_header_count, "at most this many header fields, else 431");
  opt("--testing-clock-offset", flags->testing_clock_offset,
      "end-to-end tests only: run the service's clock this far ahead (e.g. 100d)");
  cmd->callback([flags, run] { *run = [flags] { return RunServe(*flags); }; });
}

}  // namespace tokenlog::tools
