#!/usr/bin/env python3
"""tokenlog behind real nginx (deploy/nginx/tokenlog-odata.conf) in front of a
small static OData feed, played by real clients: curl's --anyauth (Power BI's
challenge flow), a python-requests keep-alive session, refused tokens, the
429 pass-through, and a burst of new connections.

Usage: nginx_test.py /path/to/tokenlog      (needs nginx with auth_request)
"""
import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import http.client

import requests

from harness import _PROCS, Server, check, free_port, main

HERE = os.path.dirname(os.path.abspath(__file__))
SITE = os.path.join(HERE, "..", "..", "deploy", "nginx", "tokenlog-odata.conf")
FEED = os.path.join(HERE, "odata-feed")


def start_nginx(work, listen_port, tokenlog_port, feed_port):
    prefix = os.path.join(work, "nginx")
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    site = open(SITE).read()
    site = (site.replace("@LISTEN@", "127.0.0.1:%d" % listen_port)
                .replace("@TOKENLOG@", "127.0.0.1:%d" % tokenlog_port)
                .replace("@FEED@", "127.0.0.1:%d" % feed_port)
                .replace("@TENANT@", "acme"))
    check(not re.search(r"@[A-Z]+@", re.sub(r"#.*", "", site)), "a placeholder is left in the site")
    feed_headers = ("add_header X-Seen-User $http_x_auth_user always; "
                    "add_header X-Seen-Authorization \"[$http_authorization]\" always; "
                    "add_header X-Seen-Tenant \"[$http_x_auth_tenant]\" always; "
                    "add_header X-Seen-Token-Id \"[$http_x_auth_token_id]\" always; "
                    "add_header X-Seen-Forwarded-For \"[$http_x_forwarded_for]\" always; "
                    "add_header X-Seen-Require-Tenant \"[$http_x_auth_require_tenant]\" always;")
    conf = """
worker_processes 2;
daemon off;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log warn;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path %(p)s/tmp/body;
    proxy_temp_path %(p)s/tmp/proxy;
    fastcgi_temp_path %(p)s/tmp/fastcgi;
    uwsgi_temp_path %(p)s/tmp/uwsgi;
    scgi_temp_path %(p)s/tmp/scgi;
    %(site)s
    server {
        listen 127.0.0.1:%(feed)d;
        root %(root)s;
        location = / { default_type application/json; %(h)s try_files /index.json =404; }
        location ~ ^/\\$metadata$ { default_type application/xml; %(h)s try_files /metadata.xml =404; }
        location = /Sales { default_type application/json; %(h)s try_files /sales.json =404; }
    }
}
""" % {"p": prefix, "site": site, "feed": feed_port, "root": FEED, "h": feed_headers}
    path = os.path.join(prefix, "nginx.conf")
    open(path, "w").write(conf)
    test = subprocess.run(["nginx", "-t", "-c", path, "-p", prefix], capture_output=True, text=True)
    check(test.returncode == 0, "nginx -t: " + test.stderr)
    proc = subprocess.Popen(["nginx", "-c", path, "-p", prefix], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _PROCS.append(proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", listen_port, timeout=2).request("GET", "/")
            return proc
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not start: " + open(os.path.join(prefix, "error.log")).read())


def listen_overflows():
    """The kernel's count of connections dropped from full listen queues."""
    lines = [l.split() for l in open("/proc/net/netstat") if l.startswith("TcpExt:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("ListenOverflows")])


def mint(server, jwt, label="Power BI"):
    status, _, body = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": label})
    check(status == 201, "mint: %s %s" % (status, body))
    return json.loads(body)


def behind_nginx(binary, work):
    if shutil.which("nginx") is None:
        raise AssertionError("nginx is not installed (make test installs it)")
    data = os.path.join(work, "data")
    tokenlog_port, nginx_port, feed_port = free_port(), free_port(), free_port()
    args = ("--trusted-proxies", "127.0.0.1", "--auth-failure-limit", "5")
    server = Server(binary, data, work, extra=args, listen="127.0.0.1:%d" % tokenlog_port)
    start_nginx(work, nginx_port, tokenlog_port, feed_port)
    base = "http://127.0.0.1:%d" % nginx_port
    alice = server.jwt("alice@acme.example")
    admin = server.jwt("root@acme.example", role="admin")
    token = mint(server, alice)
    value = token["token"]

    # Power BI's flow: anonymous first, a 401 with the Basic challenge, then
    # the same request with credentials gets the feed. curl --anyauth does it.
    r = requests.get(base + "/Sales")
    check(r.status_code == 401, "anonymous: %s" % r.status_code)
    check(r.headers.get("WWW-Authenticate") == 'Basic realm="tokenlog", charset="UTF-8"',
          "challenge: %s" % r.headers.get("WWW-Authenticate"))
    out = subprocess.run(["curl", "-sv", "--anyauth", "-u", "alice@acme.example:" + value,
                          base + "/Sales"], capture_output=True, text=True)
    statuses = re.findall(r"^< HTTP/1\.1 (\d+)", out.stderr, re.M)
    check(statuses == ["401", "200"], "curl --anyauth saw %s" % statuses)
    check(json.loads(out.stdout)["value"][0]["Id"] == 1, "feed body")

    # A keep-alive session: hundreds of requests, all 200; the feed learns
    # who, never the token.
    session = requests.Session()
    session.auth = ("alice@acme.example", value)
    paths = ["/", "/$metadata", "/Sales", "/Sales?$skiptoken=2", "/Sales?$top=1"]
    for i in range(300):
        r = session.get(base + paths[i % len(paths)])
        check(r.status_code == 200, "session request %d: %s" % (i, r.status_code))
        check(r.headers.get("X-Seen-User") == "alice@acme.example", "X-Auth-User not passed")
        check(r.headers.get("X-Seen-Authorization") == "[]", "the feed saw the Authorization header")

    # Headers a client forges under the names the feed trusts never reach it:
    # it sees the check's user, tenant and token id, the peer's address, and
    # no required tenant.
    forged = requests.get(base + "/Sales", auth=("alice@acme.example", value), headers={
        "X-Auth-User": "mallory@acme.example", "X-Auth-Tenant": "globex",
        "X-Auth-Token-Id": "tok_FORGEDFORGEDFORG", "X-Forwarded-For": "203.0.113.9",
        "X-Auth-Require-Tenant": "globex"})
    check(forged.status_code == 200, "forged headers: %s" % forged.status_code)
    seen = {k: forged.headers.get(k) for k in ("X-Seen-User", "X-Seen-Tenant", "X-Seen-Token-Id",
                                               "X-Seen-Forwarded-For", "X-Seen-Require-Tenant")}
    check(seen == {"X-Seen-User": "alice@acme.example", "X-Seen-Tenant": "[acme]",
                   "X-Seen-Token-Id": "[%s]" % token["id"], "X-Seen-Forwarded-For": "[127.0.0.1]",
                   "X-Seen-Require-Tenant": "[]"}, "the feed saw forged headers: %s" % seen)

    # A burst of 200 new client connections at once: none waits for a SYN
    # retry (~1 s) on the way to tokenlog.
    latencies, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(200)
    auth = "Basic " + base64.b64encode(("alice@acme.example:" + value).encode()).decode()

    def one():
        barrier.wait()
        started = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", nginx_port, timeout=10)
            c.request("GET", "/Sales", headers={"Authorization": auth})
            status = c.getresponse().status
            c.close()
        except OSError as e:
            status = str(e)
        with lock:
            latencies.append(time.monotonic() - started)
            if status != 200:
                errors.append(status)
    overflows_before = listen_overflows()
    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "burst errors: %s" % errors[:5])
    # A dropped SYN is retried after 1 s: the kernel counts each drop. (The
    # latency bound is looser, for a loaded machine.)
    check(listen_overflows() == overflows_before,
          "listen queue overflows during the burst: %d" % (listen_overflows() - overflows_before))
    check(max(latencies) < 3, "a burst request took %.3f s" % max(latencies))

    # The failures below are counted per clock minute and estimated over a
    # sliding minute (api/failure_limiter.h): past a minute boundary, the
    # earlier ones count for less, and the 429 comes a failure later. Start
    # them early in a minute, so that all of them (a second or two: a few
    # mints, a revocation and eleven checks) fall in it.
    into_minute = time.time() % 60
    if into_minute > 45:
        time.sleep(60 - into_minute + 0.2)
    refusals_start = time.time()
    refusals_minute = int(refusals_start // 60)

    # Refused: another tenant's token (the site requires acme), a revoked
    # token, a deactivated user, an expired token.
    other = mint(server, server.jwt("eve@globex.example", tenant="globex"))
    check(requests.get(base + "/", auth=("eve@globex.example", other["token"])).status_code == 401,
          "another tenant's token passed")
    revoked = mint(server, alice, "to revoke")
    status, _, _ = server.request("POST", "/v1/tokens/%s/revoke" % revoked["id"], jwt=alice)
    check(status == 200, "revoke")
    check(requests.get(base + "/", auth=("alice@acme.example", revoked["token"])).status_code == 401,
          "a revoked token passed")
    bob_value = mint(server, server.jwt("bob@acme.example"))["token"]
    check(requests.get(base + "/", auth=("bob@acme.example", bob_value)).status_code == 200, "bob")
    status, _, _ = server.request("POST", "/v1/admin/users/bob@acme.example/deactivate", jwt=admin)
    check(status == 200, "deactivate")
    check(requests.get(base + "/", auth=("bob@acme.example", bob_value)).status_code == 401,
          "a deactivated user's token passed")

    # Failed checks past the limit: nginx passes 429 with Retry-After through.
    codes = []
    for i in range(8):
        r = requests.get(base + "/", auth=("mallory@acme.example", "tlp_notavalidtokenvalue%02d" % i))
        codes.append(r.status_code)
    # Three failures were counted above (other tenant, revoked, deactivated):
    # 401 until five in the minute, then 429.
    check(int(time.time() // 60) == refusals_minute,
          "the failed checks spanned a minute boundary (started %.1f s into a minute, took "
          "%.1f s)" % (refusals_start % 60, time.time() - refusals_start))
    check(codes == [401, 401] + [429] * 6, "failures then: %s" % codes)
    r = requests.get(base + "/", auth=("mallory@acme.example", "tlp_bad"))
    check(r.status_code == 429 and int(r.headers.get("Retry-After", "0")) >= 1,
          "429 without Retry-After: %s %s" % (r.status_code, dict(r.headers)))
    # ... while the honest client is still let in.
    check(session.get(base + "/Sales").status_code == 200, "the honest client was locked out")

    # Expired: the same data, tokenlog's clock 100 days on (tokens live 90).
    check(server.stop() == 0, "stop")
    # Meanwhile tokenlog is down: 503 with Retry-After, which Power Query
    # retries (a 500 would fail the refresh).
    r = requests.get(base + "/", auth=("alice@acme.example", value))
    check(r.status_code == 503 and r.headers.get("Retry-After") == "2",
          "tokenlog down: %s %s" % (r.status_code, dict(r.headers)))
    server = Server(binary, data, work, "later", listen="127.0.0.1:%d" % tokenlog_port,
                    extra=args + ("--testing-clock-offset", "100d"))
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        status = requests.get(base + "/", auth=("alice@acme.example", value)).status_code
        if status != 503:
            break
        time.sleep(0.1)
    check(status == 401, "an expired token: %s" % status)
    check(server.stop() == 0, "stop")


if __name__ == "__main__":
    main([("behind nginx auth_request: challenge flow, keep-alive, refusals, 429, burst", behind_nginx)])
