#!/usr/bin/env bash
# Checks the scripts' shared part in a second (scripts/test.sh runs it first): scripts/lib.sh
# finds cargo's target folder where cargo puts it (CARGO_TARGET_DIR absolute or relative,
# CARGO_BUILD_TARGET_DIR), and no other script names a cargo output under ./target itself.
# Ends with a line `N passed, N failed`; exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
passed=0; failed=0
check() {  # what, expected, actual
  if [[ $2 == "$3" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: expected '$2', got '$3'" >&2
  fi
}
# TARGET_DIR as the scripts see it with the given variables (and no others of cargo's).
resolved() {
  env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR "$@" \
    bash -c 'set -euo pipefail; source scripts/lib.sh; echo "$TARGET_DIR"'
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check "CARGO_TARGET_DIR" "$tmp/elsewhere" "$(resolved CARGO_TARGET_DIR="$tmp/elsewhere")"
check "a relative CARGO_TARGET_DIR" "$PWD/relative-target" "$(resolved CARGO_TARGET_DIR=relative-target)"
check "CARGO_BUILD_TARGET_DIR" "$tmp/build" "$(resolved CARGO_BUILD_TARGET_DIR="$tmp/build")"
check "CARGO_TARGET_DIR over CARGO_BUILD_TARGET_DIR" "$tmp/first" \
  "$(resolved CARGO_TARGET_DIR="$tmp/first" CARGO_BUILD_TARGET_DIR="$tmp/build")"
for s in build demo test bench; do
  check "scripts/$s.sh sources scripts/lib.sh" 1 "$(grep -c '^source scripts/lib.sh$' "scripts/$s.sh")"
done
check "no script names target/debug, target/release or target/front" "" \
  "$(grep -nE 'target/(debug|release|front)' scripts/*.sh | grep -v '^scripts/lib.sh:' | grep -v '^scripts/check-scripts.sh:' || true)"

echo "$passed passed, $failed failed"
(( failed == 0 ))
