#!/usr/bin/env bash
# Builds the court verifier page: one self-contained HTML file (the WebAssembly module inlined
# as base64, all JavaScript and CSS inline) that verifies report bundles from file://, with no
# server and no network.
#
#   crates/custos-verify-web/build-page.sh [OUT]
#
# OUT defaults to "${CARGO_TARGET_DIR:-<repo>/target}/custos-verify.html". Needs the
# wasm32-unknown-unknown target (`rustup target add wasm32-unknown-unknown`) and wasm-bindgen-cli
# at exactly the version of the wasm-bindgen crate in Cargo.toml (.ci/verify-web.sh installs
# both). The page is reproducible: paths are remapped out of the module and debug information is
# left out, so the same sources and toolchain give the same bytes wherever they are built.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$HERE/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${1:-$TARGET_DIR/custos-verify.html}"
TARGET=wasm32-unknown-unknown

die() {
    echo "build-page.sh: $*" >&2
    exit 1
}

# The exact version pinned in Cargo.toml (`wasm-bindgen = "=X.Y.Z"`): the CLI must match it.
WBG_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' "$HERE/Cargo.toml")"
[ -n "$WBG_VERSION" ] || die "no exact wasm-bindgen version (\"=X.Y.Z\") in $HERE/Cargo.toml"
# The workspace version, shown on the page.
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n 1)"

if ! command -v wasm-bindgen >/dev/null 2>&1; then
    die "wasm-bindgen not found. Install it with:
    cargo install wasm-bindgen-cli --version $WBG_VERSION --locked
(without --locked if the registry lacks one of its locked dependencies), or run
.ci/verify-web.sh, which installs everything the page and its test need."
fi
have="$(wasm-bindgen --version | awk '{print $2}')"
[ "$have" = "$WBG_VERSION" ] || die "wasm-bindgen $have found, but the crate uses $WBG_VERSION. Install the matching CLI:
    cargo install wasm-bindgen-cli --version $WBG_VERSION --locked --force"
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$TARGET"; then
    die "the $TARGET target is not installed: rustup target add $TARGET"
fi

# Reproducible module: no debug information, and no build paths in panic locations.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustflags="--remap-path-prefix=$ROOT=/custos --remap-path-prefix=$cargo_home=/cargo"
rustflags+=" --remap-path-prefix=$(rustc --print sysroot)=/rust"
(
    cd "$ROOT"
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
        CARGO_PROFILE_RELEASE_DEBUG=false \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$rustflags" \
        CARGO_TARGET_DIR="$TARGET_DIR" \
        cargo build --quiet -p custos-verify-web --target "$TARGET" --release
)
wasm="$TARGET_DIR/$TARGET/release/custos_verify_web.wasm"
[ -f "$wasm" ] || die "the build did not produce $wasm"

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT
# no-modules: a classic script defining `wasm_bindgen`, which can be inlined in the page.
wasm-bindgen --target no-modules --no-typescript --out-dir "$work" --out-name custos_verify "$wasm"
base64 -w 76 "$work/custos_verify_bg.wasm" >"$work/wasm.b64"
for js in "$work/custos_verify.js" "$HERE/page/app.js"; do
    if grep -qi '</script' "$js"; then
        die "$js contains </script, which would end its inline script early"
    fi
done

mkdir -p -- "$(dirname -- "$OUT")"
awk -v version="$VERSION" -v b64="$work/wasm.b64" \
    -v bindgen="$work/custos_verify.js" -v app="$HERE/page/app.js" '
    function include(file,   line) {
        while ((getline line < file) > 0) print line
        close(file)
    }
    /^@WASM_BASE64@$/ { include(b64); next }
    /^@BINDGEN_JS@$/ { include(bindgen); next }
    /^@APP_JS@$/ { include(app); next }
    { gsub(/@VERSION@/, version); print }
' "$HERE/page/template.html" >"$work/page.html"
mv -- "$work/page.html" "$OUT"

echo "$OUT: $(wc -c <"$OUT") bytes (module $(wc -c <"$work/custos_verify_bg.wasm") bytes), sha256 $(sha256sum "$OUT" | cut -d' ' -f1)"
