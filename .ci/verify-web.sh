#!/usr/bin/env bash
# Installs what the court verifier page and its browser tests need, then builds the page.
#
#   .ci/verify-web.sh
#
# Run it (as root on CI, from any folder) before `cargo test --workspace --release`: the tests in
# crates/custos-verify-web/tests/browser.rs drive the page in headless Chromium. Safe to re-run:
# whatever is already installed is kept. Installs
#   - Chromium (Debian package `chromium`),
#   - the wasm32-unknown-unknown Rust target,
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate the page is built with,
# then builds "${CARGO_TARGET_DIR:-target}/custos-verify.html" with
# crates/custos-verify-web/build-page.sh and prints its size and SHA-256.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() {
    echo
    echo "== $*"
}

step "install Chromium (headless browser for the page tests)"
if command -v chromium >/dev/null 2>&1; then
    echo "already installed: $(command -v chromium)"
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium
fi

step "install the wasm32-unknown-unknown target"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "already installed"
else
    rustup target add wasm32-unknown-unknown
fi

WBG_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' crates/custos-verify-web/Cargo.toml)"
step "install wasm-bindgen-cli $WBG_VERSION (must equal the wasm-bindgen crate's version)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$WBG_VERSION" ]; then
    echo "already installed: $(command -v wasm-bindgen)"
else
    # --locked builds the CLI with the dependency versions its authors tested. The registry
    # mirror this CI uses lacks one of them (webpki-roots 1.0.11 for 0.2.130); then resolve
    # afresh, still at the exact CLI version.
    cargo install wasm-bindgen-cli --version "$WBG_VERSION" --locked --force ||
        cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
fi

step "build the court verifier page"
crates/custos-verify-web/build-page.sh
