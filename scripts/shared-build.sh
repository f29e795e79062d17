#!/usr/bin/env bash
# Run after the release tests: the server build must then compile nothing but latchkey itself.
# `cargo test` resolves features with the dev-dependencies and the server build without them;
# a crate that gets other features in each (and every crate above it) would compile twice,
# which once cost the test command a third of its time. The cure is in Cargo.toml's
# shared-build section.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --features ssr --bin latchkey --message-format json-render-diagnostics \
  | python3 -c '
import json, sys
again = sorted({m["package_id"].rsplit("#", 1)[-1] for m in map(json.loads, sys.stdin)
                if m.get("reason") == "compiler-artifact" and not m["fresh"]
                and not m["package_id"].rsplit("#", 1)[-1].startswith("latchkey@")})
if again:
    sys.exit("The server build compiled again what the tests had built (other features in "
             "each; `cargo tree -e features -i CRATE` shows who switches them on):\n  "
             + "\n  ".join(again))
print("the server build reused every dependency the tests built")
'
