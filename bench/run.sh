#!/usr/bin/env bash
# Benchmarks latchkey on this machine: builds the release server and WASM, then drives the
# binary on SQLite and on PostgreSQL with wrk over loopback and prints the table of
# bench/README.md, writing bench/results.json. Options go to bench/drive.py (--help).
# BENCH_SECONDS sets each run's length (default 5). Then bench/mail.py gives the mail figures
# (delivery latency to an SMTP server, reset timing for known and unknown addresses), and
# bench/admin.py the admin API's list and search with 1,000,000 accounts, and bench/growth.py
# every request path at 10,000, 100,000 and 1,000,000 accounts (with memory and housekeeping),
# and bench/outbox.py mail at volume (queue and drain rates, requests during a drain), and
# bench/pages.py the instructions each page and API call costs (callgrind; --label "run").
# The criterion micro-benchmarks are a separate command: cargo bench --features ssr --bench micro
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_build_tools
need_postgres

if ! command -v wrk >/dev/null; then
  say "installing Debian's wrk"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
if ! command -v valgrind >/dev/null; then
  say "installing Debian's valgrind"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
fi

leptos_build_env
say "release build (server + WASM)"
cargo leptos build --release --split
say "release build of the bare ceiling server (bench/bare.rs)"
cargo build --release --features ssr --example bare

python3 bench/drive.py "$@"
python3 bench/mail.py
python3 bench/admin.py
python3 bench/growth.py
python3 bench/outbox.py
python3 bench/pages.py --label run
