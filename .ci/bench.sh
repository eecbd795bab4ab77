#!/usr/bin/env bash
# `make bench`: the load generator's suite against the release build, on
# SQLite and on MariaDB (started as the tests start it), two nodes with Redis,
# and the wasm's size. Writes the results into docs/performance.md.
set -euo pipefail

say() { printf '\n\033[1;34m==>\033[0m %s\n' "$*"; }
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-always}

say "Starting the private MariaDB and Redis (as make test does)"
service_env=$(.ci/services.sh start)
eval "$service_env"

say "Building the release (server and optimised wasm)"
cargo leptos build --release --precompress

say "Building the load generator (release)"
cargo build --release -p load

say "Running the suite (about 15 minutes; a busy machine skews it: run it alone)"
target/release/load suite --server target/release/server --out docs/performance.md "$@"

say "Results are in docs/performance.md (and target/bench/results.json)"
