#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (FUZZ_SECONDS each, default 20): token
# verification and the Cookie / X-Forwarded-For parsing must never panic on any input.
# Stable Rust: no sanitizer (they need nightly); libFuzzer's coverage guidance still works.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
targets=(tokens headers)
# Built first, so code that no longer compiles reads as that, not as a crash.
if ! cargo fuzz build --sanitizer none --dev >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "the fuzz targets do not build (fuzz/fuzz_targets/); fix them with the code they call" >&2
  exit 1
fi
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "==> fuzzing $target for ${seconds}s"
  status=0
  cargo fuzz run --sanitizer none --dev "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target failed (exit $status); the input that broke it is in fuzz/artifacts/$target" >&2
    exit "$status"
  fi
done
