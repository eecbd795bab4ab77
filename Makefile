# ChatApp: the two commands.
#   make run   build the release and serve it at http://127.0.0.1:3000
#   make test  every check: format, lints, Rust tests (SQLite + MariaDB), browser tests
# Both install what they need first (see .ci/bootstrap.sh).

SHELL := /bin/bash
# npm's binaryen (wasm-opt 132) must win over any older system wasm-opt.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test setup lint check-wasm dev

run:
	@.ci/bootstrap.sh run
	@echo "==> Building the release build (a few minutes the first time)..."
	@echo "==> ChatApp will be at http://127.0.0.1:3000 (data in ./data/chat.db; Ctrl-C stops it)"
	cargo leptos serve --release

test:
	@.ci/bootstrap.sh test
	@.ci/test.sh

# Development server with live reload.
dev:
	@.ci/bootstrap.sh run
	cargo leptos watch
