#!/usr/bin/env python3
"""scripts/sanitizer_reports.py sets aside only races inside uninstrumented
libraries. Fixtures are real ThreadSanitizer reports from `scripts/sanitize.sh
thread` (trimmed; @REPO@ stands for the repository root):
  tsan-ours.txt  a race in tokenlog's code (the usage ledger with its shard
                 lock removed: a check thread rehashes while the flush reads)
  tsan-lib.txt   cpp-httplib reading a function-static it built in another
                 thread (the static's guard is not instrumented)
  tsan-mem.txt   an activity page reading a value in RocksDB's memtable that
                 the writer thread inserted (published by RocksDB's atomics)
  tsan-regex.txt cpp-httplib's client matching with a function-static
                 std::regex another thread built, through std::function and
                 std::bitset frames instantiated in the test binary
"""
import os
import subprocess
import sys
import tempfile

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
JUDGE = os.path.join(REPO, "scripts", "sanitizer_reports.py")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def judge(files):
    """(exit status, last line) of the judge over the given fixture texts."""
    with tempfile.TemporaryDirectory() as d:
        for i, text in enumerate(files):
            with open(os.path.join(d, f"tsan.{100 + i}"), "w") as f:
                f.write(text)
        r = subprocess.run([sys.executable, JUDGE, d, REPO], capture_output=True, text=True)
        return r.returncode, r.stdout.strip().splitlines()[-1]


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read().replace("@REPO@", REPO)


failures = 0


def expect(what, got, want):
    global failures
    if got == want:
        print(f"ok - {what}")
    else:
        failures += 1
        print(f"FAIL: {what}: got {got!r}, want {want!r}")


ours, lib, mem = fixture("tsan-ours.txt"), fixture("tsan-lib.txt"), fixture("tsan-mem.txt")
regex = fixture("tsan-regex.txt")
expect("std:: templates run for their caller: httplib's regex is set aside", judge([regex])[0], 0)
expect("a race in tokenlog's code counts", judge([ours]),
       (1, "sanitizer reports: 1 in tokenlog's code, 0 set aside "
           "(races inside uninstrumented shared libraries)"))
expect("races inside libraries are set aside", judge([lib, mem]),
       (0, "sanitizer reports: 0 in tokenlog's code, 2 set aside "
           "(races inside uninstrumented shared libraries)"))
expect("one of ours among library races still fails", judge([lib + ours, mem]),
       (1, "sanitizer reports: 1 in tokenlog's code, 2 set aside "
           "(races inside uninstrumented shared libraries)"))
# The same memtable read, but the write done by tokenlog's code: counts.
written = [line for line in mem.splitlines() if "rocksdb::MemTable::Add" in line]
assert len(written) == 1, "fixture: the memtable write frame"
mem_written_by_us = mem.replace(
    written[0], f"    #2 tokenlog::Mine() {REPO}/storage/event_store.cc:1 (tokenlog+0x1)")
expect("a write in tokenlog's code counts", judge([mem_written_by_us])[0], 1)
# A read made holding a mutex says "(mutexes: write M…)": still a read.
mem_locked = mem.replace("by thread T33:", "by thread T33 (mutexes: write M1):", 1)
assert mem_locked != mem, "fixture: the memtable read line"
expect("a read holding a mutex is not a write", judge([mem_locked])[0], 0)
# A write whose stack TSan could not restore is ours, unless the memory is a
# memtable's.
lost = lib.replace(
    "\n".join(line for line in lib.split("  Previous write")[1].split("\n\n")[0].splitlines()[1:]),
    "    [failed to restore the stack]")
assert "[failed to restore the stack]" in lost, "fixture: the httplib write stack"
expect("a lost write stack counts", judge([lost])[0], 1)
# Only RocksDB and cpp-httplib are set aside: both accesses inside another
# library (two threads sharing one OpenSSL context) count.
crypto = lib.replace("libcpp-httplib.so.0.11", "libcrypto.so.3")
expect("a race inside another library counts", judge([crypto])[0], 1)
# Any other report kind counts, and so does any other text.
inversion = "==================\nWARNING: ThreadSanitizer: lock-order-inversion " \
            "(potential deadlock) (pid=100)\n  Cycle in lock order graph: M1 => M2 => M1\n" \
            "==================\n"
expect("a lock-order inversion counts", judge([inversion])[0], 1)
expect("a FATAL after a set-aside race counts",
       judge([lib + "FATAL: ThreadSanitizer CHECK failed: x\n"])[0], 1)
expect("TSan's closing count alone is nothing",
       judge([lib + "ThreadSanitizer: reported 1 warnings\n"]),
       (0, "sanitizer reports: 0 in tokenlog's code, 1 set aside "
           "(races inside uninstrumented shared libraries)"))
# A report cut short by a killed process (a real one from a CI run): its one
# access inside cpp-httplib is set aside; cut short inside our code, or a
# whole report with only one access, it counts.
cut = fixture("tsan-cut.txt")
assert not cut.rstrip().endswith("="), "fixture: cut short"
expect("a report cut short inside a library's first access is set aside", judge([cut]),
       (0, "sanitizer reports: 0 in tokenlog's code, 1 set aside "
           "(races inside uninstrumented shared libraries)"))
cut_ours = cut.replace("#2 <null> <null> (libcpp-httplib.so.0.11+0x6ead2)",
                       "#2 Run @REPO@/api/http_server.cc:10 (tokenlog+0x6ead2)".replace("@REPO@", REPO))
assert cut_ours != cut, "fixture: the httplib frame"
expect("a report cut short in our code counts", judge([cut_ours])[0], 1)
expect("a whole report with one access in a library counts", judge([cut + "\n==================\n"])[0], 1)
expect("a cut-short report after a whole one: the whole one is judged as before",
       judge([ours + cut])[0], 1)
asan = "=================================================================\n" \
       "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"
expect("any AddressSanitizer report counts", judge([asan])[0], 1)
expect("an unparsed sanitizer log counts", judge(["something unexpected\n"])[0], 1)
expect("no reports: passes", judge([]), (0, "sanitizer reports: 0 in tokenlog's code, 0 set "
                                            "aside (races inside uninstrumented shared libraries)"))
sys.exit(1 if failures else 0)
