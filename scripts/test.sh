#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh --with-chromium), checks the
# scripts themselves (scripts/check-scripts.sh), then unit and integration tests (cargo
# test), then builds the app and runs the end-to-end tests in Chromium (end2end/) against
# `millrace demo` on a free port with a throwaway data dir.
# Exits non-zero if anything failed; ends with a line `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[test +${SECONDS}s] $*"; }

say "checking the toolchain, Chromium and npm packages"
bash scripts/setup.sh --with-chromium --with-postgres --with-webhook-verifier
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
# The same LEPTOS_* values as scripts/build.sh, so the server is compiled once, and cargo's
# target folder (TARGET_DIR, wherever CARGO_TARGET_DIR puts it).
source scripts/lib.sh

mkdir -p target
say "the scripts' shared part"
bash scripts/check-scripts.sh | tee target/scripts-check.log
scripts_passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' target/scripts-check.log | tail -1)
say "unit and integration tests"
cargo test --features ssr 2>&1 | tee target/cargo-test.log
# The storage suites again on PostgreSQL (a throwaway server the tests start themselves,
# or MILLRACE_TEST_POSTGRES_URL). tests/instances.rs runs on PostgreSQL in both passes.
say "integration tests on PostgreSQL"
MILLRACE_TEST_DATABASE=postgres cargo test --features ssr --test portal --test odoo --test odoo_versions --test cli --test order_document --test api --test webhooks --test planning --test planning_supply --test planning_push --test planning_trace 2>&1 \
  | tee -a target/cargo-test.log
rust_passed=$(grep -o 'test result: ok. [0-9]* passed' target/cargo-test.log | awk '{s+=$4} END {print s+0}')

say "building the app for the end-to-end tests"
bash scripts/build.sh

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
DATA=$(mktemp -d)
LOG=$DATA/demo.log
"$TARGET_DIR/debug/millrace" demo --port "$PORT" --data-dir "$DATA" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
ready=0
for _ in $(seq 1 300); do
  grep -q '^login: admin' "$LOG" 2>/dev/null \
    && python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://127.0.0.1:$PORT/login" 2>/dev/null \
    && { ready=1; break; }
  kill -0 $PID 2>/dev/null || { cat "$LOG"; echo "demo exited" >&2; exit 1; }
  sleep 0.2
done
(( ready )) || { cat "$LOG"; echo "the demo did not start within 60 s" >&2; exit 1; }
DOUBLE_URL=$(sed -n 's/^odoo-double: url=\([^ ]*\).*/\1/p' "$LOG" | head -1)
[[ -n $DOUBLE_URL ]] || { cat "$LOG"; echo "no odoo-double line in the demo output" >&2; exit 1; }
say "demo up on 127.0.0.1:$PORT, odoo double at $DOUBLE_URL"

say "end-to-end tests in Chromium"
set +e
(cd end2end && BASE_URL="http://127.0.0.1:$PORT" DOUBLE_URL="$DOUBLE_URL" npx playwright test 2>&1) | tee target/e2e.log
e2e_status=${PIPESTATUS[0]}
set -e
e2e_passed=$(sed -n 's/^ *\([0-9]*\) passed.*/\1/p' target/e2e.log | tail -1)
e2e_failed=$(sed -n 's/^ *\([0-9]*\) failed.*/\1/p' target/e2e.log | tail -1)
echo "$(( ${scripts_passed:-0} + rust_passed + ${e2e_passed:-0} )) passed, ${e2e_failed:-0} failed"
if (( e2e_status != 0 )); then
  echo "--- demo log ---"; tail -50 "$LOG"
fi
exit "$e2e_status"
