#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, leak detection on) and
# runs each for a bounded time from its corpus in fuzz/corpus/<target>.
# Fails on any crash, leak or sanitizer report. New inputs go to a scratch
# directory; `fuzz/run.sh SECONDS --merge` folds the interesting ones back
# into the committed corpus.
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET=60] [--merge]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-60}
MERGE=${2:-}
BUILD=../build-fuzz
TARGETS=(basic_auth token_codec jwt json_body event_decoder)

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

passed=0
failed=0
for t in "${TARGETS[@]}"; do
  scratch=$(mktemp -d /tmp/tokenlog-fuzz-XXXXXX)
  artifacts="$BUILD/artifacts/$t"
  mkdir -p "corpus/$t" "$artifacts"
  echo "fuzzing $t for ${SECONDS_PER_TARGET}s"
  if "$BUILD/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
       "$scratch" "corpus/$t" >"$scratch.log" 2>&1; then
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$scratch.log" | tail -2 || true
    passed=$((passed + 1))
    if [ "$MERGE" = --merge ]; then
      "$BUILD/fuzz_$t" -merge=1 "corpus/$t" "$scratch" >/dev/null 2>&1
    fi
  else
    echo "FAIL: fuzz_$t found a problem:"
    grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$scratch.log" | head -20
    echo "reproducer(s) kept in $artifacts:"; ls "$artifacts" | head
    failed=$((failed + 1))
  fi
  rm -rf "$scratch" "$scratch.log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
