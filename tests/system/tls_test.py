#!/usr/bin/env python3
"""`tokenlog serve --tls-cert --tls-key`: HTTPS with TLS 1.2+ only, and clear
start-up failures for missing or bad files. The certificate is self-signed,
made by the openssl CLI at run time.

Usage: tls_test.py /path/to/tokenlog
"""
import base64
import json
import os
import socket
import ssl
import subprocess
import urllib.request
import warnings

# The test offers TLS 1.0/1.1 on purpose, to see the server refuse them.
warnings.filterwarnings("ignore", category=DeprecationWarning)

from harness import Server, check, main, tokenlog


def make_cert(work, name="server"):
    cert, key = os.path.join(work, name + ".crt"), os.path.join(work, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def https(binary, work):
    cert, key = make_cert(work)
    server = Server(binary, os.path.join(work, "data"), work, extra=("--tls-cert", cert, "--tls-key", key))
    check(server.scheme == "https", "the listening line does not say https")
    server.ssl_context = ssl.create_default_context(cafile=cert)
    alice = server.jwt("alice@acme.example")
    status, _, body = server.request("POST", "/v1/tokens", jwt=alice, body={"label": "over TLS"})
    check(status == 201, "mint over HTTPS: %s" % status)
    value = json.loads(body)["token"]
    req = urllib.request.Request(server.base + "/v1/auth/check")
    req.add_header("Authorization", "Basic " + base64.b64encode(("alice@acme.example:" + value).encode()).decode())
    with urllib.request.urlopen(req, context=server.ssl_context) as r:
        check(r.status == 200 and r.headers["X-Auth-User"] == "alice@acme.example", "check over HTTPS")
        check(r.version == 11, "HTTP/1.1")

    def handshake(max_version, min_version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cert)
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")  # let the client offer old versions
        if min_version:
            ctx.minimum_version = min_version
        ctx.maximum_version = max_version
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version()

    check(handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2", "TLS 1.2 refused")
    check(handshake(ssl.TLSVersion.TLSv1_3) == "TLSv1.3", "TLS 1.3 refused")
    for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
        try:
            version = handshake(old, ssl.TLSVersion.TLSv1)
            raise AssertionError("the server accepted %s" % version)
        except ssl.SSLError as e:
            # The server's alert, not a client-side refusal to offer the version.
            check("ALERT_PROTOCOL_VERSION" in str(e).upper(), "unexpected TLS error: %s" % e)
    # Plain HTTP on the HTTPS port gets no answer, and the server goes on.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        check(not raw.recv(100).startswith(b"HTTP/1.1 200"), "plain HTTP answered on the TLS port")
    status, _, _ = server.request("GET", "/healthz")
    check(status == 200, "healthz after a bad client")
    check(server.stop() == 0, "stop")


def bad_files(binary, work):
    cert, key = make_cert(work)
    _, other_key = make_cert(work, "other")
    garbage = os.path.join(work, "garbage.pem")
    open(garbage, "w").write("not a certificate\n")
    missing = os.path.join(work, "missing.pem")
    data = os.path.join(work, "data")
    for args, named in (((missing, key), missing), ((garbage, key), garbage),
                        ((cert, missing), missing), ((cert, other_key), other_key)):
        r = subprocess.run([binary, "serve", "--dev", "--data", data, "--listen", "127.0.0.1:0",
                            "--tls-cert", args[0], "--tls-key", args[1]],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "start-up went on with a bad file (%s)" % named)
        check(named in r.stderr, "the message does not name %s: %s" % (named, r.stderr))
        check("listening" not in r.stdout, "it listened anyway")
        # Refused before anything was created: no data directory left behind.
        check(not os.path.exists(data), "a refused start left %s behind" % data)


if __name__ == "__main__":
    main([("HTTPS with TLS 1.2+ only", https),
          ("bad TLS files stop start-up naming the file, before the data directory", bad_files)])
