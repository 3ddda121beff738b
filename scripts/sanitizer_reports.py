#!/usr/bin/env python3
"""Judges the sanitizer reports that scripts/sanitize.sh collected.

Usage: sanitizer_reports.py REPORT_DIR REPO_ROOT

Every AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer report
fails the run. A ThreadSanitizer report fails it too, except a data race whose
two accesses both happen inside one of Debian's shared libraries, which are
not instrumented: TSan does not see the atomics and the guards of function
statics they synchronise with, so their own lock-free structures look racy
(RocksDB's memtable skip list read while the writer thread inserts, its cache
role registry, cpp-httplib's function-static std::regex objects). Also set
aside: our code reading what a library wrote into memory the library
allocated (a value in RocksDB's memtable, read through an iterator while the
writer thread inserts), published by the same unseen atomics. An access is
"inside a library" when the first frame below the sanitizer's own
interceptors that is not a template from /usr/include belongs to a shared
library. Every other race (a write in tokenlog's code or in a template it
instantiated, memory tokenlog allocated, an unknown frame) counts.

Exit status: 0 when nothing counts, 1 otherwise (the reports that count are
printed, with how many were set aside).
"""
import os
import re
import sys

FRAME = re.compile(r"^\s+#\d+ (?P<body>.*?)(?: \((?P<module>[^()]+)\+0x[0-9a-f]+\))?$")
FILE = re.compile(r" (?P<file>/\S+?)(?::\d+)*$")
ACCESS = re.compile(r"^  (Previous )?(atomic )?(Read|Write|read|write|Atomic read|Atomic write)\b")


def frame_owner(line, repo):
    """'ours', 'library' or None (skip: sanitizer runtime or a header template)."""
    m = FRAME.match(line)
    if not m:
        return "ours"
    module = m.group("module") or ""
    body = m.group("body")
    f = FILE.search(body)
    path = f.group("file") if f else ""
    base = os.path.basename(module)
    if "libsanitizer" in path or base.startswith(("libtsan.so", "libasan.so", "libubsan.so")):
        return None
    if path.startswith(repo + "/"):
        return "ours"
    if path.startswith("/usr/include/"):
        return None
    if base.startswith("lib") and ".so" in base:
        return "library"
    return "ours"


def access_owner(frames, repo):
    for line in frames:
        owner = frame_owner(line, repo)
        if owner is not None:
            return owner
    return "ours"


def library_internal_race(block, repo):
    """True for a data race whose every access is inside a shared library."""
    if "WARNING: ThreadSanitizer: data race" not in block:
        return False
    accesses, writes, location = [], [], []
    current = None
    for line in block.splitlines():
        if ACCESS.match(line):
            current = []
            accesses.append(current)
            writes.append("write" in line.lower())
        elif line.startswith("  Location is heap block"):
            current = location
        elif current is not None and line.lstrip().startswith("#"):
            current.append(line)
        elif current is not None and "[failed to restore the stack]" in line:
            pass  # TSan keeps a bounded history; the location may still tell
        else:
            current = None
    if len(accesses) < 2:
        return False
    # An access whose stack TSan could not restore is judged by who
    # allocated the memory: a library's own heap block, written by one of its
    # threads, is the library's business.
    allocated = access_owner(location, repo) if location else "ours"
    owners = [access_owner(a, repo) if a else allocated for a in accesses]
    if all(o == "library" for o in owners):
        return True
    # Our code reading what a library wrote into its own memory (a value in
    # RocksDB's memtable, read through an iterator while the writer thread
    # inserts): the library publishes it with atomics TSan does not see.
    return allocated == "library" and all(
        o == "library" for o, w in zip(owners, writes) if w)


def split_reports(text):
    """The reports of one log file (TSan separates them with ===== lines)."""
    blocks = re.split(r"^=+\s*$", text, flags=re.M)
    return [b for b in blocks if re.search(r"(ERROR|WARNING): \w+Sanitizer|runtime error", b)]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    report_dir, repo = sys.argv[1], os.path.realpath(sys.argv[2])
    counted, set_aside = [], 0
    for name in sorted(os.listdir(report_dir)):
        with open(os.path.join(report_dir, name), errors="replace") as f:
            text = f.read()
        blocks = split_reports(text)
        if not blocks and text.strip():
            counted.append((name, text))  # something the sanitizer wrote that we do not parse
        for block in blocks:
            if library_internal_race(block, repo):
                set_aside += 1
            else:
                counted.append((name, block))
    for name, block in counted:
        print(f"--- {name}")
        print(block.strip())
    print(f"sanitizer reports: {len(counted)} in tokenlog's code, {set_aside} set aside "
          f"(races inside uninstrumented shared libraries)")
    return 1 if counted else 0


if __name__ == "__main__":
    sys.exit(main())
