#!/usr/bin/env bash
# Builds everything with a sanitizer and runs the whole ctest suite under it:
# the unit tests, and every server, CLI and tool process the API, CLI, system
# and web tests start (they run the instrumented build's binaries).
#
#   thread   ThreadSanitizer (data races, lock-order inversions)
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer)
#
# Every process writes its reports to a log directory, so a report from a
# server that a test started counts even when the test itself passed. Fails
# on any failing test and on any report in our code; the judge,
# scripts/sanitizer_reports.py, says which races are inside Debian's
# uninstrumented RocksDB and cpp-httplib and are set aside, and why.
#
# Usage: scripts/sanitize.sh thread|address [JOBS]
# Build directory: build-tsan or build-asan (reused between runs); the reports
# are left in its sanitizer-reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:?usage: $0 thread|address [JOBS]}
JOBS=${2:-$(nproc 2>/dev/null || echo 2)}
case "$KIND" in
  thread)
    BUILD=build-tsan
    FLAGS="-fsanitize=thread"
    RUNTIME=__tsan_init
    ;;
  address)
    BUILD=build-asan
    FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
    RUNTIME=__asan_init
    ;;
  *)
    echo "usage: $0 thread|address [JOBS]" >&2
    exit 2
    ;;
esac

# -O1 -g, asserts on (RelWithDebInfo's own flags would put -O2 -DNDEBUG after ours).
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_CXX_FLAGS="-fno-omit-frame-pointer $FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" >/dev/null
echo "building $BUILD (-fsanitize=$KIND)"
cmake --build "$BUILD" -j"$JOBS" >/dev/null
# A run without the sanitizer would pass with nothing to report.
if ! nm -D "$BUILD/tokenlog" | grep " $RUNTIME\$" >/dev/null; then  # not -q: pipefail
  echo "FAIL: $BUILD/tokenlog is not built with -fsanitize=$KIND"
  exit 1
fi

# Reports go to a path without spaces (the sanitizers' option strings split
# on them), then to $BUILD/sanitizer-reports for reading.
REPORTS=$(mktemp -d /tmp/tokenlog-sanitize-XXXXXX)
# exitcode=0: a report does not change a process's exit status (tests that
# check a clean exit would fail on a library-internal report); the reports
# themselves are judged below.
export TSAN_OPTIONS="log_path=$REPORTS/tsan exitcode=0 second_deadlock_stack=1 history_size=7"
export ASAN_OPTIONS="log_path=$REPORTS/asan detect_leaks=1"
export UBSAN_OPTIONS="log_path=$REPORTS/ubsan print_stacktrace=1 halt_on_error=1"

status=0
(cd "$BUILD" && ctest --output-on-failure -j"$JOBS") || status=1
/usr/bin/python3 scripts/sanitizer_reports.py "$REPORTS" "$PWD" || status=1
rm -rf "$BUILD/sanitizer-reports"
mv "$REPORTS" "$BUILD/sanitizer-reports"
if [ "$status" -ne 0 ]; then
  echo "FAIL: tests under -fsanitize=$KIND"
  exit 1
fi
echo "ok: every test passed under -fsanitize=$KIND with no report in tokenlog's code"
