#!/usr/bin/env bash
# The incident tools against a running server's data directory (issue: audit
# history and incident tooling): events, as-of, timeline, verify, rebuild,
# backup, and the usage/denial events they show.
#
# Usage: log_tools_test.sh /path/to/tokenlog
# Needs curl, python3 and ldb (rocksdb-tools). Bounded: every wait polls with
# a deadline; servers listen on 127.0.0.1 port 0 and are killed on exit.
set -euo pipefail

TOKENLOG=${1:?usage: $0 /path/to/tokenlog}
WORK=$(mktemp -d /tmp/tokenlog-cli-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
PASSED=0
pass() { echo "ok - $*"; PASSED=$((PASSED + 1)); }

# start_server DATA_DIR NAME: starts serve, sets PORT and SERVER_PID.
start_server() {
  local data=$1 name=$2
  "$TOKENLOG" serve --dev --data "$data" --listen 127.0.0.1:0 >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 300); do
    if grep -q '^listening on http://127.0.0.1:' "$WORK/$name.out" 2>/dev/null; then
      PORT=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$WORK/$name.out")
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; fail "$name exited"; }
    sleep 0.1
  done
  fail "$name did not print its listening line"
}

stop_server() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" -eq 0 ] || fail "serve exited $rc after SIGTERM"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

DATA=$WORK/data
start_server "$DATA" primary
PRIMARY_PID=$SERVER_PID
BASE=http://127.0.0.1:$PORT
ALICE=$("$TOKENLOG" dev-jwt --data "$DATA" --user alice@acme.example --tenant acme)

mint() {  # mint LABEL -> prints "id value"
  curl -sf -X POST -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' \
    -d "{\"label\":\"$1\"}" "$BASE/v1/tokens" | json 'd["id"], d["token"]'
}
read -r ID1 VALUE1 < <(mint laptop)
read -r ID2 VALUE2 < <(mint desktop)
[ -n "$VALUE1" ] && [ -n "$VALUE2" ] || fail "mint"

# A successful check with Power BI's user agent becomes one token.used within seconds.
code=$(curl -s -o /dev/null -w '%{http_code}' -A 'Microsoft.Data.Mashup (PowerBI)' \
  -u "alice@acme.example:$VALUE2" "$BASE/v1/auth/check")
[ "$code" = 200 ] || fail "check answered $code"
found=""
for _ in $(seq 1 100); do
  found=$(curl -sf -H "Authorization: Bearer $ALICE" "$BASE/v1/activity?type=token.used" |
    json 'len(d["events"])')
  [ "$found" = 1 ] && break
  sleep 0.1
done
[ "$found" = 1 ] || fail "token.used did not appear within 10 s"
curl -sf -H "Authorization: Bearer $ALICE" "$BASE/v1/activity?type=token.used" |
  json 'd["events"][0]["data"]["user_agent"]' | grep -qx 'Microsoft.Data.Mashup (PowerBI)' ||
  fail "token.used lacks the user agent"
pass "a check becomes token.used with its user agent"

# Revoke token 1, then its check is refused and becomes auth.denied for the owner to see.
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $ALICE" "$BASE/v1/tokens/$ID1/revoke"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "alice@acme.example:$VALUE1" "$BASE/v1/auth/check")
[ "$code" = 401 ] || fail "revoked check answered $code"
reason=""
for _ in $(seq 1 100); do
  reason=$(curl -sf -H "Authorization: Bearer $ALICE" "$BASE/v1/activity?type=auth.denied" |
    json '",".join(e["data"]["reason"] for e in d["events"])')
  [ "$reason" = revoked ] && break
  sleep 0.1
done
[ "$reason" = revoked ] || fail "auth.denied (revoked) did not appear in the owner's activity"
pass "a revoked token's check becomes auth.denied in the owner's activity"

# events --json: seq gap-free from 1, each prev_hash the previous hash, and
# each hash recomputable from the line itself (JCS + SHA-256).
"$TOKENLOG" events --data "$DATA" --json >"$WORK/events.jsonl"
python3 - "$WORK/events.jsonl" <<'PY' || fail "events --json chain"
import hashlib, json, sys
prev = "0" * 64
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 5, len(lines)
for i, line in enumerate(lines, start=1):
    e = json.loads(line)
    assert e["seq"] == i, (e["seq"], i)
    assert e["prev_hash"] == prev, i
    body = dict(e); del body["hash"]
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canon.encode()).hexdigest() == e["hash"], i
    prev = e["hash"]
PY
pass "events --json: gap-free seq from 1, chained, each hash recomputable"

# --since (inclusive) and --until (exclusive) with a time past the
# millisecond: the first event is before T1 + 0.1 µs.
T1=$(head -1 "$WORK/events.jsonl" | json 'd["time"]')
T1_AND_A_BIT=${T1%Z}0001Z
"$TOKENLOG" events --data "$DATA" --json --until "$T1_AND_A_BIT" | head -1 | json 'd["seq"]' >"$WORK/until.txt"
[ "$(cat "$WORK/until.txt")" = 1 ] || fail "events --until $T1_AND_A_BIT left out the event at $T1"
"$TOKENLOG" events --data "$DATA" --json --since "$T1_AND_A_BIT" >"$WORK/since.jsonl"
python3 -c 'import json,sys; s=[json.loads(l)["seq"] for l in open(sys.argv[1])]; sys.exit(0 if s and 1 not in s else 1)' \
  "$WORK/since.jsonl" || fail "events --since $T1_AND_A_BIT took the event at $T1 (or nothing)"
pass "events --since/--until past the millisecond"

# as-of just before and at the revocation (times from the log itself).
REVOKED_AT=$(python3 - "$WORK/events.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "token.revoked":
        print(e["time"]); break
PY
)
BEFORE=$(python3 -c "
import datetime,sys
t=datetime.datetime.strptime('$REVOKED_AT','%Y-%m-%dT%H:%M:%S.%fZ')-datetime.timedelta(milliseconds=1)
print(t.strftime('%Y-%m-%dT%H:%M:%S.')+'%03dZ'%(t.microsecond//1000))")
"$TOKENLOG" as-of --data "$DATA" --at "$BEFORE" --tenant acme --json >"$WORK/before.jsonl"
"$TOKENLOG" as-of --data "$DATA" --at "$REVOKED_AT" --tenant acme --json >"$WORK/at.jsonl"
grep -q "\"id\":\"$ID1\"" "$WORK/before.jsonl" || fail "as-of before the revoke lacks the token"
grep -q "\"id\":\"$ID1\"" "$WORK/at.jsonl" && fail "as-of at the revoke still lists the token"
grep -q "\"id\":\"$ID2\"" "$WORK/at.jsonl" || fail "as-of lacks the other active token"
tail -n1 "$WORK/at.jsonl" | json 'd["policy"]["max_lifetime_days"]' | grep -qx 365 ||
  fail "as-of's last line is not the policy"
pass "as-of before and after a revoke"

# --user compares case-insensitively, as the API does; malformed subjects
# are usage errors (exit 2), not empty answers.
"$TOKENLOG" events --data "$DATA" --user alice@acme.example --json >"$WORK/alice-lower.jsonl"
"$TOKENLOG" events --data "$DATA" --user ALICE@Acme.Example --json >"$WORK/alice-upper.jsonl"
[ -s "$WORK/alice-lower.jsonl" ] || fail "events --user alice found nothing"
cmp -s "$WORK/alice-lower.jsonl" "$WORK/alice-upper.jsonl" || fail "events --user is case-sensitive"
"$TOKENLOG" as-of --data "$DATA" --at "$BEFORE" --tenant acme --user ALICE@acme.example --json \
  >"$WORK/alice-as-of.jsonl"
grep -q "\"id\":\"$ID1\"" "$WORK/alice-as-of.jsonl" || fail "as-of --user is case-sensitive"
for bad in "events --tenant BAD_T" "events --user a:b" "events --token bogus" \
           "as-of --at $BEFORE --tenant acme --user a/b" "as-of --at $BEFORE --tenant Acme" \
           "timeline --token bogus"; do
  set +e
  # shellcheck disable=SC2086
  "$TOKENLOG" $bad --data "$DATA" >"$WORK/bad.out" 2>&1
  code=$?
  set -e
  [ "$code" = 2 ] || { cat "$WORK/bad.out"; fail "'$bad' exited $code, not 2"; }
done
set +e
"$TOKENLOG" as-of --data "$DATA" --at "$BEFORE" --tenant "" >"$WORK/bad.out" 2>&1
code=$?
set -e
[ "$code" = 2 ] || { cat "$WORK/bad.out"; fail "as-of with an empty --tenant exited $code, not 2"; }
pass "--user folds case; a malformed --tenant, --user or --token exits 2"

# The option parser's own errors are usage errors too: exit 2, with a message.
for bad in "events --from-seq abc" "as-of" "events --bogus" "timeline --token" "nosuchcommand"; do
  set +e
  # shellcheck disable=SC2086
  "$TOKENLOG" $bad --data "$DATA" >"$WORK/bad.out" 2>&1
  code=$?
  set -e
  [ "$code" = 2 ] && [ -s "$WORK/bad.out" ] ||
    { cat "$WORK/bad.out"; fail "'$bad' exited $code, not 2 with a message"; }
done
"$TOKENLOG" events --help >"$WORK/help.out" 2>&1 || fail "events --help did not exit 0"
grep -q -- "--from-seq" "$WORK/help.out" || fail "events --help printed no options"
pass "the option parser's errors exit 2; --help exits 0"

# timeline by value: the token's story, never the value.
"$TOKENLOG" timeline --data "$DATA" --token-value "$VALUE1" >"$WORK/timeline.txt" 2>&1
"$TOKENLOG" timeline --data "$DATA" --token-value "$VALUE1" --json >>"$WORK/timeline.txt" 2>&1
for t in token.minted token.revoked auth.denied; do
  grep -q "$t" "$WORK/timeline.txt" || fail "timeline lacks $t"
done
grep -q "${VALUE1:4}" "$WORK/timeline.txt" && fail "timeline printed the value"
grep -q "$ID2" "$WORK/timeline.txt" && fail "timeline shows another token"
# Oldest first: the mint (read from the token's record) leads.
"$TOKENLOG" timeline --data "$DATA" --token-value "$VALUE1" --json | head -1 |
  grep -q '"type":"token.minted"' || fail "timeline does not start with the mint"
pass "timeline --token-value shows the story and never the value"

"$TOKENLOG" verify --data "$DATA" >"$WORK/verify.txt" || { cat "$WORK/verify.txt"; fail "verify on live data"; }
pass "verify passes on live data"

# A backup taken under load holds every revocation acknowledged before it began.
BOB=$("$TOKENLOG" dev-jwt --data "$DATA" --user bob@acme.example --tenant acme)
load() {
  local deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ] && [ ! -e "$WORK/stop-load" ]; do
    local out id value
    out=$(curl -sf -X POST -H "Authorization: Bearer $BOB" -H 'Content-Type: application/json' \
      -d '{"label":"load"}' "$BASE/v1/tokens") || continue
    id=$(echo "$out" | json 'd["id"]'); value=$(echo "$out" | json 'd["token"]')
    if curl -sf -o /dev/null -X POST -H "Authorization: Bearer $BOB" "$BASE/v1/tokens/$id/revoke"; then
      echo "$value" >>"$WORK/acked-revokes"
    fi
  done
}
: >"$WORK/acked-revokes"
load &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
for _ in $(seq 1 200); do [ "$(wc -l <"$WORK/acked-revokes")" -ge 5 ] && break; sleep 0.05; done
cp "$WORK/acked-revokes" "$WORK/acked-before-backup"
"$TOKENLOG" backup --data "$DATA" --to "$WORK/backup" >"$WORK/backup.txt" || fail "backup"
touch "$WORK/stop-load"
wait "$LOAD_PID" || true
[ "$(wc -l <"$WORK/acked-before-backup")" -ge 5 ] || fail "the load acknowledged too few revokes"
"$TOKENLOG" verify --data "$WORK/backup" >/dev/null || fail "verify on the backup"
start_server "$WORK/backup" restored
BACKUP_PID=$SERVER_PID
while read -r v; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -u "bob@acme.example:$v" "http://127.0.0.1:$PORT/v1/auth/check")
  [ "$code" = 401 ] || fail "a revocation acknowledged before the backup is missing from it ($code)"
done <"$WORK/acked-before-backup"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "alice@acme.example:$VALUE2" "http://127.0.0.1:$PORT/v1/auth/check")
[ "$code" = 200 ] || fail "the backup does not serve an active token ($code)"
stop_server "$BACKUP_PID"
pass "a backup under load serves with every acknowledged revocation"

# A backup killed at any moment leaves its target absent or complete: never
# a shorter log that opens (the copy is renamed into place once done).
"$TOKENLOG" events --data "$DATA" --json >"$WORK/events-now.jsonl"
AT_LEAST=$(wc -l <"$WORK/events-now.jsonl")
mkdir "$WORK/tmp"
for delay in 0.01 0.03 0.06 0.1 0.2 0.4; do
  target="$WORK/killed-$delay"
  TMPDIR="$WORK/tmp" "$TOKENLOG" backup --data "$DATA" --to "$target" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -e "$target" ]; then
    "$TOKENLOG" verify --data "$target" >/dev/null 2>&1 || fail "a killed backup left a target that does not verify"
    "$TOKENLOG" events --data "$target" --json >"$WORK/killed.jsonl"
    [ "$(wc -l <"$WORK/killed.jsonl")" -ge "$AT_LEAST" ] || fail "a killed backup left a shorter log under its name"
  fi
done
rm -rf "$WORK"/killed-*
pass "a backup killed at any moment leaves its target absent or complete"

# A tool killed, or cut off by a closed pipe, leaves nothing in TMPDIR (the
# secondary instance's directory is removed before the open; the killed
# backups above used the same TMPDIR).
for i in 1 2 3; do
  TMPDIR="$WORK/tmp" "$TOKENLOG" events --data "$DATA" --json | head -c 1 >/dev/null || true
  TMPDIR="$WORK/tmp" "$TOKENLOG" timeline --data "$DATA" --token "$ID1" | head -c 1 >/dev/null || true
done
left=$(find "$WORK/tmp" -mindepth 1 | head -5)
[ -z "$left" ] || fail "tools left temporary files behind: $left"
pass "killed or cut-off tools leave nothing in TMPDIR"

# rebuild (server stopped) leaves the state identical.
stop_server "$PRIMARY_PID"
"$TOKENLOG" events --data "$DATA" --json >"$WORK/events-before.jsonl"
"$TOKENLOG" as-of --data "$DATA" --at 2100-01-01T00:00:00Z --tenant acme --json >"$WORK/state-before.jsonl"
"$TOKENLOG" rebuild --data "$DATA" >/dev/null || fail "rebuild"
"$TOKENLOG" verify --data "$DATA" >/dev/null || fail "verify after rebuild"
"$TOKENLOG" events --data "$DATA" --json >"$WORK/events-after.jsonl"
"$TOKENLOG" as-of --data "$DATA" --at 2100-01-01T00:00:00Z --tenant acme --json >"$WORK/state-after.jsonl"
cmp -s "$WORK/events-before.jsonl" "$WORK/events-after.jsonl" || fail "rebuild changed the log"
cmp -s "$WORK/state-before.jsonl" "$WORK/state-after.jsonl" || fail "rebuild changed the state"
pass "rebuild leaves the state identical"

# A mistyped --data: serve creates a store only in a new or empty directory
# (or one holding just the dev key, lost+found and RocksDB's leftovers),
# rebuild only where a store is; neither writes anything where it refuses.
mkdir -p "$WORK/home/lost+found"
echo notes >"$WORK/home/notes.txt"
rc=0
timeout 20 "$TOKENLOG" serve --dev --data "$WORK/home" --listen 127.0.0.1:0 >/dev/null 2>"$WORK/home.err" || rc=$?
[ "$rc" -eq 2 ] || fail "serve on a directory of other files exited $rc, want 2"
grep -q 'holds no tokenlog store (no CURRENT file) and is not empty (notes.txt)' "$WORK/home.err" ||
  { cat "$WORK/home.err"; fail "serve did not say why it refused the directory"; }
[ "$(ls -A "$WORK/home" | sort | tr '\n' ' ')" = "lost+found notes.txt " ] ||
  fail "serve wrote into a directory it refused: $(ls -A "$WORK/home")"
rm "$WORK/home/notes.txt"
start_server "$WORK/home" volume
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "serve on a volume root with lost+found"
stop_server "$SERVER_PID"
# What a creation cut short before CURRENT leaves is no reason to refuse; a
# write-ahead log is (it comes after CURRENT).
mkdir "$WORK/cut"
touch "$WORK/cut/LOCK" "$WORK/cut/IDENTITY" "$WORK/cut/MANIFEST-000001" "$WORK/cut/OPTIONS-000005"
start_server "$WORK/cut" cut
stop_server "$SERVER_PID"
mkdir "$WORK/cut2"
touch "$WORK/cut2/LOCK" "$WORK/cut2/000003.log"
rc=0
timeout 20 "$TOKENLOG" serve --dev --data "$WORK/cut2" --listen 127.0.0.1:0 >/dev/null 2>"$WORK/cut2.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'is not empty (000003.log)' "$WORK/cut2.err" ||
  { cat "$WORK/cut2.err"; fail "serve beside a write-ahead log without CURRENT: exit $rc"; }
rc=0
"$TOKENLOG" rebuild --data "$WORK/absent" >/dev/null 2>"$WORK/absent.err" || rc=$?
[ "$rc" -eq 2 ] || fail "rebuild of a missing directory exited $rc, want 2"
grep -q 'no tokenlog store in' "$WORK/absent.err" || { cat "$WORK/absent.err"; fail "rebuild: no reason"; }
[ ! -e "$WORK/absent" ] || fail "rebuild created a store where there was none"
pass "a mistyped --data: serve and rebuild refuse, writing nothing"

# A start refused for a flag creates no data directory.
for bad in "" "--dev --trusted-proxies bogus" "--dev --testing-clock-offset soon" \
           "--jwt-rs256-public-key $WORK/absent.err"; do
  rc=0
  # shellcheck disable=SC2086
  timeout 20 "$TOKENLOG" serve --data "$WORK/refused" --listen 127.0.0.1:0 $bad \
    >/dev/null 2>"$WORK/refused.err" || rc=$?
  [ "$rc" -eq 2 ] && [ -s "$WORK/refused.err" ] ||
    { cat "$WORK/refused.err"; fail "serve $bad: exit $rc, want 2 with a message"; }
  [ ! -e "$WORK/refused" ] || fail "serve $bad created its data directory"
done
pass "serve refused for a flag leaves no data directory"

# One byte of a stored event changed: verify fails and names its seq.
HEX=$(ldb --db="$DATA" --column_family=events --hex get 0x0000000000000001)
LABEL_HEX=$(printf 'laptop' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
CHANGED_HEX=$(printf 'laptoq' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
[[ "$HEX" == *"$LABEL_HEX"* ]] || fail "the first event does not hold the label bytes"
ldb --db="$DATA" --column_family=events --hex put 0x0000000000000001 "${HEX/$LABEL_HEX/$CHANGED_HEX}" >/dev/null
rc=0
"$TOKENLOG" verify --data "$DATA" >"$WORK/verify-bad.txt" || rc=$?
[ "$rc" -ne 0 ] || fail "verify passed on a changed event"
grep -qx 'first bad seq: 1' "$WORK/verify-bad.txt" || { cat "$WORK/verify-bad.txt"; fail "verify did not name seq 1"; }
pass "verify fails naming the seq after one byte of an event changed"

echo "$PASSED passed, 0 failed"
