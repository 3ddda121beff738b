#!/usr/bin/env python3
"""Crash safety and graceful stop of a real `tokenlog serve`.

crash: concurrent mints and revokes, SIGKILL at random moments over several
cycles, restart; every acknowledged mint authenticates, every acknowledged
revoke is denied, `verify` passes (chain and projections equal a replay).

graceful stop: SIGTERM under load finishes the requests in flight, flushes
pending usage, exits 0 within a few seconds; the log verifies afterwards.

Usage: crash_and_stop_test.py /path/to/tokenlog
"""
import json
import os
import random
import signal
import threading
import time

from harness import Server, check, main, tokenlog

USERS = ["user%d@acme.example" % i for i in range(8)]


def worker(server, jwt, user, stop, acked, lock, rng):
    """Mints and revokes for one user; records what the server acknowledged."""
    mine = []  # (id, value) acknowledged as active
    while not stop.is_set():
        if len(mine) >= 4 or (mine and rng.random() < 0.3):
            token_id, value = mine.pop(rng.randrange(len(mine)))
            status, _, _ = server.request("POST", "/v1/tokens/%s/revoke" % token_id, jwt=jwt, timeout=10)
            with lock:
                if status == 200:
                    acked["revoked"].append((user, value))
                else:
                    acked["unknown"].append((user, value))  # in flight at the kill
            if status is None:
                return
            continue
        status, _, body = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": "crash"}, timeout=10)
        if status is None:
            return
        if status == 201:
            obj = json.loads(body)
            mine.append((obj["id"], obj["token"]))
            with lock:
                acked["minted"].append((user, obj["token"]))


def run_until_killed(server, users, rng, lock):
    """Workers mint and revoke until SIGKILL hits the server at a random moment."""
    acked = {"minted": [], "revoked": [], "unknown": []}
    stop = threading.Event()
    threads = [threading.Thread(target=worker,
                                args=(server, server.jwt(u), u, stop, acked, lock, random.Random(rng.random())))
               for u in users]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.4, 1.2))
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return acked


def expect_acknowledged(server, acked):
    """Acknowledged mints authenticate, acknowledged revokes are denied; tokens
    whose revoke was in flight at the kill may be either."""
    revoked = {v for _, v in acked["revoked"]}
    unknown = {v for _, v in acked["unknown"]}
    for user, value in acked["minted"]:
        if value not in revoked and value not in unknown:
            check(server.check(user, value) == 200, "an acknowledged mint does not authenticate after SIGKILL")
    for user, value in acked["revoked"]:
        check(server.check(user, value) == 401, "an acknowledged revoke is not denied after SIGKILL")


def crash_cycles(binary, work):
    data = os.path.join(work, "data")
    rng = random.Random(20261129)
    lock = threading.Lock()
    total = 0
    # Hundreds of denied checks come from one address: no failure limit here.
    no_limit = ("--auth-failure-limit", "0")
    for cycle in range(5):
        server = Server(binary, data, work, "cycle%d" % cycle, extra=no_limit)
        acked = run_until_killed(server, USERS, rng, lock)
        total += len(acked["minted"])
        server = Server(binary, data, work, "after%d" % cycle, extra=no_limit)
        expect_acknowledged(server, acked)
        # Clear the caps for the next cycle: deactivation revokes every active
        # token, reactivation brings none back.
        admin = server.jwt("root@acme.example", role="admin")
        for u in USERS:
            for action in ("deactivate", "reactivate"):
                status, _, _ = server.request("POST", "/v1/admin/users/%s/%s" % (u, action), jwt=admin)
                check(status == 200, "%s %s: %s" % (action, u, status))
        check(server.stop() == 0, "serve did not exit 0 on SIGTERM")
        v = tokenlog(binary, "verify", "--data", data)
        check(v.returncode == 0, "verify after cycle %d: %s%s" % (cycle, v.stdout, v.stderr))
    check(total >= 40, "too few acknowledged mints: %d" % total)


def graceful_stop(binary, work):
    data = os.path.join(work, "data")
    server = Server(binary, data, work, extra=("--usage-interval", "1h"))
    jwt = server.jwt("alice@acme.example")
    status, _, body = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": "pbi"})
    check(status == 201, "mint")
    value = json.loads(body)["token"]
    # The first use is logged at once; these later uses stay pending (1 h
    # interval) until the shutdown flush.
    check(server.check("alice@acme.example", value) == 200, "check")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = tokenlog(binary, "events", "--data", data, "--type", "token.used", "--json").stdout
        if out.strip():
            break
        time.sleep(0.1)
    for _ in range(7):
        check(server.check("alice@acme.example", value) == 200, "check")

    lock = threading.Lock()
    acked = {"minted": [], "revoked": [], "unknown": []}
    stop = threading.Event()
    users = ["load%d@acme.example" % i for i in range(6)]
    threads = [threading.Thread(target=worker, args=(server, server.jwt(u), u, stop, acked, lock, random.Random(i)))
               for i, u in enumerate(users)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    started = time.monotonic()
    rc = server.stop(signal.SIGTERM, timeout=10)
    took = time.monotonic() - started
    stop.set()
    for t in threads:
        t.join(timeout=30)
    check(rc == 0, "SIGTERM exit code %s" % rc)
    check(took < 8, "SIGTERM took %.1f s" % took)
    check(b"stopped" in server.output(), "no clean stop message")
    v = tokenlog(binary, "verify", "--data", data)
    check(v.returncode == 0, "verify after SIGTERM: " + v.stdout + v.stderr)
    used = [json.loads(line) for line in
            tokenlog(binary, "events", "--data", data, "--type", "token.used", "--json").stdout.splitlines()]
    check(sum(e["data"]["count"] for e in used) == 8, "usage not flushed at stop: %s" % used)
    # Every acknowledged mint is there.
    server = Server(binary, data, work, "restarted", extra=("--auth-failure-limit", "0"))
    revoked = {v for _, v in acked["revoked"]} | {v for _, v in acked["unknown"]}
    for user, value in acked["minted"]:
        if value not in revoked:
            check(server.check(user, value) == 200, "an acknowledged mint is lost after SIGTERM")
    for user, value in acked["revoked"]:
        check(server.check(user, value) == 401, "an acknowledged revoke is lost after SIGTERM")
    check(server.stop() == 0, "serve did not exit 0")


if __name__ == "__main__":
    main([("crash: SIGKILL cycles lose nothing acknowledged", crash_cycles),
          ("graceful stop under load", graceful_stop)])
