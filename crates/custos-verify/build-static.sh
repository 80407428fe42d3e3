#!/usr/bin/env bash
# Builds custos-verify as a fully static Linux executable (musl libc, no shared libraries, no
# loader), so a court or expert can run one file on any x86-64 Linux, and checks it:
#   1. the ELF file has no program interpreter and no shared-library dependency (readelf), and
#      ldd does not list a library;
#   2. it verifies the honest fixture bundle (exit 0) and refuses a tampered one (exit 1) with
#      exactly the failures the fixture lists.
#
#   crates/custos-verify/build-static.sh [OUT]
#
# The executable is left at "${CARGO_TARGET_DIR:-<repo>/target}/x86_64-unknown-linux-musl/
# release/custos-verify" and copied to OUT when given. Installs the musl target with rustup when
# it is missing (pure Rust: no musl-gcc needed). Safe to re-run.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$HERE/../.." && pwd)"
TARGET=x86_64-unknown-linux-musl
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/$TARGET/release/custos-verify"
FIXTURES="$ROOT/tests/fixtures/bundles"

die() {
    echo "build-static.sh: $*" >&2
    exit 1
}

if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --quiet --release -p custos-verify --target "$TARGET")
[ -x "$BIN" ] || die "the build did not produce $BIN"

# 1. Static: no INTERP segment (no dynamic loader) and no NEEDED entry (no shared library).
if readelf -lW "$BIN" | grep -q 'INTERP'; then
    die "$BIN asks for a program interpreter: it is not static"
fi
if readelf -dW "$BIN" | grep -q '(NEEDED)'; then
    die "$BIN needs shared libraries: $(readelf -dW "$BIN" | grep '(NEEDED)')"
fi
# glibc's ldd says "not a dynamic executable" for a static executable and "statically linked"
# for a static position-independent one; either way it must list no library.
ldd_out="$(ldd "$BIN" 2>&1 || true)"
case "$ldd_out" in
    *"not a dynamic executable"* | *"statically linked"*) ;;
    *) die "ldd lists libraries for $BIN: $ldd_out" ;;
esac

# 2. It verifies: the honest fixture with every input (exit 0), a tampered one (exit 1) failing
# exactly the checks its .expected file lists (`FAIL  <id> <subject>: …` lines of the report).
run() {
    (cd "$FIXTURES" && "$BIN" "$1" --key log.pub --witness witness.pub \
        --since since-4.checkpoint --evidence evidence/a.bin --evidence evidence/b.bin)
}
status=0
out="$(run honest.json)" || status=$?
[ "$status" -eq 0 ] || die "honest.json: exit $status, expected 0: $out"
grep -q '^VERIFIED with the log key you pinned' <<<"$out" || die "honest.json: not verified: $out"
for name in event-signature checkpoint-root; do
    status=0
    out="$(run "$name.json")" || status=$?
    [ "$status" -eq 1 ] || die "$name.json: exit $status, expected 1"
    got="$(awk '/^FAIL  / { line = $0; sub(/^FAIL  [a-z-]+ +/, "", line); sub(/: .*$/, "", line); print $2 " " line }' <<<"$out")"
    expected="$(sed '/^#/d; /^$/d' "$FIXTURES/$name.expected")"
    [ "$got" = "$expected" ] || die "$name.json fails
$got
but the fixture expects
$expected"
done

if [ $# -ge 1 ]; then
    cp -- "$BIN" "$1"
fi
echo "$BIN: static ($(ldd "$BIN" 2>&1 | head -n 1 | sed 's/^[[:space:]]*//')), $(wc -c <"$BIN") bytes; verifies the fixtures"
