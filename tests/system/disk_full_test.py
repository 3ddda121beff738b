#!/usr/bin/env python3
"""A full disk under a running `tokenlog serve` (data directory on a tmpfs the
test mounts; needs root, as CI and the project's machines run).

While the disk is full: state changes answer 503 `unavailable` with
Retry-After, the OData check keeps answering from what is stored, nothing
half-written appears. Once space returns the service recovers by itself.

Usage: disk_full_test.py /path/to/tokenlog
"""
import json
import os
import subprocess
import time

from harness import Server, check, main, tokenlog

# RocksDB resumes after a no-space error only once the free space exceeds its
# write buffer (64 MiB); the tmpfs leaves room for that once the filler goes.
TMPFS_SIZE = "160m"


def full_disk(binary, work):
    if os.geteuid() != 0:
        print("skipped: mounting a tmpfs needs root")
        return
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs", mnt], check=True)
    try:
        run(binary, work, mnt)
    finally:
        subprocess.run(["umount", "-l", mnt], check=False)


def run(binary, work, mnt):
    data = os.path.join(mnt, "data")
    server = Server(binary, data, work, extra=("--auth-failure-limit", "0"))
    jwt = server.jwt("alice@acme.example")
    status, _, body = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": "before"})
    check(status == 201, "mint before the disk fills")
    value = json.loads(body)["token"]

    # Fill the filesystem.
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass

    # Appends go on into the last partly used page, then one fails: 503.
    failed = None
    acked = 0
    for _ in range(2000):
        status, headers, body = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": "during"})
        if status == 503:
            failed = (headers, json.loads(body))
            break
        check(status == 201, "unexpected answer while filling: %s" % status)
        acked += 1
        token_id = json.loads(body)["id"]
        status, _, _ = server.request("POST", "/v1/tokens/%s/revoke" % token_id, jwt=jwt)
        if status == 503:
            failed = ({"Retry-After": "1"}, {"type": "unavailable"})
            break
    check(failed is not None, "no write failed on a full disk")
    check(failed[1]["type"] == "unavailable", "a failed write is not `unavailable`")
    check("Retry-After" in failed[0], "503 without Retry-After")
    check(data not in json.dumps(failed[1]) and ".log" not in json.dumps(failed[1]),
          "the 503 names a file: %s" % failed[1])
    # Still full: state changes refused, the check answers, readiness says so.
    for _ in range(3):
        status, _, _ = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": "during"})
        check(status == 503, "a write answered %s on a full disk" % status)
    check(server.check("alice@acme.example", value) == 200, "the check stopped working on a full disk")
    status, _, _ = server.request("GET", "/readyz")
    check(status == 503, "readyz says ready on a full disk")
    # A command the writer refuses writes nothing: it says nothing about the
    # disk, and readiness stays as it was.
    status, _, _ = server.request("POST", "/v1/tokens/tok_0000000000000000/revoke", jwt=jwt)
    check(status == 404, "revoking an unknown token on a full disk: %s" % status)
    status, _, _ = server.request("GET", "/readyz")
    check(status == 503, "readyz says ready on a full disk after a refused command")
    status, _, _ = server.request("GET", "/healthz")
    check(status == 200, "healthz")

    # Space returns: the service recovers by itself, readiness first, without
    # any write to prompt it (a balancer that routes by /readyz sends none).
    os.remove(filler)
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status, _, _ = server.request("GET", "/readyz")
        if status == 200:
            break
        time.sleep(0.2)
    check(status == 200, "readyz not back within 60 s of space returning (%s)" % status)
    status, _, body = server.request("POST", "/v1/tokens", jwt=jwt, body={"label": "after"})
    check(status == 201, "a write after readyz came back: %s %s" % (status, body))
    check(server.stop() == 0, "serve did not exit 0")

    # Nothing half-written: the log verifies and holds exactly the acknowledged changes.
    v = tokenlog(binary, "verify", "--data", data)
    check(v.returncode == 0, "verify after the full disk: " + v.stdout + v.stderr)
    events = [json.loads(l) for l in tokenlog(binary, "events", "--data", data, "--json").stdout.splitlines()]
    labels = [e["data"]["label"] for e in events if e["type"] == "token.minted"]
    check(labels.count("during") == acked, "mints in the log %d != acknowledged %d" % (labels.count("during"), acked))
    check(labels[0] == "before" and labels[-1] == "after", "labels %s" % labels)


if __name__ == "__main__":
    main([("a full disk: 503, checks go on, recovery", full_disk)])
