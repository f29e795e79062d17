#!/usr/bin/env bash
# Functions the other scripts source: each `need_*` installs one tool if it is missing (and
# skips it when present), so every command installs only what it uses. Sourcing runs nothing.

LATCHKEY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"   # the newest whose lock file builds on this Rust
CARGO_FUZZ_VERSION="0.13.2"
SCHEMATHESIS_VERSION="4.32.5"
export SCHEMATHESIS="$LATCHKEY_ROOT/target/fuzz-venv/bin/schemathesis"

say() { printf '==> %s\n' "$*"; }

# The browser build's target.
need_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

need_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~15 minutes the first time)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
}

# The version of a package in Cargo.lock, as cargo itself resolves it.
locked_version() {
  cargo metadata --format-version 1 --locked --manifest-path "$LATCHKEY_ROOT/Cargo.toml" \
    | python3 -c 'import json, sys; name = sys.argv[1]; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == name))' "$1"
}

# The wasm-bindgen CLI must be exactly the wasm-bindgen crate's version; cargo-leptos would
# otherwise try to download one, which cannot work offline.
need_wasm_bindgen() {
  local version
  version="$(locked_version wasm-bindgen)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    say "installing wasm-bindgen-cli $version"
    # Not --locked: its lock file names a crate this registry lacks.
    cargo install wasm-bindgen-cli --version "$version"
  fi
}

# The npm packages in end2end/: binaryen's wasm-opt, which release builds need (Debian's
# binaryen is too old: its output fails to hydrate), and Playwright's test runner (the npm
# package only; the browser is Debian's Chromium).
need_node_packages() {
  local e2e="$LATCHKEY_ROOT/end2end"
  if [ ! -x "$e2e/node_modules/.bin/wasm-opt" ] || [ ! -d "$e2e/node_modules/@playwright/test" ] \
     || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
    say "installing end2end npm packages"
    (cd "$e2e" && npm ci --no-audit --no-fund)
  fi
  export PATH="$e2e/node_modules/.bin:$PATH"
}

# What building the release server and its WASM takes.
need_build_tools() {
  need_wasm_target
  need_cargo_leptos
  need_wasm_bindgen
  need_node_packages
}

need_cargo_fuzz() {
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
}

# schemathesis, for the schema-driven fuzz run of the JSON API (a venv under target/).
need_schemathesis() {
  if [ "$("$SCHEMATHESIS" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION"
    python3 -m venv "$LATCHKEY_ROOT/target/fuzz-venv"
    "$LATCHKEY_ROOT/target/fuzz-venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

# Debian's Chromium for the browser tests (Playwright's own download cannot work here).
need_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
}

# The integration tests need PostgreSQL at TEST_POSTGRES_URL (default 127.0.0.1:5432): start
# the local cluster on that port if it is down, whichever version it is.
need_postgres() {
  if [ -n "${TEST_POSTGRES_URL:-}" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return
  fi
  local cluster
  cluster="$(pg_lsclusters --no-header 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }')"
  if [ -z "$cluster" ]; then
    echo "no local PostgreSQL cluster listens on port 5432; set TEST_POSTGRES_URL" >&2
    return 1
  fi
  say "starting the local PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086 # "version name", split on purpose
  pg_ctlcluster --skip-systemctl-redirect $cluster start
}

# cargo-leptos compiles with these variables set, and Leptos crates read some of them at
# compile time; a `cargo test` or `cargo build` given the same ones reuses the release build's
# dependencies instead of recompiling the Leptos crates. Used by scripts/test.sh and
# bench/run.sh (not run.sh: the server would take them as its settings).
leptos_build_env() {
  export LEPTOS_OUTPUT_NAME=latchkey LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=. LEPTOS_BIN_DIR=. \
    LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false
}
