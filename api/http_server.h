// HttpServer: cpp-httplib's Server with the connection handling tokenlog
// needs (DESIGN.md, "cpp-httplib 0.11.4: what the server must do").
//
// It owns each connection's loop instead of httplib's, so that it can
//  - buffer and bound the request head (count and bytes) before httplib
//    parses it: over the limits -> 431 problem and the connection closed;
//  - close the connection after any reply whose request body was not read
//    (Transfer-Encoding -> 411, Content-Length over the limit -> 413, ...),
//    so an unread body is never parsed as a next request;
//  - listen with a configurable backlog (httplib's own is 5);
//  - serve HTTPS itself (OpenSSL, TLS 1.2+), on the same connection loop.
// Every request is routed to one Service; exceptions never reach a client.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "api/service.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace tokenlog::api {

struct HttpLimits {
  size_t max_body_bytes = 65536;
  size_t max_header_bytes = 16384;  // request line + header fields
  size_t max_header_count = 100;
  int listen_backlog = 4096;
  int threads = 64;
  time_t read_timeout_seconds = 10;
  time_t write_timeout_seconds = 10;
  time_t keep_alive_timeout_seconds = 5;
  size_t keep_alive_max_requests = 10000;
};

class HttpServer final : public httplib::Server {
 public:
  // `service` must outlive the server.
  HttpServer(Service& service, Metrics& metrics, HttpLimits limits);

  // Binds host:port (port 0: any free port) and listens with the configured
  // backlog. Returns the bound port, or -1 with `error` set.
  int Bind(const std::string& host, int port, std::string* error);
  // Serves until Stop(). REQUIRES: Bind() succeeded.
  bool Serve();

  // Serves HTTPS (TLS 1.2 and later only) with the PEM certificate chain and
  // private key in these files. Call before Serve(). kInvalidRequest naming
  // the file that is missing, unreadable or does not match.
  Status EnableTls(const std::string& cert_file, const std::string& key_file);
  bool tls() const { return tls_ != nullptr; }
  // What EnableTls() would say of these files, with no server: `serve`
  // checks them before it creates anything in the data directory.
  static Status CheckTls(const std::string& cert_file, const std::string& key_file);

 private:
  bool process_and_close_socket(socket_t sock) override;
  Reply Dispatch(const httplib::Request& req);
  void Write(const Reply& reply, const httplib::Request& req, httplib::Response& res);

  struct SslCtxFree {
    void operator()(ssl_ctx_st* ctx) const;
  };
  using SslCtx = std::unique_ptr<ssl_ctx_st, SslCtxFree>;
  // A TLS 1.2+ context serving the certificate chain and key in these files.
  static Status LoadTls(const std::string& cert_file, const std::string& key_file, SslCtx& out);

  Service& service_;
  Metrics& metrics_;
  HttpLimits limits_;
  SslCtx tls_;  // null: plain HTTP
};

}  // namespace tokenlog::api
