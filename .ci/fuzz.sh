#!/usr/bin/env bash
# Fuzzes custos-core's parsers with cargo-fuzz (libFuzzer, nightly toolchain):
#   bundle  report bundles: parse, write back, verify against the fixture keys
#   note    signed notes, checkpoints, verifier keys
#   event   canonical custody events and the JSON parser under them
# each for FUZZ_SECONDS (default 55, so the three runs take under 3 minutes), seeded from the
# fixtures (tests/fixtures/bundles, fuzz/seeds). A crash fails the script; libFuzzer leaves the
# input in fuzz/artifacts/<target>/ (reproduce: `cd fuzz && cargo +nightly fuzz run <target>
# artifacts/<target>/<file>`).
#
#   .ci/fuzz.sh [TARGET...]
#
# Installs cargo-fuzz when missing. Needs a nightly toolchain (`rustup toolchain install
# nightly` when missing). The corpus grown by a run is kept under
# "${CARGO_TARGET_DIR:-target}/fuzz-corpus/<target>" for the next run; the repository's seeds are
# only read.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${FUZZ_SECONDS:-55}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(bundle note event)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

step() {
    echo
    echo "== $*"
}

step "toolchain"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
rustup run nightly rustc --version
if cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz already installed: $(cargo +nightly fuzz --version)"
else
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

seeds() {
    case "$1" in
        bundle) echo "$ROOT/tests/fixtures/bundles" ;;
        note) echo "$ROOT/fuzz/seeds/note" ;;
        event) echo "$ROOT/fuzz/seeds/event" ;;
        *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}

cd "$ROOT/fuzz"
step "build the fuzz targets"
# The fuzz build gets a target folder of its own: sanitizer flags differ from the main build's.
export CARGO_TARGET_DIR="$TARGET_DIR/fuzz"
for t in "${TARGETS[@]}"; do
    cargo +nightly fuzz build "$t"
done

for t in "${TARGETS[@]}"; do
    step "fuzz $t for $SECONDS_EACH s"
    corpus="$TARGET_DIR/fuzz-corpus/$t"
    mkdir -p -- "$corpus"
    # The first folder is where libFuzzer adds new inputs; the seed folder is only read.
    cargo +nightly fuzz run "$t" "$corpus" "$(seeds "$t")" -- \
        -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 2>&1 |
        grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)[[:space:]]' # one line per new input
done
step "no crash in ${TARGETS[*]}"
