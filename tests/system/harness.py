"""Real `tokenlog serve` processes for the system tests (stdlib only).

Every server listens on 127.0.0.1 port 0; every wait has a deadline; every
process started here is killed when the test exits.
"""
import atexit
import base64
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

_PROCS = []


def _kill_all():
    # SIGTERM first: nginx's master takes its workers down with it then
    # (after a SIGKILL they would linger on the port).
    for p in _PROCS:
        if p.poll() is None:
            p.terminate()
    for p in _PROCS:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


atexit.register(_kill_all)


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


class Server:
    """One `tokenlog serve --dev` process; output captured to files."""

    def __init__(self, binary, data, work, name="server", extra=(), listen="127.0.0.1:0"):
        self.binary, self.data = binary, data
        self.out_path = os.path.join(work, name + ".out")
        self.err_path = os.path.join(work, name + ".err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "serve", "--dev", "--data", data, "--listen", listen, *extra],
                stdout=out, stderr=err)
        _PROCS.append(self.proc)
        deadline = time.monotonic() + 30
        self.port = None
        while time.monotonic() < deadline:
            text = open(self.out_path).read()
            m = re.search(r"^listening on (https?)://127\.0\.0\.1:(\d+)$", text, re.M)
            if m:
                self.scheme, self.port = m.group(1), int(m.group(2))
                break
            if self.proc.poll() is not None:
                raise Failure("serve exited %s: %s" % (self.proc.returncode, open(self.err_path).read()))
            time.sleep(0.05)
        check(self.port, "serve did not print its listening line")
        self.base = "%s://127.0.0.1:%d" % (self.scheme, self.port)
        self.ssl_context = None  # set by a TLS test to trust its certificate

    def jwt(self, user, tenant="acme", role="user"):
        return subprocess.run(
            [self.binary, "dev-jwt", "--data", self.data, "--user", user, "--tenant", tenant,
             "--role", role, "--ttl", "2h"], check=True, capture_output=True, text=True).stdout.strip()

    def request(self, method, path, jwt=None, body=None, headers=None, timeout=30):
        """(status, headers, body bytes); (None, None, None) on a transport error,
        including an answer cut off mid-body (a server killed while writing it:
        the client never got the whole answer, so it was not acknowledged)."""
        req = urllib.request.Request(self.base + path, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if jwt:
            req.add_header("Authorization", "Bearer " + jwt)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header("Content-Type", "application/json")
        try:
            try:
                with urllib.request.urlopen(req, data=data, timeout=timeout, context=self.ssl_context) as r:
                    return r.status, dict(r.headers), r.read()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read()
        except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException):
            return None, None, None

    def check(self, user, value):
        token = base64.b64encode(("%s:%s" % (user, value)).encode()).decode()
        status, _, _ = self.request("GET", "/v1/auth/check", headers={"Authorization": "Basic " + token})
        return status

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("serve did not stop within %d s of signal %d" % (timeout, sig))

    def output(self):
        return open(self.out_path, "rb").read() + open(self.err_path, "rb").read()


def free_port():
    """A port that was free a moment ago (for servers that need a fixed one)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tokenlog(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True)


def main(tests):
    """Runs each (name, fn(binary, work)) and prints the closing line ctest reads."""
    binary = os.path.abspath(sys.argv[1])
    passed = failed = 0
    for name, fn in tests:
        work = tempfile.mkdtemp(prefix="tokenlog-sys-")
        try:
            fn(binary, work)
            print("ok - " + name, flush=True)
            passed += 1
        except Exception as e:  # noqa: BLE001 - report every failure kind
            print("FAIL - %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            failed += 1
        finally:
            _kill_all()
            _PROCS.clear()
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
