#include "api/http_server.h"

#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "api/text.h"

namespace tokenlog::api {

namespace {

// Set by Write() when the reply must end the connection (its request body
// was not read). One connection is served by one thread at a time.
thread_local bool t_close_after_reply = false;

constexpr int kPollSliceMillis = 100;

// Waits until `fd` is readable (or writable), at most `timeout_ms`, in slices
// so that a stopping server is noticed. >0 ready, 0 timeout/stopping, <0 error.
int WaitFor(int fd, short events, int timeout_ms, const std::atomic<socket_t>* running_sock) {
  int waited = 0;
  for (;;) {
    pollfd p{fd, events, 0};
    int slice = std::min(kPollSliceMillis, timeout_ms - waited);
    int r = ::poll(&p, 1, slice < 0 ? 0 : slice);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) return r;
    waited += slice;
    if (waited >= timeout_ms) return 0;
    if (running_sock && *running_sock == INVALID_SOCKET) return 0;
  }
}

// application/json, in any case; a charset parameter, if any, must say UTF-8
// (JSON is UTF-8, RFC 8259: a body declared otherwise would be misread).
bool IsJsonMediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  if (!EqualsIgnoringCase(TrimBlanks(content_type.substr(0, semi)), "application/json")) {
    return false;
  }
  while (semi != std::string_view::npos) {
    content_type.remove_prefix(semi + 1);
    semi = content_type.find(';');
    std::string_view param = content_type.substr(0, semi);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoringCase(TrimBlanks(param.substr(0, eq)), "charset")) continue;
    std::string_view value = TrimBlanks(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!EqualsIgnoringCase(value, "utf-8") && !EqualsIgnoringCase(value, "utf8")) return false;
  }
  return true;
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

// A connection: buffered reads (httplib reads the head byte by byte), poll
// timeouts, and a bounded look at the request head before httplib parses it.
class ConnectionStream final : public httplib::Stream {
 public:
  enum class Head { kReady, kClosed, kTooLarge, kLineTooLong, kBareLf };
  // httplib refuses a longer header line (and a longer target) with 400 or
  // 414 and then reads on, taking the rest of the head for more requests:
  // lines are measured here, before it parses them (with their CRLF).
  static constexpr size_t kMaxLineBytes = 8192;
  static_assert(kMaxLineBytes == CPPHTTPLIB_HEADER_MAX_LENGTH &&
                kMaxLineBytes == CPPHTTPLIB_REQUEST_URI_MAX_LENGTH);

  // `ssl`: the connection's TLS session after the handshake, or null for
  // plain HTTP. Not owned.
  // `recv_waits`: plain HTTP whose socket has the one-slice SO_RCVTIMEO
  // (WaitAndFill); otherwise the wait for a request polls.
  ConnectionStream(int fd, SSL* ssl, bool recv_waits, const HttpLimits& limits,
                   const std::atomic<socket_t>& running)
      : fd_(fd), ssl_(ssl), recv_waits_(recv_waits), limits_(limits), running_(running) {}

  // Waits for the next request (at most `wait_seconds` for its first byte;
  // with a recv wait, up to one 100 ms slice more), then reads until its
  // head is complete, within the limits. From its first byte, the whole
  // request (head and body) has the read timeout: a client that trickles a
  // byte now and then is cut off all the same.
  Head ReadHead(time_t wait_seconds) {
    if (!FlushHeld()) return Head::kClosed;  // the last reply's head, if it had no body
    wrote_since_read_ = false;  // a pipelined request may need no Fill()
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
      const int wait_ms = static_cast<int>(wait_seconds * 1000);
      if (recv_waits_) {
        if (WaitAndFill(wait_ms) <= 0) return Head::kClosed;
      } else if (!TlsPending() && WaitFor(fd_, POLLIN, wait_ms, &running_) <= 0) {
        return Head::kClosed;
      }
    }
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::seconds(limits_.read_timeout_seconds);
    for (;;) {
      std::string_view pending(buf_.data() + pos_, buf_.size() - pos_);
      const size_t end = HeadEnd(pending);
      const size_t head_bytes = end == std::string_view::npos ? pending.size() : end;
      // The request line, as soon as it is known to be too long.
      const size_t first_lf = pending.find('\n');
      if ((first_lf == std::string_view::npos ? pending.size() : first_lf + 1) > kMaxLineBytes) {
        return Head::kLineTooLong;
      }
      // httplib (built without CPPHTTPLIB_ALLOW_LF_AS_LINE_TERMINATOR) takes
      // a line that ends in a bare LF for no line at all and reads on past
      // every limit here: such a head is refused.
      for (size_t i = pending.find('\n'); i < head_bytes; i = pending.find('\n', i + 1)) {
        if (i == 0 || pending[i - 1] != '\r') return Head::kBareLf;
      }
      if (head_bytes > limits_.max_header_bytes) return Head::kTooLarge;
      if (end != std::string_view::npos) {
        size_t lines = 0, longest_field = 0, line_start = 0;
        for (size_t i = 0; i < end; ++i) {
          if (pending[i] != '\n') continue;
          if (lines > 0) longest_field = std::max(longest_field, i + 1 - line_start);
          line_start = i + 1;
          ++lines;
        }
        // The request line and the empty line are not header fields.
        if (lines > limits_.max_header_count + 2 || longest_field > kMaxLineBytes) {
          return Head::kTooLarge;
        }
        IgnoreRange(pos_, pos_ + end);
        return Head::kReady;
      }
      if (Fill() <= 0) return Head::kClosed;
    }
  }

  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = write(data.data(), data.size());  // 0: nothing of it went yet
      if (n < 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends a held head first (waiting at most the write timeout).
  bool is_readable() const override {
    if (!FlushHeld()) return false;
    return pos_ < buf_.size() || TlsPending() || WaitFor(fd_, POLLIN, RemainingMs(), nullptr) > 0;
  }
  bool is_writable() const override {
    return WaitFor(fd_, POLLOUT, static_cast<int>(limits_.write_timeout_seconds * 1000),
                   nullptr) > 0;
  }
  ssize_t read(char* ptr, size_t size) override {
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
      ssize_t n = Fill();
      if (n <= 0) return n < 0 ? -1 : 0;
    }
    size_t n = std::min(size, buf_.size() - pos_);
    std::memcpy(ptr, buf_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (ssl_) {
      if (!is_writable()) return -1;
      // A blocking socket with SO_SNDTIMEO bounds the write.
      int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
      return n > 0 ? n : -1;
    }
    // httplib writes a reply's head and then its body, each with a write of
    // its own: the head (the first write since the request's head or a
    // socket read; a "100 Continue" is followed by a read) is held
    // here and goes out with the body in one sendmsg, a system call and a
    // TCP segment fewer for each reply with a body. A held head goes out
    // before anything more is read or waited for (FlushHeld), and before
    // the connection closes.
    const bool first = !wrote_since_read_;
    wrote_since_read_ = true;
    if (first && held_.empty() && size <= kHeldBytes) {
      held_.assign(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (held_.empty()) return Send(ptr, size);
    iovec parts[2] = {{held_.data(), held_.size()}, {const_cast<char*>(ptr), size}};
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = 2;
    ssize_t n;
    do {
      n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    const size_t sent = n < 0 ? 0 : static_cast<size_t>(n);
    if (sent < held_.size()) {
      // The socket is full: the rest of the head first (waiting as a send
      // does), then none of this buffer yet; the caller writes it again.
      held_.erase(0, sent);
      return FlushHeld() ? 0 : -1;
    }
    const size_t of_this = sent - held_.size();
    held_.clear();
    return static_cast<ssize_t>(of_this);
  }

  // Sends the held head, if any; false when the connection cannot take it.
  // On a failure the connection is done for: the head is dropped, so that a
  // later flush neither waits out the write timeout again nor resends bytes.
  bool FlushHeld() const {
    size_t done = 0;
    while (done < held_.size()) {
      const ssize_t n = Send(held_.data() + done, held_.size() - done);
      if (n < 0) {
        held_.clear();
        return false;
      }
      done += static_cast<size_t>(n);
    }
    held_.clear();
    return true;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  // tokenlog serves no ranges (RFC 9110 lets a server ignore Range), but
  // httplib acts on the field before any handler runs: a malformed one is
  // its 416 for any route (the check included: nginx's auth_request passes
  // the client's Range on, and valid credentials would then fail), and a
  // valid one cuts that range out of a JSON body under a 200. So each Range
  // field of the head in buf_[from, to) is renamed in place, to a name
  // nothing reads, before httplib parses the head.
  void IgnoreRange(size_t from, size_t to) {
    static constexpr std::string_view kName = "Range";
    const std::string_view head(buf_.data(), to);
    for (size_t line = head.find('\n', from); line != std::string_view::npos;
         line = head.find('\n', line + 1)) {
      const size_t name = line + 1;
      if (EqualsIgnoringCase(head.substr(name, kName.size()), kName) &&
          head.substr(name + kName.size(), 1) == ":") {
        buf_.replace(name, kName.size(), "X-Rng");
      }
    }
  }

  // Offset of the end of the head (after its empty line) in `s`, or npos.
  static size_t HeadEnd(std::string_view s) {
    const size_t at = s.find("\r\n\r\n");
    return at == std::string_view::npos ? at : at + 4;
  }

  // Milliseconds left of the request's read time (0 once it is up).
  int RemainingMs() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }

  // A reply nearly always fits the socket's buffer: send first, and wait
  // (at most the write timeout) only when it is full. A poll before every
  // send was a system call per request for nothing.
  ssize_t Send(const char* ptr, size_t size) const {
    for (;;) {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return n;
      if (!is_writable()) return -1;
    }
  }

  // Appends what the socket has, waiting at most until the request's
  // deadline. >0 bytes read, 0 closed or timed out, <0 error.
  ssize_t Fill() {
    if (!FlushHeld()) return -1;
    wrote_since_read_ = false;
    if (ssl_) {
      char chunk[16384];
      if (!TlsPending()) {
        const int wait_ms = RemainingMs();
        if (wait_ms == 0 || WaitFor(fd_, POLLIN, wait_ms, nullptr) <= 0) return 0;
      }
      // Blocks at most SO_RCVTIMEO for the rest of a TLS record.
      int n = SSL_read(ssl_, chunk, sizeof(chunk));
      if (n > 0) buf_.append(chunk, static_cast<size_t>(n));
      return n > 0 ? n : 0;
    }
    // The bytes are usually there already (the wait for the next request saw
    // them arrive): read first, and poll only when nothing has come yet. Past
    // the request's deadline nothing more is read, as before.
    for (;;) {
      const int wait_ms = RemainingMs();
      if (wait_ms == 0) return 0;
      const ssize_t n = RecvOnce(MSG_DONTWAIT);
      if (n != kNothingYet) return n;
      if (WaitFor(fd_, POLLIN, wait_ms, nullptr) <= 0) return 0;
    }
  }

  // One recv (plain HTTP) appended to the buffer: >0 bytes read, 0 the peer
  // closed, kNothingYet when nothing came (non-blocking, or the socket's
  // receive timeout passed), -1 an error.
  static constexpr ssize_t kNothingYet = -2;
  ssize_t RecvOnce(int flags) {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), flags);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        return n;
      }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? kNothingYet : -1;
    }
  }

  // Plain HTTP: waits for the next request with a blocking recv, which
  // returns its first bytes (one system call, where a poll and then a recv
  // were two). The socket's SO_RCVTIMEO is one poll slice
  // (process_and_close_socket), so that a stopping server is noticed as
  // promptly as by WaitFor; the wait ends within a slice after `timeout_ms`.
  // >0 bytes read, 0 closed, timed out or stopping, <0 error.
  ssize_t WaitAndFill(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const ssize_t n = RecvOnce(0);
      if (n != kNothingYet) return n;
      if (running_ == INVALID_SOCKET || std::chrono::steady_clock::now() >= deadline) return 0;
    }
  }

  // A connection's two addresses do not change: looked up once (two system
  // calls and a formatting each), not for every request on it.
  void Address(bool peer, std::string& ip, int& port) const {
    KnownAddress& known = addresses_[peer ? 0 : 1];
    if (!known.found) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      int r = peer ? ::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len)
                   : ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      if (r != 0) return;
      char host[NI_MAXHOST], serv[NI_MAXSERV];
      if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv,
                        sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return;
      }
      known.ip = host;
      known.port = std::atoi(serv);
      known.found = true;
    }
    ip = known.ip;
    port = known.port;
  }

  bool TlsPending() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

  struct KnownAddress {
    bool found = false;
    std::string ip;
    int port = 0;
  };

  int fd_;
  SSL* ssl_;
  const bool recv_waits_;
  mutable std::array<KnownAddress, 2> addresses_;  // peer, local; one thread per connection
  const HttpLimits& limits_;
  const std::atomic<socket_t>& running_;
  std::string buf_;
  size_t pos_ = 0;
  // A reply's head held back to go out with its body (plain HTTP only).
  static constexpr size_t kHeldBytes = 4096;
  mutable std::string held_;
  bool wrote_since_read_ = false;
  std::chrono::steady_clock::time_point deadline_{};  // of the request being read
};

// Makes httplib answer "Connection: close" and nothing else: it adds a
// Keep-Alive header unless the request itself asked to close. The Request it
// hands to handlers is its own non-const local, so marking it is defined.
void AskToClose(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  headers.erase("Connection");
  headers.emplace("Connection", "close");
  t_close_after_reply = true;
}

// The whole response for a request refused before httplib parsed it.
std::string RawProblem(const Reply& r) {
  return "HTTP/1.1 " + std::to_string(r.status) + " " + ReasonPhrase(r.status) +
         "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " +
         std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
}

}  // namespace

HttpServer::HttpServer(Service& service, Metrics& metrics, HttpLimits limits)
    : service_(service), metrics_(metrics), limits_(limits) {
  const int threads = limits_.threads;
  // More malloc arenas than glibc's default of 8 per core (16 on 2 cores,
  // shared by 256 threads): one per connection thread, up to 64 (never fewer
  // than the default). A reply's headers are more same-size blocks than
  // glibc's per-thread cache holds, so some take their arena's lock; two
  // running threads on one arena made one or two checks in a thousand sleep
  // on it (futex, milliseconds here). Set before the connection threads start
  // (they get their arenas then). An operator's own limit (MALLOC_ARENA_MAX,
  // or glibc.malloc.arena_max in GLIBC_TUNABLES) is left as set.
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr &&
      (tunables == nullptr || std::strstr(tunables, "arena_max") == nullptr)) {
    const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    ::mallopt(M_ARENA_MAX, static_cast<int>(std::max<long>(8 * cores, std::min(threads, 64))));
  }
  new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  set_read_timeout(limits_.read_timeout_seconds, 0);
  set_write_timeout(limits_.write_timeout_seconds, 0);
  set_keep_alive_timeout(limits_.keep_alive_timeout_seconds);
  set_keep_alive_max_count(limits_.keep_alive_max_requests);
  set_payload_max_length(limits_.max_body_bytes);
  // SO_REUSEADDR only: httplib's default sets SO_REUSEPORT, with which a
  // second server on the same address (another data directory, a backup
  // being checked) starts silently and the kernel splits connections
  // between the two.
  set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto refuse = [&](const Status& s) {
      Reply r = Reply::Problem(s);
      r.close_connection = true;
      metrics_.CountRequest("refused", r.status, 0);
      Write(r, req, res);
      return HandlerResponse::Handled;
    };
    if (req.has_header("Transfer-Encoding")) {
      return refuse(Status(Code::kLengthRequired,
                           "Transfer-Encoding is not accepted: send the body with a "
                           "Content-Length"));
    }
    size_t lengths = req.get_header_value_count("Content-Length");
    uint64_t length = 0;
    if (lengths > 1) {
      return refuse(Status(Code::kInvalidRequest, "more than one Content-Length header"));
    }
    if (lengths == 1) {
      std::string raw = req.get_header_value("Content-Length");
      if (raw.empty() || raw.size() > 18 || raw.find_first_not_of("0123456789") != std::string::npos) {
        return refuse(Status(Code::kInvalidRequest, "Content-Length is not a number"));
      }
      length = std::stoull(raw);
      if (length > limits_.max_body_bytes) {
        return refuse(Status(Code::kPayloadTooLarge,
                             "the body is larger than " + std::to_string(limits_.max_body_bytes) +
                                 " bytes"));
      }
    }
    // Before httplib reads a body: it would take a form (multipart or
    // urlencoded) apart into req.files, leaving an empty body that reads as
    // "{}", and refuse a large urlencoded one with its own 413.
    if (length > 0 && !Service::IsCheck(req) &&
        !IsJsonMediaType(req.get_header_value("Content-Type"))) {
      return refuse(Status(Code::kUnsupportedMediaType, "the body must be application/json"));
    }
    const std::string& m = req.method;
    bool httplib_reads_body = m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
    if (httplib_reads_body && length > 0) return HandlerResponse::Unhandled;
    // No body to read (httplib would wait for EOF on a POST without
    // Content-Length), or a body httplib would not read for this method.
    Reply r = Dispatch(req);
    if (length > 0) r.close_connection = true;
    Write(r, req, res);
    return HandlerResponse::Handled;
  });

  auto with_body = [this](const httplib::Request& req, httplib::Response& res) {
    Write(Dispatch(req), req, res);
  };
  Post(".*", with_body);
  Put(".*", with_body);
  Patch(".*", with_body);
  Delete(".*", with_body);

  set_exception_handler([this](const httplib::Request& req, httplib::Response& res,
                               std::exception_ptr) {
    Reply r = Reply::Problem(Status(Code::kUnavailable, "the request could not be processed"));
    r.close_connection = true;
    Write(r, req, res);
  });
  set_error_handler(HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return HandlerResponse::Unhandled;
    // httplib's own refusals (a malformed request line or head). After one,
    // httplib would read on from wherever its parse stopped: close instead.
    Status s(Code::kInvalidRequest, "the request is not well-formed HTTP/1.1");
    if (res.status == 404) s = Status(Code::kNotFound, "no such resource");
    Reply r = Reply::Problem(s);
    res.status = r.status;  // the status line says what the body says
    res.set_content(r.body, r.content_type.c_str());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    AskToClose(req);
    return HandlerResponse::Handled;
  }));
}

Reply HttpServer::Dispatch(const httplib::Request& req) {
  auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  // (A body that is not JSON was refused before it was read.)
  Reply reply = service_.Handle(req, route);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.CountRequest(route, reply.status, seconds);
  return reply;
}

void HttpServer::Write(const Reply& reply, const httplib::Request& req, httplib::Response& res) {
  res.status = reply.status;
  for (const auto& [k, v] : reply.headers) res.set_header(k.c_str(), v);
  // Every answer holds one caller's data (tokens, activity, who they are):
  // no cache keeps it unless the reply says otherwise (the web page's
  // script and style sheet), and no browser sniffs a JSON body into a page.
  if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  if (!res.has_header("X-Content-Type-Options")) res.set_header("X-Content-Type-Options", "nosniff");
  if (!reply.content_type.empty()) res.set_content(reply.body, reply.content_type.c_str());
  if (reply.close_connection) AskToClose(req);
}

int HttpServer::Bind(const std::string& host, int port, std::string* error) {
  int bound = port;
  if (port == 0) {
    bound = bind_to_any_port(host);
    if (bound < 0) bound = -1;
  } else if (!bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound < 0) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return -1;
  }
  // httplib listens with a backlog of 5; a burst of gateway connections
  // overflows it and clients wait for a SYN retry. Listen again, larger.
  if (::listen(svr_sock_, limits_.listen_backlog) != 0) {
    *error = std::string("cannot set the listen backlog: ") + std::strerror(errno);
    return -1;
  }
  return bound;
}

bool HttpServer::Serve() { return listen_after_bind(); }

Status HttpServer::EnableTls(const std::string& cert_file, const std::string& key_file) {
  SslCtx ctx;
  TL_RETURN_IF_ERROR(LoadTls(cert_file, key_file, ctx));
  tls_ = std::move(ctx);
  return Status();
}

Status HttpServer::CheckTls(const std::string& cert_file, const std::string& key_file) {
  SslCtx unused;
  return LoadTls(cert_file, key_file, unused);
}

Status HttpServer::LoadTls(const std::string& cert_file, const std::string& key_file,
                           SslCtx& out) {
  auto fail = [](const std::string& what) {
    unsigned long e = ERR_get_error();
    char reason[256] = "";
    if (e != 0) ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return Status(Code::kInvalidRequest, what + (e ? std::string(": ") + reason : ""));
  };
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return fail("cannot create a TLS context");
  out.reset(ctx);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return fail("--tls-cert " + cert_file + " is not a readable PEM certificate (chain)");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("--tls-key " + key_file + " is not a readable PEM private key");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("--tls-key " + key_file + " does not match the certificate in " + cert_file);
  }
  return Status();
}

void HttpServer::SslCtxFree::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

bool HttpServer::process_and_close_socket(socket_t sock) {
  // A reply can still go out in two sends (over TLS, a head over 4 KiB, a
  // body written in parts); with Nagle on, the second waits for the
  // client's delayed ACK (~40 ms per keep-alive reply with a body, measured
  // by the mint benchmark before heads were held for their bodies).
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SSL* ssl = nullptr;
  bool recv_waits = false;
  if (!tls_) {
    // ReadHead's wait for a request is a blocking recv, woken once a slice
    // to see whether the server is stopping (ConnectionStream::WaitAndFill).
    // Without the timeout that recv could block past the keep-alive timeout
    // and a stop: then the wait polls, as over TLS.
    timeval slice{0, kPollSliceMillis * 1000};
    recv_waits = ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice)) == 0;
  } else {
    // Bound every blocking TLS read and write by the configured timeouts.
    timeval rcv{limits_.read_timeout_seconds, 0}, snd{limits_.write_timeout_seconds, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
    ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
    ssl = SSL_new(tls_.get());
    if (!ssl || SSL_set_fd(ssl, sock) != 1 || SSL_accept(ssl) != 1) {
      // A failed handshake (an old TLS version, plain HTTP, garbage): no
      // HTTP answer is possible; close.
      if (ssl) SSL_free(ssl);
      ERR_clear_error();
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
      return false;
    }
  }
  ConnectionStream stream(sock, ssl, recv_waits, limits_, svr_sock_);
  bool ret = false;
  bool unread_input = false;
  size_t remaining = limits_.keep_alive_max_requests;
  bool first = true;
  while (remaining > 0 && svr_sock_ != INVALID_SOCKET) {
    auto head = stream.ReadHead(first ? limits_.read_timeout_seconds
                                      : limits_.keep_alive_timeout_seconds);
    first = false;
    if (head == ConnectionStream::Head::kClosed) break;
    if (head != ConnectionStream::Head::kReady) {
      Status refusal;
      if (head == ConnectionStream::Head::kTooLarge) {
        refusal = Status(Code::kHeadersTooLarge,
                         "at most " + std::to_string(limits_.max_header_count) +
                             " header fields of at most " +
                             std::to_string(ConnectionStream::kMaxLineBytes) + " bytes each, and " +
                             std::to_string(limits_.max_header_bytes) + " bytes of request head");
      } else if (head == ConnectionStream::Head::kLineTooLong) {
        refusal = Status(Code::kInvalidRequest,
                         "the request line (method, path and query) is longer than " +
                             std::to_string(ConnectionStream::kMaxLineBytes) + " bytes");
      } else {
        refusal = Status(Code::kInvalidRequest, "each line of the request head must end in CRLF");
      }
      const Reply problem = Reply::Problem(refusal);
      metrics_.CountRequest("refused", problem.status, 0);
      stream.WriteAll(RawProblem(problem));
      unread_input = true;
      break;
    }
    bool connection_closed = false;
    t_close_after_reply = false;
    ret = process_request(stream, remaining == 1, connection_closed, nullptr);
    if (t_close_after_reply) unread_input = true;
    if (!ret || connection_closed || t_close_after_reply) break;
    --remaining;
  }
  (void)stream.FlushHeld();  // the last reply's head, when it had no body
  if (unread_input) {
    // Closing with unread bytes makes the kernel send RST, which can destroy
    // the answer before the client reads it: send FIN first and drain a
    // little (bounded in bytes and time) before closing.
    ::shutdown(sock, SHUT_WR);
    char sink[16384];
    size_t drained = 0;
    while (drained < (1u << 20) && WaitFor(sock, POLLIN, 500, nullptr) > 0) {
      ssize_t n = ::recv(sock, sink, sizeof(sink), 0);
      if (n <= 0) break;
      drained += static_cast<size_t>(n);
    }
  }
  if (ssl) {
    (void)SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace tokenlog::api
