#!/usr/bin/env bash
# scripts/setup.sh — installs what Millrace's build and tests need on a fresh Debian 12
# (bookworm) x86_64 machine, idempotently: a wasm32 toolchain for the browser bundle (the
# rustup toolchain has only the x86_64 target and `rustup target add` cannot download
# here), the wasm-bindgen CLI matching Cargo.lock, Chromium for the end-to-end tests, and
# the npm packages of end2end/. Adapted from the team's proven recipe (toolchain README).
#
# What it does (each step is skipped when already done):
#   1. apt: Debian's rustc-web + cargo-web (Rust 1.96 in bookworm-security), their
#      std sources (rust-web-src) and the wasm linker (lld-<N>, N = rustc's LLVM major).
#   2. links /usr/local/bin/wasm-ld and /usr/local/bin/rust-lld to that lld, so rustc's
#      default wasm linker name (rust-lld) resolves.
#   3. builds a wasm32-unknown-unknown std from /usr/lib/rustlib/src/rust with
#      `cargo -Zbuild-std` (deps from crates.io) and installs it into Debian's sysroot,
#      /usr/lib/rustlib/wasm32-unknown-unknown/lib, like `rustup target add` would.
#   4. cargo install wasm-bindgen-cli at the pinned version (must equal the project's
#      wasm-bindgen crate version in Cargo.lock), and npm install -g binaryen@132 (wasm-opt:
#      every build, the demo's too, optimizes the bundle as production does).
#   5. optional: --with-chromium (Debian chromium + chromium-driver, for Playwright),
#      --with-postgres (Debian postgresql-15: the storage tests' throwaway servers),
#      --with-cargo-leptos (cargo install cargo-leptos, pinned; slow: ~45 min),
#      --with-webhook-verifier (the Standard Webhooks reference library from PyPI, pinned, in
#      a virtualenv under .tools/: the webhook tests verify our signatures with it).
# Downloads only through apt, cargo (crates.io), npm and PyPI.
#
# Usage (as root): bash setup-wasm.sh [--with-chromium] [--with-postgres]
#                                     [--with-cargo-leptos] [--no-sysroot]
# (--with-wasm-opt is still accepted; wasm-opt is always installed now.)
# Env overrides: WASM_BINDGEN_VERSION (default 0.2.130), CARGO_LEPTOS_VERSION (0.3.11),
#                BINARYEN_VERSION (132.0.0)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCKED_WB=$(awk '/^name = "wasm-bindgen"$/{getline; sub(/version = "/,""); sub(/"/,""); print; exit}' "$ROOT/Cargo.lock" 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-${LOCKED_WB:-0.2.130}}
CARGO_LEPTOS_VERSION=${CARGO_LEPTOS_VERSION:-0.3.11}
BINARYEN_VERSION=${BINARYEN_VERSION:-132.0.0}
STANDARDWEBHOOKS_VERSION=${STANDARDWEBHOOKS_VERSION:-1.1.0}
MIN_RUST_MINOR=88            # Leptos 0.8 needs Rust >= 1.88
DEB_RUSTC=/usr/bin/rustc
DEB_CARGO=/usr/bin/cargo

WITH_CHROMIUM=0; WITH_POSTGRES=0; WITH_CARGO_LEPTOS=0; WITH_SYSROOT=1; WITH_WASM_OPT=1; WITH_VERIFIER=0
for a in "$@"; do
  case $a in
    --with-chromium) WITH_CHROMIUM=1 ;;
    --with-postgres) WITH_POSTGRES=1 ;;
    --with-cargo-leptos) WITH_CARGO_LEPTOS=1 ;;
    --with-wasm-opt) WITH_WASM_OPT=1 ;;
    --with-webhook-verifier) WITH_VERIFIER=1 ;;
    --no-sysroot) WITH_SYSROOT=0 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "setup-wasm.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

log()  { echo "[setup +${SECONDS}s] $*"; }
fail() { echo "[setup] ERROR: $*" >&2; exit 1; }
trap 'rc=$?; [[ $rc -ne 0 ]] && echo "[setup] FAILED (exit $rc)" >&2' EXIT

[[ $(id -u) -eq 0 ]] || fail "run as root (apt-get and /usr/lib/rustlib need it)"
[[ $(uname -m) == x86_64 ]] || fail "only x86_64 is supported (found $(uname -m))"
command -v apt-get >/dev/null || fail "apt-get not found: this script is for Debian 12 (bookworm)"
export DEBIAN_FRONTEND=noninteractive
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_ok "$p" || missing+=("$p"); done
  (( ${#missing[@]} )) || return 0
  if (( ! APT_UPDATED )); then
    log "apt-get update"
    apt-get update -qq || fail "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} failed"
}

# ---- 1. Debian's Rust toolchain + std sources -----------------------------------
apt_install rustc-web cargo-web rust-web-src
[[ -x $DEB_RUSTC && -x $DEB_CARGO ]] || fail "$DEB_RUSTC / $DEB_CARGO missing after installing rustc-web cargo-web"
RUST_RELEASE=$("$DEB_RUSTC" -vV | sed -n 's/^release: //p')
RUST_MINOR=$(cut -d. -f2 <<<"$RUST_RELEASE")
(( RUST_MINOR >= MIN_RUST_MINOR )) \
  || fail "Debian rustc is $RUST_RELEASE, need >= 1.$MIN_RUST_MINOR (is bookworm-security in the apt sources?)"
[[ -f /usr/lib/rustlib/src/rust/library/Cargo.lock ]] \
  || fail "std sources missing at /usr/lib/rustlib/src/rust/library (package rust-web-src)"
LLVM_MAJOR=$("$DEB_RUSTC" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[[ -n $LLVM_MAJOR ]] || fail "cannot read the LLVM version of $DEB_RUSTC"
log "Debian rustc $RUST_RELEASE (LLVM $LLVM_MAJOR)"

# ---- 2. wasm linker ---------------------------------------------------------------
apt_install "lld-$LLVM_MAJOR"
[[ -x /usr/bin/wasm-ld-$LLVM_MAJOR ]] || fail "/usr/bin/wasm-ld-$LLVM_MAJOR missing after installing lld-$LLVM_MAJOR"
# rustc's wasm32 targets call the linker `rust-lld` (rustup ships it, Debian does not);
# the same lld binary answers to both names, so tools that run cargo themselves
# (cargo-leptos, trunk, wasm-pack) need no linker setting.
link() {  # target name
  if [[ $(readlink "/usr/local/bin/$2" 2>/dev/null) != "$1" ]]; then
    ln -sfn "$1" "/usr/local/bin/$2"
    log "linked /usr/local/bin/$2 -> $1"
  fi
}
link "/usr/bin/wasm-ld-$LLVM_MAJOR" wasm-ld
link "/usr/lib/llvm-$LLVM_MAJOR/bin/lld" rust-lld

# ---- 3. wasm32-unknown-unknown std in Debian's sysroot ----------------------------
if (( WITH_SYSROOT )); then
  LIBDIR=$("$DEB_RUSTC" --print target-libdir --target wasm32-unknown-unknown)
  STAMP=$LIBDIR/../.setup-wasm-stamp
  WANT="$("$DEB_RUSTC" -vV | sed -n 's/^commit-hash: //p') $(dpkg-query -W -f='${Version}' rustc-web)"
  if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" ]] && compgen -G "$LIBDIR/libstd-*.rlib" >/dev/null; then
    log "wasm32 std already installed in $LIBDIR"
  else
    log "building the wasm32 std from /usr/lib/rustlib/src/rust (takes 1-3 minutes)"
    work=$(mktemp -d)
    mkdir -p "$work/src"
    printf '[package]\nname = "wasm-sysroot-probe"\nversion = "0.0.0"\nedition = "2021"\n\n[lib]\npath = "src/lib.rs"\n\n[profile.release]\ndebug-assertions = false\noverflow-checks = false\n' >"$work/Cargo.toml"
    echo '#![no_std]' >"$work/src/lib.rs"
    # embed-bitcode=yes keeps LLVM bitcode in the rlibs so that `lto = true` profiles work.
    ( cd "$work" && env RUSTC="$DEB_RUSTC" RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
        RUSTFLAGS="-Cembed-bitcode=yes" CARGO_TARGET_DIR="$work/target" \
        "$DEB_CARGO" build --release --target wasm32-unknown-unknown \
        -Zbuild-std=std,panic_abort >"$work/build.log" 2>&1 ) \
      || { tail -30 "$work/build.log" >&2; fail "building the wasm32 std failed (log: $work/build.log)"; }
    deps=$work/target/wasm32-unknown-unknown/release/deps
    compgen -G "$deps/libstd-*.rlib" >/dev/null || fail "no libstd rlib in $deps"
    rm -rf "$LIBDIR.new" && mkdir -p "$LIBDIR.new"
    find "$deps" -maxdepth 1 -name 'lib*.rlib' ! -name 'libwasm_sysroot_probe-*' -exec cp {} "$LIBDIR.new/" \;
    rm -rf "$LIBDIR" && mv "$LIBDIR.new" "$LIBDIR"
    echo "$WANT" >"$STAMP"
    rm -rf "$work"
    log "installed $(ls "$LIBDIR" | wc -l) rlibs into $LIBDIR"
  fi
fi

# ---- 4. wasm-bindgen CLI ------------------------------------------------------------
# cargo: the default toolchain if there is one, else Debian's.
CARGO_BIN=$(command -v cargo || echo "$DEB_CARGO")
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export PATH="$CARGO_HOME/bin:$PATH"
cargo_install() {  # name version
  log "cargo install $1 --version $2"
  "$CARGO_BIN" install "$1" --version "$2" --locked \
  || { log "retrying without --locked (a locked dependency may be missing from the registry)";
       "$CARGO_BIN" install "$1" --version "$2"; } \
  || fail "cargo install $1 --version $2 failed"
}
if [[ $(wasm-bindgen --version 2>/dev/null) == "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  log "wasm-bindgen $WASM_BINDGEN_VERSION already installed"
else
  cargo_install wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
fi

# ---- 5. optional extras --------------------------------------------------------------
if (( WITH_CHROMIUM )); then
  apt_install chromium chromium-driver
fi
if (( WITH_POSTGRES )); then
  # The storage tests start throwaway servers from these binaries (initdb, postgres).
  apt_install postgresql-15
fi
if (( WITH_WASM_OPT )); then
  if [[ $(wasm-opt --version 2>/dev/null) == "wasm-opt version ${BINARYEN_VERSION%%.*} "* ]]; then
    log "wasm-opt ${BINARYEN_VERSION%%.*} already installed"
  else
    pkg_ok binaryen && fail "Debian's binaryen (wasm-opt 108) is installed: its output breaks wasm-bindgen modules; apt-get remove binaryen"
    command -v npm >/dev/null || fail "npm not found (needed for binaryen@$BINARYEN_VERSION)"
    log "npm install -g binaryen@$BINARYEN_VERSION"
    npm install -g --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >/dev/null || fail "npm install -g binaryen@$BINARYEN_VERSION failed"
    [[ $(wasm-opt --version 2>/dev/null) == "wasm-opt version ${BINARYEN_VERSION%%.*} "* ]] || fail "wasm-opt ${BINARYEN_VERSION%%.*} not on PATH after npm install -g"
  fi
fi
if (( WITH_CARGO_LEPTOS )); then
  if [[ $(cargo-leptos --version 2>/dev/null) == *" $CARGO_LEPTOS_VERSION" ]]; then
    log "cargo-leptos $CARGO_LEPTOS_VERSION already installed"
  else
    # cargo-leptos 0.3.11's locked dependencies need Rust 1.96: build it with Debian's.
    CARGO_BIN=$DEB_CARGO RUSTC=$DEB_RUSTC cargo_install cargo-leptos "$CARGO_LEPTOS_VERSION"
  fi
fi

# ---- npm packages of the end-to-end tests ---------------------------------------------
if (( WITH_CHROMIUM )) && [[ -f $ROOT/end2end/package-lock.json ]]; then
  if [[ -d $ROOT/end2end/node_modules/@playwright/test ]] && [[ $ROOT/end2end/node_modules/.package-lock.json -nt $ROOT/end2end/package-lock.json ]]; then
    log "end2end npm packages already installed"
  else
    command -v npm >/dev/null || apt_install nodejs npm
    log "npm ci in end2end/"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund >/dev/null) || fail "npm ci in end2end/ failed"
  fi
fi

# ---- the Standard Webhooks reference library (PyPI), for the webhook tests --------------
if (( WITH_VERIFIER )); then
  VENV=$ROOT/.tools/standardwebhooks
  if "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('standardwebhooks') != '$STANDARDWEBHOOKS_VERSION')" 2>/dev/null; then
    log "standardwebhooks $STANDARDWEBHOOKS_VERSION already installed"
  else
    python3 -c "import venv, ensurepip" 2>/dev/null || apt_install python3 python3-venv
    log "pip install standardwebhooks==$STANDARDWEBHOOKS_VERSION into .tools/standardwebhooks"
    python3 -m venv "$VENV" || fail "python3 -m venv failed"
    "$VENV/bin/pip" install -q --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION" \
      || fail "pip install standardwebhooks failed"
  fi
fi

# ---- check -----------------------------------------------------------------------------
log "OK: rustc $RUST_RELEASE (Debian), wasm-ld -> wasm-ld-$LLVM_MAJOR, $(wasm-bindgen --version)"
