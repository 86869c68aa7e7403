#!/usr/bin/env bash
# Runs the benchmarks (bench/main.rs) on this machine and writes bench/last-run.md:
# installs what is missing (scripts/setup.sh --with-postgres), builds the
# site in release (the WebAssembly bundle and the first visit's bytes are measured), then
# `cargo bench`, which starts the Odoo double, `millrace serve` processes and a throwaway
# PostgreSQL by itself.
# Takes about 15 minutes on 2 cores, most of it the release builds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-postgres
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
source scripts/lib.sh
bash scripts/build.sh --release
cargo bench --features ssr --bench millrace
