#!/usr/bin/env bash
# Builds latchkey (release) and serves it at http://127.0.0.1:3000 with SQLite under data/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_build_tools
exec cargo leptos serve --release --split
