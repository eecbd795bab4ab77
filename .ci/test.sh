#!/usr/bin/env bash
# Every check `make test` runs, in order from fastest to slowest feedback.
set -euo pipefail

say() { printf '\n\033[1;34m==>\033[0m %s\n' "$*"; }
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-always}

# A build from a clean clone fills about 7 GB under target/; running out half
# way fails with a rustc "No space left on device" that names no cause.
need_kib=$((8 * 1024 * 1024))
free_kib=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "${free_kib:-0}" -lt "$need_kib" ]; then
  echo "warning: $((free_kib / 1024)) MiB free here; a build from a clean clone needs about 8 GiB under target/" >&2
fi

say "Starting the test MariaDB and Redis (private, on loopback, under target/services)"
service_env=$(.ci/services.sh start)  # fails the run if a service cannot start
eval "$service_env"
export CHATAPP_REQUIRE_MARIADB=1

say "Checking formatting (cargo fmt --check)"
cargo fmt --all --check

say "Checking the systemd unit in docs/deploy.md (systemd-analyze verify)"
.ci/verify-unit.sh

say "Type-checking the browser tests (tsc)"
(cd end2end && npx tsc -p .)

say "Linting the server build (clippy, ssr)"
cargo clippy -p app -p server -p migration -p load --all-targets -- -D warnings

say "Linting the browser build (clippy, hydrate, wasm32)"
cargo clippy -p frontend -p app --target wasm32-unknown-unknown -- -D warnings

say "Running the Rust tests on SQLite and on MariaDB ($TEST_MARIADB_URL)"
rm -rf target/tmp/test-dbs
cargo test -p app -p server -p migration

say "Building the release and running the Playwright suite against it"
rm -rf target/e2e && mkdir -p target/e2e
export DATABASE_URL="sqlite://target/e2e/chat.db?mode=rwc"
export LEPTOS_SITE_ADDR=127.0.0.1:3100
export RUST_LOG=${RUST_LOG:-warn,server=info}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# Password-reset e-mail goes to files here; the browser test reads them.
export MAIL_OUTBOX_DIR=target/e2e/outbox
# Every browser in the suite comes from 127.0.0.1 and signs up or logs in
# many times a minute: the per-address limits (tested in the Rust suite)
# would refuse it. Per-account and per-user limits stay on.
export LIMIT_SIGN_UP_PER_IP=off LIMIT_LOG_IN_PER_IP=off LIMIT_SOCKETS_PER_IP=off LIMIT_RESET_PER_IP=off
# The suite's main server runs on SQLite; its two-node test starts two more
# nodes of the same build on a fresh MariaDB database and the test Redis.
mariadb --protocol=tcp -h127.0.0.1 -P"${TEST_MARIADB_PORT:-3307}" -uroot -e \
  "DROP DATABASE IF EXISTS chatapp_e2e; CREATE DATABASE chatapp_e2e CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
export E2E_CLUSTER_DATABASE_URL="$TEST_MARIADB_URL/chatapp_e2e"
export E2E_CLUSTER_REDIS_URL="$TEST_REDIS_URL"
cargo leptos end-to-end --release --precompress

say "Fuzzing the REST API against its OpenAPI document (Schemathesis, release server)"
.ci/api-fuzz.sh

say "All checks passed"
