#!/usr/bin/env bash
# Runs Schemathesis (end2end/api-fuzz) against the release server: a fresh
# SQLite database, two accounts to talk between, rate limits off (so the
# fuzzer reaches the code behind them; the Rust suite tests the limits).
# Usage: .ci/api-fuzz.sh (after the release build; `make test` runs it).
set -euo pipefail

say() { printf '\n\033[1;34m==>\033[0m %s\n' "$*"; }

work=target/api-fuzz
port=${API_FUZZ_PORT:-3200}
base=http://127.0.0.1:$port
rm -rf "$work" && mkdir -p "$work"

say "Starting the release server on $base for the API fuzzer"
env DATABASE_URL="sqlite://$work/chat.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  RUST_LOG=warn MAIL_OUTBOX_DIR="$work/outbox" \
  LIMIT_SIGN_UP_PER_IP=off LIMIT_LOG_IN_PER_IP=off LIMIT_LOG_IN_PER_ACCOUNT=off \
  LIMIT_SENDS_PER_USER=off LIMIT_EXPORTS_PER_USER=off LIMIT_RESET_PER_ADDRESS=off \
  LIMIT_RESET_PER_IP=off LIMIT_SOCKETS_PER_USER=off LIMIT_SOCKETS_PER_IP=off \
  "${API_FUZZ_SERVER:-target/release/server}" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

export API_FUZZ_PASSWORD="fuzzing password $RANDOM$RANDOM"
for name in fuzzer bob; do
  curl -fsS -o /dev/null -H 'content-type: application/json' \
    -d "{\"username\": \"$name\", \"password\": \"$API_FUZZ_PASSWORD\"}" "$base/api/v1/auth/register"
done

say "Fuzzing every operation of $base/api/v1/openapi.json (Schemathesis)"
status=0
(cd end2end/api-fuzz && ../.venv/bin/st --config-file schemathesis.toml run "$base/api/v1/openapi.json") || status=$?

# A panic is a bug even when every answer conformed.
if grep -n "panicked" "$work/server.log"; then
  echo "The server panicked during the run (above; full log in $work/server.log)" >&2
  status=1
fi
exit "$status"
