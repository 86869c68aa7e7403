#!/usr/bin/env bash
# Builds Millrace the way cargo-leptos would, without cargo-leptos:
#   1. client: `--lib --features hydrate` for wasm32-unknown-unknown with Debian's rustc-web
#      (the only compiler here with a wasm32 std; scripts/setup.sh installs it), then wasm-bindgen;
#   2. site:   style/main.css -> target/site/pkg/millrace.css, public/* -> target/site/;
#   3. server: `--bin millrace --features ssr` with the default toolchain.
# Cargo's outputs go where cargo puts them (CARGO_TARGET_DIR and the like: scripts/lib.sh);
# the site always goes to ./target/site.
# Usage: scripts/build.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

RELEASE=0
[[ ${1:-} == --release ]] && RELEASE=1

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
# LEPTOS_OUTPUT_NAME must be set when the server is compiled: <HydrationScripts> then
# loads /pkg/millrace.wasm. lib.sh sets it, the site folder and TARGET_DIR.
source scripts/lib.sh
NAME=$LEPTOS_OUTPUT_NAME
SITE=$LEPTOS_SITE_ROOT
PKG_DIR=$LEPTOS_SITE_PKG_DIR
FRONT=$TARGET_DIR/front

die() { echo "build.sh: $*" >&2; exit 1; }
say() { echo "[build +${SECONDS}s] $*"; }

WASM_RUSTC=${WASM_RUSTC:-/usr/bin/rustc}
WASM_CARGO=${WASM_CARGO:-/usr/bin/cargo}
[[ -x $WASM_RUSTC && -x $WASM_CARGO ]] || die "Debian rustc-web/cargo-web missing: run scripts/setup.sh"
command -v wasm-bindgen >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
command -v wasm-bindgen >/dev/null || die "wasm-bindgen CLI missing: run scripts/setup.sh"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER:-wasm-ld}

build_std=()
libdir=$("$WASM_RUSTC" --print target-libdir --target wasm32-unknown-unknown)
if ! compgen -G "$libdir/libstd-*.rlib" >/dev/null; then
  [[ -d /usr/lib/rustlib/src/rust/library ]] || die "no wasm32 std and no rust-web-src: run scripts/setup.sh"
  build_std=(-Zbuild-std=std,panic_abort)
fi

if (( RELEASE )); then wprofile=(--profile wasm-release); wdir=wasm-release; else wprofile=(); wdir=debug; fi
say "client (wasm32, $("$WASM_RUSTC" --version))"
env RUSTC="$WASM_RUSTC" RUSTDOC="${WASM_RUSTC%rustc}rustdoc" ${build_std:+RUSTC_BOOTSTRAP=1} \
  "$WASM_CARGO" build --lib --target wasm32-unknown-unknown --target-dir "$FRONT" \
  --no-default-features --features hydrate "${wprofile[@]}" "${build_std[@]}"

mkdir -p "$SITE/$PKG_DIR"
wasm-bindgen --target web --out-dir "$SITE/$PKG_DIR" --out-name "$NAME" \
  "$FRONT/wasm32-unknown-unknown/$wdir/$NAME.wasm"
mv -f "$SITE/$PKG_DIR/${NAME}_bg.wasm" "$SITE/$PKG_DIR/$NAME.wasm"
if (( RELEASE )) && command -v wasm-opt >/dev/null; then
  wov=$(wasm-opt --version | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p')
  if (( ${wov:-0} >= 132 )); then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$SITE/$PKG_DIR/$NAME.wasm" -o "$SITE/$PKG_DIR/$NAME.wasm"
  else
    echo "build.sh: skipping wasm-opt ${wov:-?} (need >= 132: npm install -g binaryen@132.0.0)" >&2
  fi
fi

cp style/main.css "$SITE/$PKG_DIR/$NAME.css"
cp -r public/. "$SITE/"

say "server ($(rustc --version))"
if (( RELEASE )); then sprofile=(--release); else sprofile=(); fi
cargo build --bin "$NAME" --no-default-features --features ssr "${sprofile[@]}"
say "built: $SITE/$PKG_DIR/$NAME.{js,wasm,css}, $TARGET_DIR/$([[ $RELEASE == 1 ]] && echo release || echo debug)/$NAME"
