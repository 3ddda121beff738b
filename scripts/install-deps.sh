#!/usr/bin/env bash
# Installs the Debian 12 packages tokenlog needs, only those missing.
# Idempotent: when everything is present it changes nothing and needs no network.
#
# Usage: install-deps.sh [build|test|bench]   (build: what `make run` needs; test: also
# what the tests and fuzzers need; bench: test plus the load tools of `make bench`;
# default test)
set -euo pipefail
profile=${1:-test}
case "$profile" in
  build|test|bench) ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

packages=(
  build-essential cmake pkg-config
  librocksdb-dev            # event log and projections
  libcpp-httplib-dev        # HTTP front
  libboost-json1.81-dev libboost1.81-dev   # JSON, Asio (timers, signals)
  libssl-dev                # SHA-256, HMAC, RSA, RAND_bytes
  libcli11-dev              # command-line parsing
  catch2                    # tests (built with the rest)
)
if [ "$profile" = test ] || [ "$profile" = bench ]; then
  packages+=(
    curl ca-certificates python3 rocksdb-tools   # CLI and system tests (JSON checks, ldb)
    clang libclang-rt-14-dev                     # libFuzzer targets (fuzz/)
    nginx-light python3-requests                 # the nginx auth_request test
    openssl                                      # certificates for the TLS test
    systemd                                      # systemd-analyze: the unit's test
    chromium                                     # the web page's end-to-end test (tests/web)
  )
  # Node.js runs the web page's test; the machine's own node (any >= 20) is
  # used when present, Debian's otherwise.
  if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs npm)
  fi
fi
if [ "$profile" = bench ]; then
  # nginx-light (the nginx baselines and auth_request) comes with test.
  packages+=(
    wrk                       # HTTP load generator (bench/run.py)
  )
fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=sudo
    else
      echo "error: these packages are missing and this is not root: ${missing[*]}" >&2
      exit 1
    fi
  else
    SUDO=
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The web page test's npm packages (playwright-core, pinned in
# tests/web/package-lock.json), installed with `npm ci` only when
# node_modules does not hold exactly what the lock file names.
if [ "$profile" = test ]; then
  web="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
  if ! cmp -s "$web/package-lock.json" "$web/node_modules/.tokenlog-installed-lock"; then
    echo "installing tests/web's npm packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$web/package-lock.json" "$web/node_modules/.tokenlog-installed-lock"
  fi
fi
