#!/usr/bin/env bash
# Builds Millrace the way cargo-leptos would, without cargo-leptos:
#   1. client: `--lib --features hydrate` for wasm32-unknown-unknown with Debian's rustc-web
#      (the only compiler here with a wasm32 std; scripts/setup.sh installs it), then
#      wasm-bindgen and `wasm-opt -Oz`. Always the `wasm-release` profile: the demo and the
#      end-to-end tests serve the same optimized bundle as production;
#   2. site:   style/main.css -> target/site/pkg/millrace.css, public/* -> target/site/;
#      the bundle's JS, WASM and CSS renamed to content-hashed names (millrace.<hash>.wasm),
#      listed in target/site/hash.txt as cargo-leptos's `hash-files` does (the server names
#      them in pages and lets browsers keep them for a year: src/server/assets.rs);
#   3. server: `--bin millrace --bin precompress --features ssr` with the default toolchain
#      (`--release`: the release profile; otherwise debug, which only the server is);
#   4. precompress: a .br and a .gz copy beside each file of the site, sent as they are to
#      browsers that accept them (brotli quality 11, gzip -9).
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

command -v wasm-opt >/dev/null || die "wasm-opt missing: run scripts/setup.sh"
wov=$(wasm-opt --version | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p')
(( ${wov:-0} >= 132 )) || die "wasm-opt ${wov:-?} is too old (need >= 132): run scripts/setup.sh"
wprofile=(--profile wasm-release); wdir=wasm-release
say "client (wasm32, $("$WASM_RUSTC" --version))"
env RUSTC="$WASM_RUSTC" RUSTDOC="${WASM_RUSTC%rustc}rustdoc" ${build_std:+RUSTC_BOOTSTRAP=1} \
  "$WASM_CARGO" build --lib --target wasm32-unknown-unknown --target-dir "$FRONT" \
  --no-default-features --features hydrate "${wprofile[@]}" "${build_std[@]}"

mkdir -p "$SITE/$PKG_DIR"
wasm-bindgen --target web --out-dir "$SITE/$PKG_DIR" --out-name "$NAME" \
  "$FRONT/wasm32-unknown-unknown/$wdir/$NAME.wasm"
mv -f "$SITE/$PKG_DIR/${NAME}_bg.wasm" "$SITE/$PKG_DIR/$NAME.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$SITE/$PKG_DIR/$NAME.wasm" -o "$SITE/$PKG_DIR/$NAME.wasm"

cp style/main.css "$SITE/$PKG_DIR/$NAME.css"
cp -r public/. "$SITE/"

# Content-hashed names: each of the three gets the first 16 hex digits of its SHA-256 in its
# name; a file already there under that name (same content) is kept with its .br and .gz,
# earlier builds' other hashed files go.
manifest=""; keep=()
for ext in js wasm css; do
  hash=$(sha256sum "$SITE/$PKG_DIR/$NAME.$ext" | cut -c1-16)
  if [[ -f $SITE/$PKG_DIR/$NAME.$hash.$ext ]]; then
    rm -f "$SITE/$PKG_DIR/$NAME.$ext"
  else
    mv -f "$SITE/$PKG_DIR/$NAME.$ext" "$SITE/$PKG_DIR/$NAME.$hash.$ext"
  fi
  manifest+="$ext: $hash"$'\n'; keep+=("$NAME.$hash.$ext")
done
for f in "$SITE/$PKG_DIR/$NAME".*; do
  base=${f##*/}; base=${base%.br}; base=${base%.gz}
  [[ " ${keep[*]} " == *" $base "* ]] || rm -f "$f"
done
printf '%s' "$manifest" > "$SITE/hash.txt"

say "server ($(rustc --version))"
if (( RELEASE )); then sprofile=(--release); else sprofile=(); fi
cargo build --bin "$NAME" --bin precompress --no-default-features --features ssr "${sprofile[@]}"
sdir=$TARGET_DIR/$([[ $RELEASE == 1 ]] && echo release || echo debug)

say "precompress (br, gzip)"
"$sdir/precompress" --quality 11 "$SITE"
say "built: $SITE/$PKG_DIR/$NAME.<hash>.{js,wasm,css} (+ .br, .gz; $SITE/hash.txt), $sdir/$NAME"
