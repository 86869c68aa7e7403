# scripts/lib.sh — sourced by build.sh, demo.sh, test.sh and bench.sh: where things are.
#
# TARGET_DIR: cargo's target folder, as cargo itself resolves it (CARGO_TARGET_DIR,
#   CARGO_BUILD_TARGET_DIR, build.target-dir in a .cargo/config.toml, else ./target), read
#   from `cargo metadata`; the server binary is $TARGET_DIR/<profile>/millrace and the
#   browser bundle's build is in $TARGET_DIR/front.
# The site (what the server serves from LEPTOS_SITE_ROOT: the wasm bundle, the stylesheet,
# public/) is not a cargo output and always stays in ./target/site, which the tests and
# benchmarks also name.
# Run from the repository root with the default toolchain's cargo on PATH.

export LEPTOS_OUTPUT_NAME=millrace LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg

# cargo metadata prints one line of JSON; the folder is the value of "target_directory".
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --offline \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
if [[ -z $TARGET_DIR ]]; then
  echo "scripts/lib.sh: cannot read the target folder from cargo metadata" >&2
  exit 1
fi
