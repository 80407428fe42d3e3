#!/usr/bin/env bash
# Builds custos-verify as a static Linux executable (x86_64-unknown-linux-musl) and checks it:
# no shared library and no loader (readelf, ldd), and it verifies the fixture bundles.
#
#   .ci/static.sh
#
# Independent of the other CI steps; safe to re-run (installs the musl target with rustup when
# it is missing). The executable is left at
# "${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/custos-verify".
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
echo
echo "== static custos-verify (x86_64-unknown-linux-musl)"
"$ROOT/crates/custos-verify/build-static.sh"
