#!/usr/bin/env bash
# Schema-driven fuzzing of the JSON API: schemathesis generates requests from the OpenAPI
# document the server publishes and fails on any 5xx or any response the document does not allow.
# Runs against the release binary (build it first: cargo leptos build --release --split) on a free port
# with a fresh SQLite database; bounded by the example count (about 500 requests, seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
need_schemathesis

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DATA="$(mktemp -d)"
BASE="http://127.0.0.1:$PORT"
LEPTOS_SITE_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA" RUST_LOG="${FUZZ_LOG:-warn}" target/release/latchkey &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  curl -fs "$BASE/readyz" >/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.1
done

# Real accounts, so the authenticated and admin endpoints are exercised beyond their 401s and
# 403s: a few ordinary ones for the admin API to work on (holding the small ids schemathesis
# tries first), and the fuzzer's own, a superuser made by the command line.
for name in ada bob cyd; do
  curl -fs -X POST "$BASE/api/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$name@example.com\",\"username\":\"$name\",\"password\":\"correct horse battery\"}" >/dev/null
done
DATA_DIR="$DATA" LATCHKEY_SUPERUSER_PASSWORD="correct horse battery" target/release/latchkey \
  createsuperuser --no-input --username fuzz --email fuzz@example.com >/dev/null
ACCESS="$(curl -fs -X POST "$BASE/api/token" -H 'Content-Type: application/json' \
  -d '{"username":"fuzz","password":"correct horse battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')"

# What ends the fuzzer's own session is left out: log-out-everywhere, signing out a session
# (GET /api/me/sessions hands it its own id) and the admin's "end every session" (which
# meets its own account soon enough). Any of them would leave every later authenticated
# request a 401. Their behaviour has integration tests.
"$SCHEMATHESIS" run "$BASE/api/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --header "Authorization: Bearer $ACCESS" \
  --max-examples 40 \
  --max-failures 5 \
  --request-timeout 10 \
  --suppress-health-check all \
  --exclude-path /api/me/logout-all \
  --exclude-operation-id end_user_sessions \
  --exclude-operation-id sign_out_session
