#!/usr/bin/env bash
# Installs what `make run` / `make test` need and is missing. Idempotent: each
# step checks first and says what it does. Usage: .ci/bootstrap.sh run|test
set -euo pipefail

purpose=${1:-run}
CARGO_LEPTOS_VERSION=0.3.10
# Must equal the `wasm-bindgen` pin in Cargo.toml: the CLI and the crate share a wire format.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=()
need_apt() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || apt_packages+=("$1"); }

command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs first" >&2; exit 1; }

command -v node >/dev/null || need_apt nodejs
command -v npm >/dev/null || need_apt npm
if [ "$purpose" = test ]; then
  need_apt chromium
  need_apt mariadb-server
  need_apt redis-server
  need_apt nginx
  need_apt python3-venv
  need_apt curl
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  say "Installing Debian packages: ${apt_packages[*]}"
  # The tests start their own MariaDB, Redis and nginx on loopback: keep the
  # packages' system services from starting (and taking port 80) meanwhile.
  blocked_services=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    blocked_services=true
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
  if $blocked_services; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "Adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

node_major=$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/')
if [ "${node_major:-0}" -lt 18 ]; then
  echo "Node.js 18 or newer is needed for the browser tests (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# LTO off and many codegen units: the tools build in minutes instead of half an hour.
quick_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked "$@"
}
if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (one-time, several minutes)"
  quick_install cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must match the crate pin)"
  quick_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# end2end/package.json holds Playwright and binaryen (wasm-opt): Debian's binaryen 108
# emits a module that fails at start-up. Browsers come from Debian, never downloaded.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "Installing npm packages in end2end/ (Playwright without browsers, binaryen)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
# Schemathesis, the API fuzzer, from PyPI into its own virtualenv.
if [ "$purpose" = test ]; then
  fuzzer_version=$(sed -n 's/^schemathesis==//p' end2end/api-fuzz/requirements.txt)
  if [ "$(end2end/.venv/bin/st --version 2>/dev/null | awk '{print $NF}')" != "$fuzzer_version" ]; then
    say "Installing Schemathesis $fuzzer_version (the API fuzzer) into end2end/.venv from PyPI"
    python3 -m venv end2end/.venv
    end2end/.venv/bin/pip install --quiet --disable-pip-version-check -r end2end/api-fuzz/requirements.txt
  fi
fi
say "Tools ready"
