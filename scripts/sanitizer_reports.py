#!/usr/bin/env python3
"""Judges the sanitizer reports that scripts/sanitize.sh collected.

Usage: sanitizer_reports.py REPORT_DIR REPO_ROOT

Everything a sanitizer wrote counts (fails the run), except two shapes of
ThreadSanitizer data race inside the two uninstrumented Debian libraries that
synchronise with atomics and function-static guards TSan cannot see:

1. Both accesses inside RocksDB or cpp-httplib themselves: their lock-free
   structures (the memtable skip list, the cache role registry,
   `Version::Unref`) and the function-static std::regex objects of
   cpp-httplib's client and server.
2. RocksDB's memtable: the write is `rocksdb::MemTable::Add` (or the memory is
   a memtable arena block) and every write is inside RocksDB; our code may be
   the reader (a value read through an iterator while the writer thread
   inserts, published by the skip list's atomics).

An access is "inside a library" when its first frame that is neither the
sanitizer runtime nor a template (a /usr/include header, libstdc++, or a
std:: function without a source line, which run on behalf of their caller)
belongs to librocksdb or libcpp-httplib. Any
other library (libcrypto, libc, Boost) counts as ours: misusing its objects
from two threads is our race. An access whose stack TSan could not restore
counts as ours, except on memtable memory (shape 2). Only the access lines
decide what is a write (a read made holding a mutex says "mutexes: write M"),
and any text besides report blocks and TSan's closing "reported N warnings"
counts too (a CHECK failure, a FATAL).

3. A data race report cut short (the file ends inside it, with no closing
   "====" line: the process was killed, by a test's SIGKILL, while TSan was
   writing it) that got no further than its first access, when that access
   is inside one of the two libraries: its other access is unknown, and the
   one shown is the first access of shape 1's races. Listed by name when set
   aside. Cut short anywhere else, or with a first access of ours, it counts.

Exit status: 0 when nothing counts, 1 otherwise (the reports that count are
printed, with how many were set aside).
"""
import os
import re
import sys

FRAME = re.compile(r"^\s+#\d+ (?P<body>.*?)(?: \((?P<module>[^()]+)\+0x[0-9a-f]+\))?$")
FILE = re.compile(r" (?P<file>/\S+?)(?::\d+)*$")
# "  Read of size", "  Previous write of size", "  Atomic read of size",
# "  Previous atomic write of size": the kind is what precedes " of size".
ACCESS = re.compile(r"^  (?P<kind>(?:Previous )?(?:[Aa]tomic )?(?:[Rr]ead|[Ww]rite)) of size")
LIBRARIES = ("librocksdb.so", "libcpp-httplib.so")
MEMTABLE_WRITE = "rocksdb::MemTable::Add"
MEMTABLE_MEMORY = ("rocksdb::ColumnFamilyData::ConstructNewMemtable", "rocksdb::Arena::")
CLOSING = re.compile(r"^ThreadSanitizer: reported \d+ warnings$")


def frame_owner(line, repo):
    """'ours', 'library' or None (skip: the sanitizer runtime or a template)."""
    m = FRAME.match(line)
    if not m:
        return "ours"
    module = os.path.basename(m.group("module") or "")
    f = FILE.search(m.group("body"))
    path = f.group("file") if f else ""
    if "libsanitizer" in path or module.startswith(("libtsan.so", "libasan.so", "libubsan.so")):
        return None
    if path.startswith(repo + "/"):
        return "ours"
    if module.startswith(LIBRARIES):
        return "library"  # the library's code, its own template instances included
    if path.startswith("/usr/include/") or module.startswith("libstdc++.so"):
        return None
    # A standard-library template instantiated into our binary without line
    # information (std::function's manager of a std::regex matcher): it runs
    # for whoever called it.
    if not path and m.group("body").startswith(("std::", "__gnu_cxx::")):
        return None
    return "ours"


def stack_owner(frames, repo):
    for line in frames:
        owner = frame_owner(line, repo)
        if owner is not None:
            return owner
    return "ours"


def parse_race(block):
    """[(is_write, frames)] of the accesses, and the location's allocation frames."""
    accesses, location = [], []
    current = None
    for line in block.splitlines():
        m = ACCESS.match(line)
        if m:
            current = []
            accesses.append((m.group("kind").lower().endswith("write"), current))
        elif line.startswith("  Location is heap block"):
            current = location
        elif current is not None and line.lstrip().startswith("#"):
            current.append(line)
        elif current is not None and "[failed to restore the stack]" in line:
            pass  # an empty stack
        else:
            current = None
    return accesses, location


def library_internal_race(block, repo, cut_short=False):
    if "WARNING: ThreadSanitizer: data race" not in block:
        return False
    accesses, location = parse_race(block)
    if cut_short and len(accesses) == 1 and not location:
        frames = accesses[0][1]
        return bool(frames) and stack_owner(frames, repo) == "library"  # shape 3
    if len(accesses) < 2:
        return False
    memtable_memory = any(name in line for line in location for name in MEMTABLE_MEMORY)
    owners = []
    for _, frames in accesses:
        if frames:
            owners.append(stack_owner(frames, repo))
        else:
            owners.append("library" if memtable_memory else "ours")
    if all(o == "library" for o in owners):
        return True  # shape 1
    writes = [(frames, o) for (is_write, frames), o in zip(accesses, owners) if is_write]
    memtable_write = any(MEMTABLE_WRITE in line for frames, _ in writes for line in frames)
    return bool(writes) and (memtable_write or memtable_memory) and all(
        o == "library" for _, o in writes)  # shape 2


def split_file(text):
    """(report blocks, other non-empty lines, whether the last block is cut
    short: the file ends inside it) of one log file."""
    blocks, other = [], []
    chunks = re.split(r"^=+\s*$", text, flags=re.M)
    cut_short = False
    for i, chunk in enumerate(chunks):
        if re.search(r"(ERROR|WARNING): \w+Sanitizer|runtime error", chunk):
            blocks.append(chunk)
            cut_short = i == len(chunks) - 1 and len(chunks) > 1
        else:
            other.extend(line for line in chunk.splitlines()
                         if line.strip() and not CLOSING.match(line.strip()))
    return blocks, other, cut_short


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    report_dir, repo = sys.argv[1], os.path.realpath(sys.argv[2])
    counted, set_aside = [], 0
    for name in sorted(os.listdir(report_dir)):
        with open(os.path.join(report_dir, name), errors="replace") as f:
            blocks, other, cut_short = split_file(f.read())
        if other:
            counted.append((name, "\n".join(other)))  # what the sanitizer wrote besides reports
        for i, block in enumerate(blocks):
            cut = cut_short and i == len(blocks) - 1
            if library_internal_race(block, repo, cut):
                set_aside += 1
                if cut:
                    print(f"set aside: {name}, cut short inside a library's first access")
            else:
                counted.append((name, block))
    for name, text in counted:
        print(f"--- {name}")
        print(text.strip())
    print(f"sanitizer reports: {len(counted)} in tokenlog's code, {set_aside} set aside "
          f"(races inside uninstrumented shared libraries)")
    return 1 if counted else 0


if __name__ == "__main__":
    sys.exit(main())
