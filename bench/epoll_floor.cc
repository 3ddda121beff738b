// The host's floor for the HTTP check rows (bench/run.py): the least a
// server on this machine can do per keep-alive request. One listening socket,
// one epoll thread per CPU (EPOLLEXCLUSIVE on the listener), and for every
// request head ("\r\n\r\n") a fixed 200 with the same header fields as the
// bare handler's check reply. No HTTP parsing, no limits, no timeouts, no
// thread per connection: not a server for anything but this measurement.
//
// What it shows: the rate and p99 that wrk, on the same cores, measures
// against an event loop that does no work at all. A p99 the floor itself
// misses is one no front, thread-per-connection or event loop, reaches here.
//
// Usage: tokenlog_bench_epoll_floor [--listen HOST:PORT] [--threads N]
// Prints `listening on http://HOST:PORT` once serving; SIGTERM ends it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// The bare handler's check reply, byte for byte (bench/bare.cc through
// api/http_server.cc), so that wrk reads the same bytes from both.
constexpr std::string_view kReply =
    "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 0\r\n"
    "Keep-Alive: timeout=5, max=10000\r\nX-Auth-Tenant: acme\r\n"
    "X-Auth-Token-Id: tok_bench\r\nX-Auth-User: user0@acme.example\r\n"
    "X-Content-Type-Options: nosniff\r\n\r\n";

// Sends all of `data` on a non-blocking socket, waiting for room when full
// (a reply nearly always fits). False when the peer is gone.
bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ::usleep(100);
      continue;
    }
    return false;
  }
  return true;
}

void Loop(int listener) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = listener;
  if (ep < 0 || ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) != 0) {
    std::perror("epoll");
    std::exit(1);
  }
  std::unordered_map<int, std::string> pending;  // a connection's unanswered bytes
  std::string out;
  char chunk[16384];
  epoll_event ready[128];
  for (;;) {
    const int n = ::epoll_wait(ep, ready, 128, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::perror("epoll_wait");
      std::exit(1);
    }
    for (int i = 0; i < n; ++i) {
      const int fd = ready[i].data.fd;
      if (fd == listener) {
        for (;;) {
          const int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      const ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      std::string& buf = pending[fd];
      if (got <= 0) {
        pending.erase(fd);
        ::close(fd);  // also leaves the epoll set
        continue;
      }
      buf.append(chunk, static_cast<size_t>(got));
      out.clear();
      size_t start = 0;
      for (size_t end; (end = buf.find("\r\n\r\n", start)) != std::string::npos; start = end + 4) {
        out.append(kReply);
      }
      buf.erase(0, start);
      if (!out.empty() && !SendAll(fd, out)) {
        pending.erase(fd);
        ::close(fd);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--listen") {
      const size_t colon = value.rfind(':');
      host = value.substr(0, colon);
      port = std::atoi(value.c_str() + colon + 1);
    } else if (flag == "--threads") {
      threads = std::atoi(value.c_str());
    } else {
      std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1) threads = 1;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener, 4096) != 0) {
    std::fprintf(stderr, "cannot listen on %s:%d: %s\n", host.c_str(), port, std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on http://%s:%d\n", host.c_str(), ntohs(addr.sin_port));
  std::fflush(stdout);
  std::vector<std::thread> loops;
  for (int i = 0; i < threads; ++i) loops.emplace_back(Loop, listener);
  for (auto& t : loops) t.join();
}
