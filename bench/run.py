#!/usr/bin/python3
"""tokenlog benchmarks (issue #6), each figure with its baseline measured in the same run.

Run by `make bench` (which installs wrk and nginx and builds Release first); stdlib only.
Everything listens on 127.0.0.1; every process started here dies with this script (SIGTERM
on the way out, and PR_SET_PDEATHSIG should this script itself be killed); temporary
directories live under BUILD/bench/work and are removed at the end; sampled token values
stay in a 0600 file there and are never printed.

Writes BUILD/bench/tables.md (markdown, ready for BENCHMARKS.md) and BUILD/bench/summary.json.

Environment (defaults in brackets):
  BUILD_DIR [build]  BENCH_SECONDS [5] per wrk / raw run  BENCH_RUNS [3] runs of each figure
  BENCH_TOKENS [1000000] active tokens in serve's log and in the in-process check
  BENCH_EVENTS [1000000] events of the audit/rebuild benchmark  BENCH_SKIP [] comma list of
  sections to skip: check, nginx, mints, audit, inprocess
"""
import base64
import ctypes
import datetime
import hashlib
import hmac
import json
import os
import platform
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")))
OUT = os.path.join(BUILD, "bench")
WORK = os.path.join(OUT, "work")
SECONDS = max(1, int(float(os.environ.get("BENCH_SECONDS", "5"))))
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "3")))
TOKENS = int(os.environ.get("BENCH_TOKENS", "1000000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
SKIP = set(s for s in os.environ.get("BENCH_SKIP", "").split(",") if s)
CONNECTIONS = [16, 64]
MINT_CLIENTS = [1, 16, 64]
SAMPLE = 1000          # Basic headers the wrk script rotates over
WRK_THREADS = 2

# `tokenlog serve`'s HTTP settings as deployed (deploy/tokenlog.env.example: 256 threads, so that
# nginx's upstream connections never wait for a thread), passed to serve and to the bare handler
# alike so that the two differ only in what the handler does.
SERVER_SETTINGS = ["--threads", "256", "--listen-backlog", "4096"]
SERVE_TIMEOUTS = ["--read-timeout", "10s", "--write-timeout", "10s", "--keep-alive-timeout", "5s"]
BARE_TIMEOUTS = ["--read-timeout", "10", "--write-timeout", "10", "--keep-alive-timeout", "5"]

PROCS = []  # every child still running


class BenchError(Exception):
    pass


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        raise BenchError("%s is not built (make bench builds it)" % path)
    return path


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: SIGTERM this child when the bench process dies.
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def spawn(args, stdout=subprocess.DEVNULL, stderr=None, env=None):
    proc = subprocess.Popen(args, stdout=stdout, stderr=stderr or subprocess.DEVNULL, env=env,
                            preexec_fn=_die_with_parent)
    PROCS.append(proc)
    return proc


def stop(proc, sig=signal.SIGTERM, wait=15):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in PROCS:
        PROCS.remove(proc)
    return proc.returncode


def stop_all():
    for proc in list(PROCS):
        stop(proc, wait=5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, timeout, env=None, what=None):
    """Runs a child to completion (killed past `timeout`); its stdout, or BenchError."""
    proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise BenchError("%s: still running after %d s" % (what or args[0], timeout))
    PROCS.remove(proc)
    if proc.returncode != 0:
        raise BenchError("%s exited %d: %s" % (what or os.path.basename(args[0]), proc.returncode,
                                               err.decode(errors="replace")[-2000:]))
    return out.decode()


def start_listening(args, name, timeout=120):
    """Starts a server that prints `listening on http://HOST:PORT`; (proc, port, seconds)."""
    errlog = open(os.path.join(WORK, name + ".log"), "ab")
    t0 = time.monotonic()
    proc = spawn(args, stdout=subprocess.PIPE, stderr=errlog)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    while not line.endswith(b"\n"):
        left = timeout - (time.monotonic() - t0)
        if left <= 0 or not sel.select(left):
            stop(proc)
            raise BenchError("%s: no `listening on` within %d s (see %s.log)" % (name, timeout, name))
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            stop(proc)
            raise BenchError("%s exited before listening (see work/%s.log)" % (name, name))
        line += chunk
    seconds = time.monotonic() - t0
    sel.close()
    m = re.match(rb"listening on https?://[^ ]+:(\d+)\s*$", line)
    if not m:
        stop(proc)
        raise BenchError("%s printed %r" % (name, line))
    return proc, int(m.group(1)), seconds


def peak_rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise BenchError("no VmHWM for pid %d" % pid)


# ---------------------------------------------------------------- wrk

# Prints wrk's figures as one BENCHJSON line (every wrk script ends with it; %-formatted with
# the script, hence the doubled %).
WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%%d,"duration_us":%%d,"p50_us":%%.1f,' ..
    '"p99_us":%%.1f,"status_errors":%%d,"connect_errors":%%d,"read_errors":%%d,' ..
    '"write_errors":%%d,"timeouts":%%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect, e.read, e.write,
    e.timeout))
end
"""

WRK_SCRIPT = """
-- Rotates over the Authorization headers below (one request table per thread, built once,
-- so the Lua cost per request is the same whatever the target), and prints the figures.
local headers = { %(headers)s }
local counter = 0
function setup(thread)
  thread:set("first", counter * 7919)
  counter = counter + 1
end
local reqs = {}
local n = 0
function init(args)
  for i, h in ipairs(headers) do
    reqs[i] = wrk.format("GET", "%(path)s", { ["Authorization"] = h })
  end
  n = first or 0
end
function request()
  n = n + 1
  return reqs[(n %% #reqs) + 1]
end
""" + WRK_DONE


def wrk_script(name, path, headers):
    file = os.path.join(WORK, name + ".lua")
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(WRK_SCRIPT % {"path": path, "headers": ", ".join('"%s"' % h for h in headers)})
    return file


def wrk(port, path, connections, script, what, threads=WRK_THREADS):
    out = run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % SECONDS, "--latency",
               "--timeout", "10s", "-s", script, "http://127.0.0.1:%d%s" % (port, path)],
              timeout=SECONDS + 60, what="wrk " + what)
    m = re.search(r"^BENCHJSON (.*)$", out, re.M)
    if not m:
        raise BenchError("wrk %s: no figures in its output:\n%s" % (what, out))
    r = json.loads(m.group(1))
    errors = r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + \
        r["timeouts"]
    if errors:
        raise BenchError("wrk %s: %d non-2xx answers and %d socket errors/timeouts" % (
            what, r["status_errors"], errors - r["status_errors"]))
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000.0,
            "p99_ms": r["p99_us"] / 1000.0, "requests": r["requests"]}


# ---------------------------------------------------------------- nginx

NGINX_CONF = """
worker_processes 2;
daemon off;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(p)s/tmp/body;
    proxy_temp_path %(p)s/tmp/proxy;
    fastcgi_temp_path %(p)s/tmp/fastcgi;
    uwsgi_temp_path %(p)s/tmp/uwsgi;
    scgi_temp_path %(p)s/tmp/scgi;
    default_type application/json;

    # The check's baseline: nginx answering 200 itself.
    server {
        listen 127.0.0.1:%(return200)d;
        location / { return 200; }
    }

    # A small static file without auth.
    server {
        listen 127.0.0.1:%(noauth)d;
        root %(root)s;
    }

    # The same file behind auth_basic with an apr1 (salted MD5) htpasswd.
    server {
        listen 127.0.0.1:%(apr1)d;
        root %(root)s;
        auth_basic "bench";
        auth_basic_user_file %(p)s/htpasswd;
    }

    # The same file behind auth_request to tokenlog: the upstream and check location of
    # deploy/nginx/tokenlog-odata.conf, taken from that file (see deploy_check_blocks).
    %(deploy_upstream)s
    server {
        listen 127.0.0.1:%(authreq)d;
        root %(root)s;
        %(deploy_check)s
        location / {
            auth_request /_tokenlog_check;
            auth_request_set $tokenlog_user $upstream_http_x_auth_user;
            add_header X-Seen-User $tokenlog_user;
        }
    }
}
"""


def deploy_check_blocks(tokenlog_port):
    """The `upstream tokenlog_check` block and the `location = /_tokenlog_check` block of the
    shipped nginx site, placeholders filled, so that the benchmark measures what is deployed."""
    site = open(os.path.join(ROOT, "deploy", "nginx", "tokenlog-odata.conf")).read()
    blocks = []
    for start in ("upstream tokenlog_check {", "location = /_tokenlog_check {"):
        m = re.search(re.escape(start) + r"[^}]*}", site)
        if not m:
            raise BenchError("deploy/nginx/tokenlog-odata.conf has no '%s' block" % start)
        blocks.append(m.group(0).replace("@TOKENLOG@", "127.0.0.1:%d" % tokenlog_port)
                      .replace("@TENANT@", "acme"))
    return blocks


def start_nginx(tokenlog_port):
    prefix = os.path.join(WORK, "nginx")
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    root = os.path.join(prefix, "root")
    os.makedirs(root, exist_ok=True)
    # A small OData-like entity set (~1 KiB).
    rows = ",".join('{"Id":%d,"Product":"Widget %d","Amount":%d.50}' % (i, i, 10 * i)
                    for i in range(1, 21))
    with open(os.path.join(root, "Sales"), "w") as f:
        f.write('{"@odata.context":"$metadata#Sales","value":[%s]}\n' % rows)
    password = "bench-" + base64.b16encode(os.urandom(8)).decode().lower()
    hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                            capture_output=True, text=True).stdout.strip()
    if not hashed.startswith("$apr1$"):
        raise BenchError("openssl passwd -apr1 gave no apr1 hash")
    with open(os.path.join(prefix, "htpasswd"), "w") as f:
        f.write("bench:%s\n" % hashed)
    ports = {"return200": free_port(), "noauth": free_port(), "apr1": free_port(),
             "authreq": free_port(), "tokenlog": tokenlog_port}
    upstream, check_location = deploy_check_blocks(tokenlog_port)
    conf = NGINX_CONF % dict(ports, p=prefix, root=root, deploy_upstream=upstream,
                             deploy_check=check_location)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    test = subprocess.run(["nginx", "-t", "-c", path, "-p", prefix], capture_output=True, text=True)
    if test.returncode != 0:
        raise BenchError("nginx -t: " + test.stderr)
    proc = spawn(["nginx", "-c", path, "-p", prefix])
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", ports["return200"]), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise BenchError("nginx did not start: " +
                                 open(os.path.join(prefix, "error.log")).read()[-2000:])
            time.sleep(0.05)
    apr1_header = "Basic " + base64.b64encode(("bench:" + password).encode()).decode()
    return proc, ports, apr1_header


# ---------------------------------------------------------------- figures

def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def fmt_rate(s):
    return "%s/s (%s..%s)" % (fmt_n(s["median"]), fmt_n(s["min"]), fmt_n(s["max"]))


def fmt_n(x):
    return "{:,.0f}".format(x)


def fmt_ratio(x):
    return "%.2f" % x if x >= 0.1 else "%.3f" % x


def fmt_ms(s):
    return "%.2f ms" % s["median"]


def verdict(ok, how_far):
    return "**met**" if ok else "**missed** (%s)" % how_far


def wrk_figures(results):
    return {"rps": summary([r["rps"] for r in results]),
            "p50_ms": summary([r["p50_ms"] for r in results]),
            "p99_ms": summary([r["p99_ms"] for r in results])}


def describe(fig):
    return "%s, p50 %s, p99 %s (%.2f..%.2f)" % (fmt_rate(fig["rps"]), fmt_ms(fig["p50_ms"]),
                                                fmt_ms(fig["p99_ms"]), fig["p99_ms"]["min"],
                                                fig["p99_ms"]["max"])


# ---------------------------------------------------------------- sections

class Report:
    def __init__(self):
        self.sections = []   # markdown blocks
        self.data = {}
        self.failures = []

    def add(self, title, text):
        self.sections.append("## %s\n\n%s\n" % (title, text.rstrip()))


def fill(report):
    data = os.path.join(WORK, "tokens-data")
    values = os.path.join(WORK, "values.txt")
    log("filling %s active tokens (5 per user) into %s" % (fmt_n(TOKENS), data))
    out = run([binary("tokenlog_bench_fill"), "--data", data, "--tokens", str(TOKENS),
               "--sample", str(SAMPLE), "--values", values], timeout=1800)
    info = json.loads(out.strip().splitlines()[-1])
    report.data["fill"] = info
    headers = []
    for line in open(values):
        headers.append("Basic " + base64.b64encode(line.rstrip("\n").encode()).decode())
    log("filled in %.1f s, then %.1f s of RocksDB compaction; %d sampled credentials" % (
        info["seconds"], info.get("compaction_after_s", 0.0), len(headers)))
    return data, headers


def serve_args(data):
    return [binary("tokenlog"), "serve", "--dev", "--data", data, "--listen", "127.0.0.1:0",
            "--trusted-proxies", "127.0.0.1"] + SERVER_SETTINGS + SERVE_TIMEOUTS


def startup(report, data):
    """3 starts on the filled log; returns the last serve, left running."""
    times = []
    proc = port = None
    for i in range(RUNS):
        proc, port, seconds = start_listening(serve_args(data), "serve-1m")
        times.append(seconds)
        log("serve start %d: listening after %.3f s" % (i + 1, seconds))
        if i + 1 < RUNS:
            if stop(proc) != 0:
                raise BenchError("serve exited %s on SIGTERM" % proc.returncode)
    s = summary(times)
    report.data["startup_s"] = s
    return proc, port


def check_over_http(report, serve_port, bare_port, nginx_port, epoll_port, headers):
    script = wrk_script("check", "/v1/auth/check", headers)
    targets = [("tokenlog", serve_port), ("bare", bare_port), ("nginx", nginx_port),
               ("epoll", epoll_port)]
    results = {(t, c): [] for t, _ in targets for c in CONNECTIONS}
    for run_no in range(RUNS):
        for c in CONNECTIONS:
            for name, port in targets:
                r = wrk(port, "/v1/auth/check", c, script, "%s c%d" % (name, c))
                results[(name, c)].append(r)
                log("check run %d, %s, %d conns: %s req/s, p99 %.2f ms" % (
                    run_no + 1, name, c, fmt_n(r["rps"]), r["p99_ms"]))
    figs = {"%s_c%d" % k: wrk_figures(v) for k, v in results.items()}
    report.data["check_http"] = figs
    rows = []
    for c in CONNECTIONS:
        t, b, n = figs["tokenlog_c%d" % c], figs["bare_c%d" % c], figs["nginx_c%d" % c]
        e = figs["epoll_c%d" % c]
        ratio = t["rps"]["median"] / b["rps"]["median"]
        to_nginx = t["rps"]["median"] / n["rps"]["median"]
        report.data["check_http"]["ratio_bare_c%d" % c] = ratio
        report.data["check_http"]["ratio_nginx_c%d" % c] = to_nginx
        target = ">= 0.9x bare"
        ok = ratio >= 0.9
        met = verdict(ok, "by %.0f%%" % ((0.9 - ratio) / 0.9 * 100))
        if c == 64:
            target += "; p99 <= 2 ms"
            p99 = t["p99_ms"]["median"]
            met += "; p99 " + verdict(p99 <= 2.0, "%.1fx the bound" % (p99 / 2.0))
        rows.append("| `GET /v1/auth/check` over HTTP, %d keep-alive connections, %s active "
                    "tokens | %s | bare handler (our HttpServer, same settings, 200): %s; nginx "
                    "`return 200`: %s; an epoll responder doing no work (one thread per CPU, a "
                    "fixed 200 per request head, no HTTP parsing): %s | **%.2fx** bare; %.2fx "
                    "nginx; %.2fx the epoll responder | %s | %s |" % (
                        c, fmt_n(TOKENS), describe(t), describe(b), describe(n), describe(e),
                        ratio, to_nginx, t["rps"]["median"] / e["rps"]["median"], target, met))
    return rows


def behind_nginx(report, ports, headers, apr1_header):
    token_script = wrk_script("authreq", "/Sales", headers)
    apr1_script = wrk_script("apr1", "/Sales", [apr1_header])
    targets = [("auth_request", ports["authreq"], token_script),
               ("apr1", ports["apr1"], apr1_script),
               ("noauth", ports["noauth"], token_script)]
    results = {(t, c): [] for t, _, _ in targets for c in CONNECTIONS}
    for run_no in range(RUNS):
        for c in CONNECTIONS:
            for name, port, script in targets:
                r = wrk(port, "/Sales", c, script, "nginx %s c%d" % (name, c))
                results[(name, c)].append(r)
                log("nginx run %d, %s, %d conns: %s req/s, p99 %.2f ms" % (
                    run_no + 1, name, c, fmt_n(r["rps"]), r["p99_ms"]))
    figs = {"%s_c%d" % k: wrk_figures(v) for k, v in results.items()}
    report.data["behind_nginx"] = figs
    rows = []
    for c in CONNECTIONS:
        t, a, n = figs["auth_request_c%d" % c], figs["apr1_c%d" % c], figs["noauth_c%d" % c]
        ratio = t["rps"]["median"] / a["rps"]["median"]
        to_noauth = t["rps"]["median"] / n["rps"]["median"]
        report.data["behind_nginx"]["ratio_apr1_c%d" % c] = ratio
        report.data["behind_nginx"]["ratio_noauth_c%d" % c] = to_noauth
        target = ">= 2.5x apr1"
        met = verdict(ratio >= 2.5, "by %.0f%%" % ((2.5 - ratio) / 2.5 * 100))
        if c == 64:
            target += "; p99 <= 5 ms"
            p99 = t["p99_ms"]["median"]
            met += "; p99 " + verdict(p99 <= 5.0, "%.1fx the bound" % (p99 / 5.0))
        rows.append("| a ~1 KiB static file behind nginx `auth_request` -> tokenlog (upstream "
                    "keepalive 32, serve --threads 256), %d client connections | %s | nginx `auth_basic`, apr1 "
                    "htpasswd: %s; no auth: %s | **%.2fx** apr1; %.2fx no auth | %s | %s |" % (
                        c, describe(t), describe(a), describe(n), ratio, to_noauth, target, met))
    return rows


MINT_SCRIPT = """
-- POST /v1/tokens {"label":"bench"}, each request with the next of this thread's pre-signed
-- Bearer JWTs (one user each; a user is reused only after the thread has gone through all of
-- its own, and may hold 5 tokens), and prints the figures as the check's script does.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local reqs = {}
local n = 0
function init(args)
  local i = 0
  for line in io.lines(%(jwts)s) do
    if i %% %(threads)d == id then
      reqs[#reqs + 1] = wrk.format("POST", "/v1/tokens",
        { ["Authorization"] = "Bearer " .. line, ["Content-Type"] = "application/json" },
        '{"label":"bench"}')
    end
    i = i + 1
  end
end
function request()
  n = n + 1
  return reqs[(n - 1) %% #reqs + 1]
end
""" + WRK_DONE
MINT_USERS_PER_S = 40000  # pre-signed users per second of a run: mints reuse a user rarely


def sign_jwts(secret, prefix, count, path):
    """HS256 JWTs (as `SignJwtHs256` in api/jwt.cc signs them) for `count` users of
    tenant acme, one per line, in a 0600 file."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")
    head = b64(b'{"alg":"HS256","typ":"JWT"}')
    now = int(time.time())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for i in range(count):
            payload = ('{"sub":"%s-%d@acme.example","tenant":"acme","role":"user","iat":%d,'
                       '"exp":%d}' % (prefix, i, now, now + 3600 + 2 * SECONDS)).encode()
            signing_input = head + b"." + b64(payload)
            mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
            f.write((signing_input + b"." + b64(mac)).decode() + "\n")


def minted_total(port):
    """serve's count of token.minted events appended, from /metrics."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        text = r.read().decode()
    m = re.search(r'^tokenlog_events_appended_total\{type="token\.minted"\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def mints(report):
    """Durable mints driven by wrk (as the check is: two event-loop threads, so that the load
    generator takes as little of the two cores as it can), against the HTTP floor (the bare
    handler answering each POST after a synced RocksDB put) and raw synced puts, alternating."""
    data = os.path.join(WORK, "mint-data")
    proc, port, _ = start_listening(
        [binary("tokenlog"), "serve", "--dev", "--data", data, "--listen", "127.0.0.1:0"] +
        SERVER_SETTINGS + SERVE_TIMEOUTS, "serve-mints")
    floor, floor_port, _ = start_listening(
        [binary("tokenlog_bench_bare"), "--data", os.path.join(WORK, "floor-data"),
         "--durable-dir", os.path.join(WORK, "floor-durable"), "--listen", "127.0.0.1:0"] +
        SERVER_SETTINGS + BARE_TIMEOUTS, "floor")
    secret = open(os.path.join(data, "dev-jwt.secret"), "rb").read().strip()
    load, flo, raw = ({c: [] for c in MINT_CLIENTS} for _ in range(3))
    try:
        for run_no in range(RUNS):
            for c in MINT_CLIENTS:
                threads = min(WRK_THREADS, c)
                jwts = os.path.join(WORK, "jwts-%d-%d.txt" % (run_no, c))
                sign_jwts(secret, "r%dc%d" % (run_no, c), MINT_USERS_PER_S * SECONDS, jwts)
                script = os.path.join(WORK, "mint-%d-%d.lua" % (run_no, c))
                with open(script, "w") as f:
                    f.write(MINT_SCRIPT % {"jwts": json.dumps(jwts), "threads": threads})
                before = minted_total(port)
                r = wrk(port, "/v1/tokens", c, script, "mints %d clients" % c, threads)
                minted = minted_total(port) - before
                # wrk counts the answers it read; up to one request per connection
                # was still in flight when it stopped, and is logged after.
                if not r["requests"] <= minted <= r["requests"] + c:
                    raise BenchError("wrk counted %d mints answered, serve logged %d (%d "
                                     "connections)" % (r["requests"], minted, c))
                load[c].append(r)
                flo[c].append(wrk(floor_port, "/v1/tokens", c, script, "floor %d clients" % c,
                                  threads))
                os.remove(jwts)
                rawdir = os.path.join(WORK, "rawput-%d-%d" % (run_no, c))
                out = run([binary("tokenlog_bench_rawput"), "--dir", rawdir, "--threads", str(c),
                           "--seconds", str(SECONDS)], timeout=SECONDS + 120)
                shutil.rmtree(rawdir, ignore_errors=True)
                p = json.loads(out.strip().splitlines()[-1])
                raw[c].append(p)
                log("mints run %d, %d clients: %s/s (p99 %.1f ms); HTTP floor %s/s; raw synced "
                    "puts %s/s" % (run_no + 1, c, fmt_n(r["rps"]), r["p99_ms"],
                                   fmt_n(flo[c][-1]["rps"]), fmt_n(p["per_s"])))
    finally:
        code = stop(proc)
        stop(floor)
    if code != 0:
        raise BenchError("the mint serve exited %s on SIGTERM" % code)
    figs = {}
    for c in MINT_CLIENTS:
        figs["mint_c%d" % c] = wrk_figures(load[c])
        figs["floor_c%d" % c] = wrk_figures(flo[c])
        figs["rawput_c%d" % c] = {"per_s": summary([r["per_s"] for r in raw[c]]),
                                  "p50_ms": summary([r["p50_ms"] for r in raw[c]]),
                                  "p99_ms": summary([r["p99_ms"] for r in raw[c]])}
    report.data["mints"] = figs
    one = figs["mint_c1"]["rps"]["median"]
    rows = []
    for c in MINT_CLIENTS:
        m, f, p = figs["mint_c%d" % c], figs["floor_c%d" % c], figs["rawput_c%d" % c]
        ratio = m["rps"]["median"] / p["per_s"]["median"]
        to_floor = m["rps"]["median"] / f["rps"]["median"]
        floor_ratio = f["rps"]["median"] / p["per_s"]["median"]
        scale = m["rps"]["median"] / one
        figs["ratio_raw_c%d" % c] = ratio
        figs["ratio_floor_c%d" % c] = to_floor
        figs["floor_ratio_raw_c%d" % c] = floor_ratio
        figs["scale_c%d" % c] = scale
        if c == 64:
            target = ">= 0.5x raw; >= 3x the 1-client rate"
            met = "%s; %s" % (verdict(ratio >= 0.5, "by %.0f%%" % ((0.5 - ratio) / 0.5 * 100)),
                              verdict(scale >= 3, "%.1fx instead of 3x" % scale))
        else:
            target, met = "—", "(reported)"
        rows.append("| durable mints, `POST /v1/tokens` over keep-alive HTTP with a Bearer JWT, "
                    "%d concurrent client%s (wrk, %d thread%s) | %s | RocksDB synced puts (400 B), "
                    "%d thread%s: %s/s (%s..%s), p50 %.2f ms; HTTP floor (the bare handler, each "
                    "POST answered after a synced put of 400 B): %s | **%sx** raw (the floor "
                    "%sx); %.2fx the floor; %.1fx the 1-client rate | %s | %s |" % (
                        c, "" if c == 1 else "s", min(WRK_THREADS, c),
                        "" if min(WRK_THREADS, c) == 1 else "s", describe(m), c,
                        "" if c == 1 else "s", fmt_n(p["per_s"]["median"]),
                        fmt_n(p["per_s"]["min"]), fmt_n(p["per_s"]["max"]),
                        p["p50_ms"]["median"], describe(f), fmt_ratio(ratio),
                        fmt_ratio(floor_ratio), to_floor, scale, target, met))
    return rows


def existing_benches(report, rows, skip_audit, skip_inprocess):
    """The audit/rebuild and in-process check benchmarks: their rows, with a verdict column,
    appended to `rows` as each finishes."""
    env = dict(os.environ, TMPDIR=WORK)
    if not skip_audit:
        log("tokenlog_audit_bench --events %d (fill, 5 page runs, 3 rebuilds)" % EVENTS)
        path = os.path.join(OUT, "audit.json")
        out = run([binary("tokenlog_audit_bench"), "--events", str(EVENTS), "--json", path],
                  timeout=3600, env=env)
        j = json.load(open(path))
        report.data["audit"] = j
        for line in out.splitlines():
            if line.startswith("| activity page"):
                rows.append(line + " %s |" % verdict(j["activity_ratio"] <= 1.5, "by %.0f%%" % (
                    (j["activity_ratio"] / 1.5 - 1) * 100)))
            elif line.startswith("| rebuild"):
                rows.append(line + " %s |" % verdict(j["rebuild_ratio"] <= 5, "%.1fx the bound" % (
                    j["rebuild_ratio"] / 5)))
    if not skip_inprocess:
        log("tokenlog_check_bench --tokens %d" % TOKENS)
        path = os.path.join(OUT, "check.json")
        out = run([binary("tokenlog_check_bench"), "--tokens", str(TOKENS), "--json", path],
                  timeout=3600, env=env)
        j = json.load(open(path))
        report.data["check_in_process"] = j
        for line in out.splitlines():
            if line.startswith("| OData check in process, hot"):
                rows.append(line + " (reported) |")
            elif line.startswith("| floor of a cold check"):
                rows.append(line + " (reported: the highest rate a check that reads one line "
                            "per token can reach here) |")
            elif line.startswith("| OData check in process"):
                rows.append(line + " %s |" % verdict(j["ratio"] >= 0.5, "by %.0f%%" % (
                    (0.5 - j["ratio"]) / 0.5 * 100)))


def machine():
    mem = "?"
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = "%.1f GiB" % (int(line.split()[1]) / 1024.0 / 1024.0)
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(), "memory": mem, "cpu": cpu,
            "kernel": platform.release(), "loadavg_start": open("/proc/loadavg").read().split()[:3]}


HEADER = "| what | measured (median of runs; min..max) | baseline in the same run | ratio | target | met? |\n|---|---|---|---|---|---|"


def main():
    t_start = time.monotonic()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    if os.path.exists(WORK):
        shutil.rmtree(WORK)
    os.makedirs(WORK)
    report = Report()
    report.data["machine"] = m = machine()
    report.data["settings"] = {"seconds": SECONDS, "runs": RUNS, "tokens": TOKENS,
                               "events": EVENTS, "wrk_threads": WRK_THREADS,
                               "connections": CONNECTIONS, "mint_clients": MINT_CLIENTS}
    command = os.environ.get("BENCH_COMMAND", "make bench")
    log("machine: %s" % m)
    # Rows of each table, written even when a later section fails.
    http_rows, nginx_rows, mint_rows, other_rows, mem_rows = [], [], [], [], []
    try:
        if not {"check", "nginx"} <= SKIP:
            data, headers = fill(report)
            serve, serve_port = startup(report, data)
            s = report.data["startup_s"]
            mem_rows.append("| start-up: `tokenlog serve` on a log of %s active tokens, spawn to "
                            "`listening on` | %.3f s (%.3f..%.3f); the starts in order: %s (the "
                            "first one right after the fill) | — | — | <= 1 s | %s |" % (
                                fmt_n(TOKENS), s["median"], s["min"], s["max"],
                                ", ".join("%.2f s" % x for x in s["runs"]),
                                verdict(s["median"] <= 1.0, "%.1fx the bound" % s["median"])))
            bare, bare_port, _ = start_listening(
                [binary("tokenlog_bench_bare"), "--data", os.path.join(WORK, "bare-data"),
                 "--listen", "127.0.0.1:0"] + SERVER_SETTINGS + BARE_TIMEOUTS, "bare")
            epoll, epoll_port, _ = start_listening(
                [binary("tokenlog_bench_epoll"), "--listen", "127.0.0.1:0"], "epoll")
            nginx, ports, apr1_header = start_nginx(serve_port)
            if "check" not in SKIP:
                http_rows += check_over_http(report, serve_port, bare_port, ports["return200"],
                                            epoll_port, headers)
            rss = peak_rss_mb(serve.pid)
            report.data["serve_peak_rss_mb"] = rss
            mem_rows.append("| memory: peak RSS (VmHWM) of `tokenlog serve` holding %s active "
                            "tokens, after the HTTP check runs | %.0f MB | — | — | <= 400 MB | %s |"
                            % (fmt_n(TOKENS), rss, verdict(rss <= 400, "%.1fx the bound" % (rss / 400))))
            if "nginx" not in SKIP:
                nginx_rows += behind_nginx(report, ports, headers, apr1_header)
                report.data["serve_peak_rss_mb_end"] = peak_rss_mb(serve.pid)
            stop(nginx, signal.SIGQUIT)
            stop(epoll)
            stop(bare)
            code = stop(serve)
            if code != 0:
                raise BenchError("serve exited %s on SIGTERM" % code)
            shutil.rmtree(data, ignore_errors=True)
        if "mints" not in SKIP:
            mint_rows += mints(report)
        existing_benches(report, other_rows, "audit" in SKIP, "inprocess" in SKIP)
    except BenchError as e:
        report.failures.append(str(e))
        log("FAILED: %s" % e)
    except (KeyboardInterrupt, SystemExit):
        report.failures.append("interrupted")
        raise
    finally:
        stop_all()
        tables = [("The OData check over HTTP (wrk, %d threads, %d s per run)" % (WRK_THREADS, SECONDS),
                   http_rows),
                  ("The OData check behind nginx (wrk, %d threads, %d s per run)" % (WRK_THREADS, SECONDS),
                   nginx_rows),
                  ("Durable mints over HTTP (wrk, %d s per run)" % SECONDS, mint_rows),
                  ("Start-up and memory", mem_rows),
                  ("In process: the check, activity pages, rebuild", other_rows)]
        for title, rows in tables:
            if rows:
                report.add(title, HEADER + "\n" + "\n".join(rows))
        elapsed = time.monotonic() - t_start
        report.data["bench_seconds"] = elapsed
        report.data["failures"] = report.failures
        os.makedirs(OUT, exist_ok=True)
        top = ("# tokenlog benchmarks, %s\n\n"
               "Machine: `nproc` %s, %s RAM (%s), kernel %s; load average at the start %s.\n"
               "Command: `%s` (BENCH_SECONDS=%d, BENCH_RUNS=%d, BENCH_TOKENS=%d, "
               "BENCH_EVENTS=%d); these runs took %.0f s.\n"
               "Every figure is the median of %d runs (min..max), each run alternating the "
               "measured target and its baselines.\n" % (
                   m["date"], m["nproc"], m["memory"], m["cpu"], m["kernel"],
                   " ".join(m["loadavg_start"]), command, SECONDS, RUNS, TOKENS, EVENTS, elapsed,
                   RUNS))
        if report.failures:
            top += "\n**FAILED**: " + "; ".join(report.failures) + "\n"
        with open(os.path.join(OUT, "tables.md"), "w") as f:
            f.write(top + "\n" + "\n".join(report.sections))
        with open(os.path.join(OUT, "summary.json"), "w") as f:
            json.dump(report.data, f, indent=1, sort_keys=True)
        shutil.rmtree(WORK, ignore_errors=True)
        log("wrote %s and summary.json (%.0f s)" % (os.path.join(OUT, "tables.md"), elapsed))
    if report.failures:
        return 1
    print(open(os.path.join(OUT, "tables.md")).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
