#!/usr/bin/env bash
# Runs every check and test latchkey has: format, lints (server and browser builds), unit +
# integration tests on SQLite and PostgreSQL, bounded cargo-fuzz runs, the release build, a
# schema-driven fuzz run of the JSON API, and Playwright in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_build_tools
need_cargo_fuzz
need_schemathesis
need_chromium

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

need_postgres

step "format"
cargo fmt --all -- --check

step "lint: server build"
cargo clippy --features ssr --all-targets -- -D warnings
step "lint: browser build"
cargo clippy --features hydrate --target wasm32-unknown-unknown -- -D warnings

leptos_build_env
step "unit and integration tests (SQLite and PostgreSQL)"
cargo test --release --features ssr --lib --test cli --test manage
step "the server build reuses the tests' (checked, since it is a third of this command's time)"
scripts/shared-build.sh

step "fuzzing token and header parsing (cargo fuzz, bounded)"
scripts/fuzz.sh

# Built last, so the end-to-end tests run the binary and WASM cargo-leptos produced.
step "release build (server + WASM)"
cargo leptos build --release --split

step "JSON API fuzzing (schemathesis against the OpenAPI document)"
scripts/fuzz-api.sh

step "end-to-end tests (Playwright, Chromium, release build)"
(cd end2end && npx playwright test)

step "all checks passed in $((SECONDS - started)) s"
