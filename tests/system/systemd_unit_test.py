#!/usr/bin/env python3
"""deploy/tokenlog.service: systemd parses every line of it (an unknown or
misspelt key is only a warning to systemd, and an error here), and its
sandbox rates 4.0 or better in `systemd-analyze security` (the unit before
session 7's hardening rated 8.5, "EXPOSED"). Usage: systemd_unit_test.py TOKENLOG_BINARY"""
import os
import shutil
import subprocess
import sys
import tempfile

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                    "tokenlog.service")
THRESHOLD = "40"  # systemd-analyze's scale is 0..100 for the 0.0..10.0 it prints


def main():
    binary = os.path.abspath(sys.argv[1])
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("FAIL: systemd-analyze is not installed (make test installs systemd)")
        return 1
    text = open(UNIT).read()
    if "ExecStart=/usr/local/bin/tokenlog serve" not in text:
        print("FAIL: the unit's ExecStart is not /usr/local/bin/tokenlog serve")
        return 1
    with tempfile.TemporaryDirectory() as work:
        # The same unit, started from the binary under test (verify checks
        # that ExecStart is executable).
        unit = os.path.join(work, "tokenlog.service")
        with open(unit, "w") as f:
            f.write(text.replace("/usr/local/bin/tokenlog", binary))
        verify = subprocess.run([analyze, "verify", unit], capture_output=True, text=True,
                                timeout=60)
        said = (verify.stdout + verify.stderr).strip()
        if verify.returncode != 0 or said:
            print("FAIL: systemd-analyze verify (exit %d):\n%s" % (verify.returncode, said))
            return 1
        print("ok - systemd parses every line of the unit")
        security = subprocess.run([analyze, "security", "--offline=true", "--threshold=" + THRESHOLD,
                                   unit], capture_output=True, text=True, timeout=60)
        overall = [l for l in security.stdout.splitlines() if "Overall exposure" in l]
        if security.returncode != 0 or not overall:
            print("FAIL: systemd-analyze security above %s (exit %d):\n%s" % (
                THRESHOLD, security.returncode, security.stdout[-3000:] + security.stderr))
            return 1
        print("ok - %s" % overall[0].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
