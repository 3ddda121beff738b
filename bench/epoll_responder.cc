// A reference for the HTTP check rows (bench/run.py): an event loop that does
// no work. One epoll thread per CPU, each with its own listening socket on
// the same port (SO_REUSEPORT: the kernel spreads connections evenly), and
// for every request head ("\r\n\r\n") a fixed 200 with the same header
// fields as the bare handler's check reply. No HTTP parsing, no limits, no
// timeouts, no connection ever closed by it: not a server for anything but
// this measurement.
//
// What it shows: the rate an event-loop front could approach on this
// machine, and the p99 that wrk, on the same cores, measures against one.
// It is not a lower bound on p99: a thread per connection can have a lower
// one here (a preempted loop stalls all its connections at once).
//
// Usage: tokenlog_bench_epoll [--listen HOST:PORT] [--threads N]
// Prints `listening on http://HOST:PORT` once serving, then on stderr each
// thread's connection count whenever it changes; SIGTERM ends it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
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

// A listening socket on host:port (port 0: any), shared by port with the
// other threads' through SO_REUSEPORT; -1 with the reason printed.
int Listen(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 4096) != 0) {
    std::fprintf(stderr, "cannot listen on %s:%d: %s\n", host.c_str(), port, std::strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

void Loop(int listener, std::atomic<int>* connections) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
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
          connections->fetch_add(1);
        }
        continue;
      }
      const ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      std::string& buf = pending[fd];
      if (got <= 0) {
        pending.erase(fd);
        ::close(fd);  // also leaves the epoll set
        connections->fetch_sub(1);
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
        connections->fetch_sub(1);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc || (flag != "--listen" && flag != "--threads")) {
      std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--threads N]\n", argv[0]);
      return 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--listen") {
      const size_t colon = value.rfind(':');
      host = value.substr(0, colon);
      port = std::atoi(value.c_str() + colon + 1);
    } else {
      threads = std::atoi(value.c_str());
    }
  }
  if (threads < 1) threads = 1;
  std::vector<int> listeners;
  for (int i = 0; i < threads; ++i) {
    const int fd = Listen(host, port);
    if (fd < 0) return 1;
    if (port == 0) {  // the others join the port the first one got
      sockaddr_in addr{};
      socklen_t len = sizeof(addr);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port = ntohs(addr.sin_port);
    }
    listeners.push_back(fd);
  }
  std::printf("listening on http://%s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  std::vector<std::atomic<int>> connections(static_cast<size_t>(threads));
  std::vector<std::thread> loops;
  for (int i = 0; i < threads; ++i) loops.emplace_back(Loop, listeners[i], &connections[i]);
  // How evenly the kernel spread the connections, for the run's log.
  std::string last;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::string now = "connections per thread:";
    for (auto& c : connections) now += " " + std::to_string(c.load());
    if (now != last) std::fprintf(stderr, "%s\n", now.c_str());
    last = now;
  }
}
