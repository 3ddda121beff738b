#!/usr/bin/env python3
"""No token value reaches the data directory or the server's output.

After a workload (mints, rotations, lookups, allowed and refused checks,
revocations, a restart), no minted value, nor its 36 characters after the
prefix, appears in any file of the data directory, in any column family as
RocksDB returns it (decompressed, through `ldb`), in the CLI's exports, or in
the server's stdout/stderr.

Usage: secret_hygiene_test.py /path/to/tokenlog
"""
import base64
import json
import os
import subprocess

from harness import Server, check, main, tokenlog


def hygiene(binary, work):
    data = os.path.join(work, "data")
    server = Server(binary, data, work)
    values = []
    alice = server.jwt("alice@acme.example")
    admin = server.jwt("root@acme.example", role="admin")
    ids = []
    for i in range(5):
        status, _, body = server.request("POST", "/v1/tokens", jwt=alice, body={"label": "t%d" % i})
        check(status == 201, "mint")
        obj = json.loads(body)
        values.append(obj["token"])
        ids.append(obj["id"])
    status, _, body = server.request("POST", "/v1/tokens/%s/rotate" % ids[0], jwt=alice)
    check(status == 201, "rotate")
    values.append(json.loads(body)["token"])
    for v in values:
        server.check("alice@acme.example", v)
        server.check("mallory@acme.example", v)
        status, _, _ = server.request("POST", "/v1/admin/tokens/lookup", jwt=admin, body={"token": v})
        check(status == 200, "lookup")
    # A value pasted into the username field as well (a user_mismatch denial whose claimed
    # user is the value), and a User-Agent carrying one on an allowed check.
    for v in values[2:]:
        check(server.check(v, v) == 401, "the value as its own username is refused")
        basic = base64.b64encode(("alice@acme.example:" + v).encode()).decode()
        status, _, _ = server.request("GET", "/v1/auth/check",
                                      headers={"Authorization": "Basic " + basic,
                                               "User-Agent": "PowerBI " + v})
        check(status == 200, "a check whose User-Agent holds the value is allowed")
    server.request("POST", "/v1/tokens/%s/revoke" % ids[1], jwt=alice)
    server.check("alice@acme.example", values[1])
    check(server.stop() == 0, "stop")
    server = Server(binary, data, work, "again")
    for v in values:
        server.check("alice@acme.example", v)
    check(server.stop() == 0, "stop")

    needles = []
    for v in values:
        needles += [v.encode(), v[4:].encode(), v[4:].encode().hex().encode(), v[4:].encode().hex().upper().encode()]

    def scan(label, blob):
        for n in needles:
            check(n not in blob, "a token value appears in " + label)

    # Every file of the data directory, as stored.
    for root, _, files in os.walk(data):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                scan(os.path.join(root, name), f.read())
    # Every column family as RocksDB returns it (decompressed).
    families = subprocess.run(["ldb", "--db=" + data, "list_column_families"], capture_output=True,
                              text=True, check=True).stdout
    names = [n.strip() for n in families[families.index("{") + 1:families.index("}")].split(",")]
    check("events" in names and "tokens" in names and "token_hash" in names, "column families: %s" % names)
    for cf in names:
        dump = subprocess.run(["ldb", "--db=" + data, "--column_family=" + cf, "--hex", "scan"],
                              capture_output=True, check=True).stdout
        scan("column family " + cf, dump)
    # The CLI's exports and the server's own output.
    exported = tokenlog(binary, "events", "--data", data, "--json").stdout
    scan("events --json", exported.encode())
    # What those events hold instead: the placeholder, on each of the four values' events.
    # (Whether an earlier denial of the same token was flushed before it does not matter here:
    # every event, flushed early or late, went through the needle scans above.)
    withheld = "(withheld: it held a token prefix)"
    events = [json.loads(line) for line in exported.splitlines() if line.strip()]
    denied = [e for e in events if e["type"] == "auth.denied" and e["data"]["claimed_user"] == withheld]
    used = [e for e in events if e["type"] == "token.used" and e["data"]["user_agent"] == withheld]
    check(len({e["token_id"] for e in denied}) == 4, "claimed users withheld: %d events" % len(denied))
    check(len({e["token_id"] for e in used}) == 4, "User-Agents withheld: %d events" % len(used))
    scan("server output", server.output())


if __name__ == "__main__":
    main([("no token value in the data directory or the output", hygiene)])
