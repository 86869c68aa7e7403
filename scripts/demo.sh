#!/usr/bin/env bash
# Starts the Millrace demo: installs what is missing (scripts/setup.sh), builds, then runs
# `millrace demo` with SQLite in ./data and the Odoo double seeded with a demo company.
# Prints the URL and one `login: <role> <email> <password>` line per demo user.
# Usage: scripts/demo.sh [--port N] [--data-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=3000; DATA=data
while (( $# )); do
  case $1 in
    --port) PORT=$2; shift 2 ;;
    --data-dir) DATA=$2; shift 2 ;;
    *) echo "demo.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
echo "[demo] checking the toolchain (first run on a fresh machine: about 10 minutes)"
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "[demo] building Millrace"
bash scripts/build.sh
source scripts/lib.sh
exec "$TARGET_DIR/debug/millrace" demo --port "$PORT" --data-dir "$DATA"
