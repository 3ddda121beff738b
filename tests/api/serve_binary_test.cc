// `tokenlog serve` as a real subprocess: start-up line, dev key, env flags,
// SIGTERM shutdown and a restart on the same data directory.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <rocksdb/db.h>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <httplib.h>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/temp_dir.h"

extern char** environ;

namespace {

using tokenlog::testing::TempDir;
namespace json = boost::json;

// Generous bounds so that a broken binary fails the test instead of hanging
// it; no assertion depends on how fast anything is.
constexpr int kGuardMillis = 60'000;

std::string Base64(const std::string& in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out += "=";
  }
  return out;
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The environment without any TOKENLOG_* variable, plus `extra`.
std::vector<std::string> ChildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "TOKENLOG_", 9) != 0) env.emplace_back(*e);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// A child process of TOKENLOG_BINARY with its stdout on a pipe and its
// stderr in a file. The destructor kills and reaps it if it still runs, so a
// failed assertion never leaves a server behind.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
    err_path_ = (std::filesystem::path(logs_.path()) / "stderr.txt").string();
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv_s = {TOKENLOG_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = ChildEnv(env);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, TOKENLOG_BINARY, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd_ = fds[0];
    INFO("posix_spawn " << TOKENLOG_BINARY << ": " << std::strerror(rc));
    REQUIRE(rc == 0);
  }

  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The next line of stdout (without '\n'), or nullopt at EOF or after the
  // guard time without one.
  std::optional<std::string> ReadLine() {
    for (;;) {
      size_t nl = out_.find('\n');
      if (nl != std::string::npos) {
        std::string line = out_.substr(0, nl);
        out_.erase(0, nl + 1);
        return line;
      }
      if (!Fill()) return std::nullopt;
    }
  }

  // Everything up to EOF on stdout.
  std::string ReadAll() {
    while (Fill()) {
    }
    std::string all = std::move(out_);
    out_.clear();
    return all;
  }

  void Signal(int sig) { REQUIRE(::kill(pid_, sig) == 0); }

  // Waits for the exit (at most the guard time) and returns the wait status.
  int Wait() {
    REQUIRE(pid_ > 0);
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      int r = ::poll(&p, 1, kGuardMillis);
      ::close(pidfd);
      INFO("the child did not exit within the guard time");
      REQUIRE(r == 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return status;
  }

  std::string Stderr() const { return ReadWhole(err_path_); }

 private:
  bool Fill() {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, kGuardMillis) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    out_.append(buf, static_cast<size_t>(n));
    return true;
  }

  TempDir logs_;
  std::string err_path_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
};

bool ExitedZero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

// Reads the start-up line and returns the port it names.
int ListeningPort(Child& server) {
  auto line = server.ReadLine();
  INFO("stderr: " << server.Stderr());
  REQUIRE(line.has_value());
  std::smatch m;
  static const std::regex re(R"(^listening on http://127\.0\.0\.1:(\d{1,5})$)");
  INFO("first line: " << *line);
  REQUIRE(std::regex_match(*line, m, re));
  int port = std::stoi(m[1].str());
  REQUIRE(port > 0);
  REQUIRE(port <= 65535);
  return port;
}

std::string DevJwt(const std::string& data, const std::string& user, const std::string& tenant) {
  Child cli({"dev-jwt", "--data", data, "--user", user, "--tenant", tenant});
  std::string out = cli.ReadAll();
  int status = cli.Wait();
  INFO("dev-jwt stderr: " << cli.Stderr());
  REQUIRE(ExitedZero(status));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  REQUIRE(std::count(out.begin(), out.end(), '.') == 2);
  return out;
}

struct Http {
  int status = 0;
  std::string body;
};

Http Request(int port, const std::string& method, const std::string& path,
             httplib::Headers headers, const std::string& body = "") {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(30, 0);
  cli.set_read_timeout(60, 0);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = std::move(headers);
  req.body = body;
  if (!body.empty()) req.headers.emplace("Content-Type", "application/json");
  auto res = cli.send(req);
  INFO(method << " " << path << ": transport error " << static_cast<int>(res.error()));
  REQUIRE(res);
  return Http{res->status, res->body};
}

httplib::Headers Bearer(const std::string& jwt) { return {{"Authorization", "Bearer " + jwt}}; }

int Check(int port, const std::string& user, const std::string& value) {
  return Request(port, "GET", "/v1/auth/check",
                 {{"Authorization", "Basic " + Base64(user + ":" + value)}})
      .status;
}

json::object Mint(int port, const std::string& jwt, const std::string& label) {
  Http r = Request(port, "POST", "/v1/tokens", Bearer(jwt), R"({"label":")" + label + R"("})");
  INFO(r.body);
  REQUIRE(r.status == 201);
  return json::parse(r.body).as_object();
}

std::string S(const json::object& o, const char* key) {
  return std::string(o.at(key).as_string());
}

}  // namespace

TEST_CASE("serve binary: --dev prints its address, stops cleanly on SIGTERM and keeps tokens "
          "across a restart",
          "[serve][binary]") {
  TempDir data;
  const std::string user = "alice@acme.example";
  std::string kept_id, kept_value, revoked_id, revoked_value;
  {
    Child server({"serve", "--dev", "--data", data.path(), "--listen", "127.0.0.1:0"});
    int port = ListeningPort(server);
    std::string startup = server.Stderr();
    CHECK(startup.find("dev-jwt.secret") != std::string::npos);  // it says it uses a dev key
    // No issuer or audience configured: a warning at start-up.
    CHECK(startup.find("--jwt-issuer") != std::string::npos);

    // The dev key file exists, mode 0600.
    struct stat st{};
    REQUIRE(::stat((std::filesystem::path(data.path()) / "dev-jwt.secret").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    std::string jwt = DevJwt(data.path(), user, "acme");
    CHECK(Request(port, "GET", "/healthz", {}).status == 200);
    CHECK(Request(port, "GET", "/readyz", {}).status == 200);

    auto kept = Mint(port, jwt, "kept");
    auto revoked = Mint(port, jwt, "revoked");
    kept_id = S(kept, "id");
    kept_value = S(kept, "token");
    revoked_id = S(revoked, "id");
    revoked_value = S(revoked, "token");
    Http rv = Request(port, "POST", "/v1/tokens/" + revoked_id + "/revoke", Bearer(jwt));
    REQUIRE(rv.status == 200);
    CHECK(Check(port, user, kept_value) == 200);
    CHECK(Check(port, user, revoked_value) == 401);

    server.Signal(SIGTERM);
    int status = server.Wait();
    INFO("stderr: " << server.Stderr());
    CHECK(ExitedZero(status));
    // Nothing on stderr ever shows a token value.
    CHECK(server.Stderr().find(kept_value) == std::string::npos);
    CHECK(server.Stderr().find(revoked_value) == std::string::npos);
  }
  {
    Child server({"serve", "--dev", "--data", data.path(), "--listen", "127.0.0.1:0"});
    int port = ListeningPort(server);
    // The same dev key: a new JWT from dev-jwt works.
    std::string jwt = DevJwt(data.path(), user, "acme");
    CHECK(Check(port, user, kept_value) == 200);
    CHECK(Check(port, user, revoked_value) == 401);

    Http list = Request(port, "GET", "/v1/tokens", Bearer(jwt));
    REQUIRE(list.status == 200);
    auto page = json::parse(list.body).as_object();
    auto& tokens = page.at("tokens").as_array();
    REQUIRE(tokens.size() == 2);
    const auto& newest = tokens[0].as_object();
    const auto& oldest = tokens[1].as_object();
    CHECK(S(newest, "id") == revoked_id);
    CHECK(S(newest, "status") == "revoked");
    CHECK(S(newest, "revoked_reason") == "user");
    CHECK(S(oldest, "id") == kept_id);
    CHECK(S(oldest, "status") == "active");
    CHECK(S(oldest, "label") == "kept");
    // The use before the first shutdown was flushed to the log on SIGTERM.
    CHECK(oldest.at("last_used_at").is_string());
    CHECK(page.at("active_count").as_int64() == 1);
    CHECK(list.body.find(kept_value) == std::string::npos);

    server.Signal(SIGTERM);
    int status = server.Wait();
    INFO("stderr: " << server.Stderr());
    CHECK(ExitedZero(status));
  }
}

TEST_CASE("serve binary: without --dev and without a JWT key start-up stops with a message",
          "[serve][binary]") {
  TempDir data;
  Child server({"serve", "--data", data.path(), "--listen", "127.0.0.1:0"});
  std::string out = server.ReadAll();
  int status = server.Wait();
  std::string err = server.Stderr();
  INFO("stdout: " << out << "\nstderr: " << err);
  CHECK(!ExitedZero(status));
  CHECK(WIFEXITED(status));
  CHECK(out.find("listening") == std::string::npos);
  CHECK(err.find("--dev") != std::string::npos);
  CHECK(!std::filesystem::exists(std::filesystem::path(data.path()) / "dev-jwt.secret"));
}

TEST_CASE("serve binary: --dev on another application's RocksDB stops with a message and writes "
          "nothing there", "[serve][binary]") {
  TempDir data;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(options, data.path(), &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), "their key", "their value").ok());
    delete db;
  }
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(data.path())) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  const auto before = listing();
  Child server({"serve", "--dev", "--data", data.path(), "--listen", "127.0.0.1:0"});
  std::string out = server.ReadAll();
  int status = server.Wait();
  std::string err = server.Stderr();
  INFO("stdout: " << out << "\nstderr: " << err);
  CHECK(WIFEXITED(status));
  CHECK(!ExitedZero(status));
  CHECK(out.find("listening") == std::string::npos);
  CHECK(err.find("not tokenlog's") != std::string::npos);
  CHECK(listing() == before);  // no dev-jwt.secret, no column families' files
}

TEST_CASE("serve binary: a second server on an address in use stops with a message",
          "[serve][binary]") {
  // Another data directory (a backup being checked) on the same address
  // must not share it: the kernel would split connections between the two.
  TempDir first_data, second_data;
  Child first({"serve", "--dev", "--data", first_data.path(), "--listen", "127.0.0.1:0"});
  const int port = ListeningPort(first);
  Child second({"serve", "--dev", "--data", second_data.path(), "--listen",
                "127.0.0.1:" + std::to_string(port)});
  std::string out = second.ReadAll();
  int status = second.Wait();
  std::string err = second.Stderr();
  INFO("stdout: " << out << "\nstderr: " << err);
  CHECK(!ExitedZero(status));
  CHECK(out.find("listening") == std::string::npos);
  CHECK(err.find("cannot listen on 127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("serve binary: TOKENLOG_LISTEN and TOKENLOG_DATA are honoured and SIGINT stops it "
          "cleanly",
          "[serve][binary]") {
  TempDir data;
  Child server({"serve", "--dev"},
               {{"TOKENLOG_LISTEN", "127.0.0.1:0"}, {"TOKENLOG_DATA", data.path()}});
  int port = ListeningPort(server);
  CHECK(port != 8080);
  CHECK(Request(port, "GET", "/healthz", {}).status == 200);
  // --data came from the environment: the dev key is there.
  CHECK(std::filesystem::exists(std::filesystem::path(data.path()) / "dev-jwt.secret"));
  std::string jwt = DevJwt(data.path(), "bob@acme.example", "acme");
  CHECK(Request(port, "GET", "/v1/tokens", Bearer(jwt)).status == 200);
  server.Signal(SIGINT);
  int status = server.Wait();
  INFO("stderr: " << server.Stderr());
  CHECK(ExitedZero(status));
}

TEST_CASE("serve binary: the data directory it creates and the files in it are the owner's alone",
          "[serve][binary]") {
  TempDir root;
  const std::filesystem::path data = std::filesystem::path(root.path()) / "fresh";
  {
    Child server({"serve", "--dev", "--data", data.string(), "--listen", "127.0.0.1:0"});
    ListeningPort(server);
    server.Signal(SIGTERM);
    CHECK(ExitedZero(server.Wait()));
  }
  struct stat st{};
  REQUIRE(::stat(data.c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data)) {
    INFO(entry.path());
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
    ++files;
  }
  CHECK(files > 3);
}

TEST_CASE("serve binary: a SIGTERM just after \"listening on\" stops it", "[serve][binary]") {
  // The line is printed just before the accept loop starts; a signal in
  // between used to be lost (httplib's stop() does nothing before it runs).
  TempDir data;
  for (int i = 0; i < 5; ++i) {
    Child server({"serve", "--dev", "--data", data.path(), "--listen", "127.0.0.1:0"});
    ListeningPort(server);
    server.Signal(SIGTERM);
    INFO("start " << i << ", stderr: " << server.Stderr());
    CHECK(ExitedZero(server.Wait()));
  }
}

TEST_CASE("serve binary: SIGHUP stops it as cleanly as SIGTERM", "[serve][binary]") {
  TempDir data;
  Child server({"serve", "--dev", "--data", data.path(), "--listen", "127.0.0.1:0"});
  int port = ListeningPort(server);
  CHECK(Request(port, "GET", "/healthz", {}).status == 200);
  server.Signal(SIGHUP);
  int status = server.Wait();
  INFO("stderr: " << server.Stderr());
  CHECK(ExitedZero(status));
}
