#!/usr/bin/env bash
# Installs what building and testing latchkey needs, skipping whatever is already there.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run on its own any number of times.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"

say() { printf '==> %s\n' "$*"; }

# The browser build's target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos, pinned: 0.3.10 is the newest whose lock file builds on this Rust.
if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~15 minutes the first time)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# The wasm-bindgen CLI must be exactly the wasm-bindgen crate version in Cargo.lock;
# cargo-leptos would otherwise try to download one, which cannot work offline.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lock file names a crate this registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# cargo-fuzz, pinned, for the bounded fuzz run (scripts/fuzz.sh).
CARGO_FUZZ_VERSION="0.13.2"
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# Node packages: Playwright for end2end/, and binaryen's wasm-opt for release builds
# (Debian's binaryen is too old: its output fails to hydrate).
if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] \
   || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
  say "installing end2end npm packages"
  (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
fi
export PATH="$ROOT/end2end/node_modules/.bin:$PATH"

# schemathesis, for the schema-driven fuzz run of the JSON API (a venv under target/).
SCHEMATHESIS_VERSION="4.32.5"
export SCHEMATHESIS="$ROOT/target/fuzz-venv/bin/schemathesis"
if [ "$("$SCHEMATHESIS" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  say "installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$ROOT/target/fuzz-venv"
  "$ROOT/target/fuzz-venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

# Debian's Chromium for the browser tests (Playwright's own download cannot work here).
if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# cargo-leptos compiles with these variables set, and Leptos crates read some of them at compile
# time; a `cargo test` or `cargo build` given the same ones reuses the release build's
# dependencies instead of recompiling the Leptos crates. Called by scripts/test.sh and
# bench/run.sh (not run.sh: the server would take them as its settings).
leptos_build_env() {
  export LEPTOS_OUTPUT_NAME=latchkey LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=. LEPTOS_BIN_DIR=. \
    LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false
}
