# ChatApp: the two commands.
#   make run   build the release and serve it at http://127.0.0.1:3000
#   make test  every check: format, lints, Rust tests (SQLite + MariaDB), browser tests
#   make bench the load generator's suite against the release build (docs/performance.md)
# Both install what they need first (see .ci/bootstrap.sh).

SHELL := /bin/bash
# npm's binaryen (wasm-opt 132) must win over any older system wasm-opt.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test bench setup lint check-wasm dev screenshots

run:
	@.ci/bootstrap.sh run
	@echo "==> Building the release build (a few minutes the first time)..."
	@echo "==> ChatApp will be at http://127.0.0.1:3000 (data in ./data/chat.db; Ctrl-C stops it)"
	cargo leptos serve --release --precompress

test:
	@.ci/bootstrap.sh test
	@.ci/test.sh

# The benchmark suite (docs/performance.md): release build, SQLite and MariaDB.
# Extra arguments for the load generator: make bench BENCH_ARGS="--many-sockets 50000"
bench:
	@.ci/bootstrap.sh test
	@.ci/bench.sh $(BENCH_ARGS)

# Development server with live reload.
dev:
	@.ci/bootstrap.sh run
	cargo leptos watch

# The README's pictures, taken by the last browser run (make test writes them
# under target/e2e/screenshots; nothing overwrites docs/ by itself).
screenshots:
	@test -f target/e2e/screenshots/screenshot.png || { echo "Run make test first: it takes the screenshots."; exit 1; }
	cp target/e2e/screenshots/screenshot.png target/e2e/screenshots/conversations.png docs/
	@echo "==> docs/screenshot.png and docs/conversations.png refreshed from the last browser run"
