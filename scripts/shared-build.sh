#!/usr/bin/env bash
# Fails when `cargo test` (which resolves features with the dev-dependencies) and the server
# build (without them) would ask for different features of a crate they share: each such crate,
# and every crate above it, would then compile twice in the test command.
set -euo pipefail
cd "$(dirname "$0")/.."

resolve() {
  cargo tree --locked --no-default-features --features ssr -e "$1" -f '{p} [{f}]' --prefix none \
    | sed 's/ (\*)$//' | sort -u
}

# The test build holds every crate the server build does; a server line it lacks is a crate
# resolved with other features.
drift="$(comm -23 <(resolve normal,build) <(resolve normal,build,dev))"
if [ -n "$drift" ]; then
  echo "These crates get other features in the server build than in the tests, so they compile twice:" >&2
  echo "$drift" >&2
  echo "Ask for the tests' features in Cargo.toml's shared-build section;" \
    "\`cargo tree -e features -i CRATE\` shows which dev-dependency switches them on." >&2
  exit 1
fi
echo "the tests and the server build share every compiled dependency"
