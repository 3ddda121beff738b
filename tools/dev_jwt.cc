// `tokenlog dev-jwt`: a JWT signed with a --dev server's key, for trying the API.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/jwt.h"
#include "core/clock.h"
#include "core/jcs.h"
#include "core/names.h"
#include "core/time_format.h"
#include "tools/commands.h"

namespace tokenlog::tools {

namespace {

struct DevJwtFlags {
  std::string data = "./data";
  std::string user;
  std::string tenant;
  std::string role = "user";
  std::string ttl = "8h";
  bool url = false;
  std::string server = "http://127.0.0.1:8080";
};

int RunDevJwt(const DevJwtFlags& f) {
  auto fail = [](const std::string& m) {
    std::cerr << "tokenlog dev-jwt: " << m << std::endl;
    return 2;
  };
  auto user = NormalizeUsername(f.user);
  if (!user.ok()) return fail("--user: " + user.status().detail());
  if (!IsValidTenant(f.tenant)) return fail("--tenant: expected [a-z0-9][a-z0-9-]{0,62}");
  if (f.role != "user" && f.role != "admin") return fail("--role: user or admin");
  auto ttl = ParseDurationMillis(f.ttl);
  if (!ttl) return fail("--ttl: not a duration (e.g. 30m, 8h, 7d)");
  std::string path = (std::filesystem::path(f.data) / kDevSecretFile).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("no " + path + ": start `tokenlog serve --dev --data " + f.data +
                "` once to create it");
  }
  std::ostringstream s;
  s << in.rdbuf();
  std::string secret = s.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  int64_t now = SystemClock().NowMillis() / 1000;
  JcsObject claims;
  claims.Str("sub", *user).Str("tenant", f.tenant).Str("role", f.role);
  claims.Int("iat", now).Int("exp", now + *ttl / 1000);
  std::string jwt = api::SignJwtHs256(claims.Render(), secret);
  if (f.url) {
    std::string base = f.server;
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::cout << base << "/#jwt=" << jwt << std::endl;
  } else {
    std::cout << jwt << std::endl;
  }
  return 0;
}

}  // namespace

void AddDevJwt(CLI::App& app, std::function<int()>* run) {
  auto flags = std::make_shared<DevJwtFlags>();
  auto* cmd = app.add_subcommand("dev-jwt", "Print a JWT signed with a --dev server's key");
  cmd->add_option("--data", flags->data, "the --dev server's data directory")
      ->capture_default_str();
  cmd->add_option("--user", flags->user, "sub: the username")->required();
  cmd->add_option("--tenant", flags->tenant, "tenant id")->required();
  cmd->add_option("--role", flags->role, "user or admin")->capture_default_str();
  cmd->add_option("--ttl", flags->ttl, "lifetime (30m, 8h, 7d)")->capture_default_str();
  cmd->add_flag("--url", flags->url, "print a link to the web page, signed in");
  cmd->add_option("--server", flags->server, "base URL for --url")->capture_default_str();
  cmd->callback([flags, run] { *run = [flags] { return RunDevJwt(*flags); }; });
}

}  // namespace tokenlog::tools
