#!/usr/bin/env bash
# Schemathesis against the served OpenAPI document, once per role (and without a token):
# 0 server errors allowed. Usage: bash .ci/schemathesis.sh [path/to/custos] [max-examples]
#
# Starts `custos serve` on a fresh vault on a loopback port, creates one account per role, a
# case holding an item with every case role as a member, then runs `schemathesis run` with
# each account's token. Installs schemathesis from PyPI when missing.
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/target/release/custos}"
EXAMPLES="${2:-40}"

if ! command -v schemathesis >/dev/null 2>&1; then
    pip_flags=(--quiet)
    if python3 -c 'import os,sys,sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"),"EXTERNALLY-MANAGED")) else 1)'; then
        pip_flags+=(--break-system-packages)
    fi
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install "${pip_flags[@]}" 'schemathesis>=4,<5'
    command -v pyenv >/dev/null 2>&1 && pyenv rehash
    PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
    export PATH
fi
schemathesis --version

WORK="$(mktemp -d)"
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --dir "$WORK/vault" serve --bind 127.0.0.1:0 >"$WORK/out" 2>"$WORK/err" &
PID=$!
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$WORK/out" 2>/dev/null && break
    sleep 0.2
done
URL="$(sed -n 's/^listening on //p' "$WORK/out")"
ADMIN="$(grep '^cst_' "$WORK/out" | head -1)"
[ -n "$URL" ] && [ -n "$ADMIN" ] || { echo "custos serve did not start" >&2; cat "$WORK/err" >&2; exit 1; }
echo "server at $URL"

api() { # METHOD PATH TOKEN [JSON]
    curl -sS -f -X "$1" -H "Authorization: Bearer $3" -H 'content-type: application/json' \
        ${4:+--data "$4"} "$URL$2"
}
declare -A TOKENS
TOKENS[administrator]="$ADMIN"
api POST /v1/cases "$ADMIN" '{"name":"ST-1"}' >/dev/null
for role in examiner supervisor prosecutor defence court auditor; do
    api POST /v1/users "$ADMIN" "{\"name\":\"st-$role\",\"role\":\"$role\"}" >/dev/null
    TOKENS[$role]="$(api POST "/v1/users/st-$role/tokens" "$ADMIN" '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
    api POST /v1/cases/ST-1/members "$ADMIN" "{\"user\":\"st-$role\"}" >/dev/null
done
head -c 100000 /dev/urandom >"$WORK/evidence"
curl -sS -f -X POST -H "Authorization: Bearer ${TOKENS[examiner]}" --data-binary @"$WORK/evidence" \
    "$URL/v1/cases/ST-1/items?file_name=e.bin" >/dev/null

status=0
cd "$WORK" # schemathesis keeps state in ./.schemathesis
for role in anonymous administrator examiner supervisor prosecutor defence court auditor; do
    echo
    echo "== schemathesis as $role"
    header=()
    if [ "$role" != anonymous ]; then
        header=(-H "Authorization: Bearer ${TOKENS[$role]}")
    fi
    # Only server errors fail the run: 4xx answers to generated nonsense are the point.
    schemathesis run "$URL/openapi.json" "${header[@]}" --checks not_a_server_error \
        --max-examples "$EXAMPLES" --seed 1 --generation-database none \
        --request-timeout 30 --warnings off || status=$?
    if [ "$status" -ne 0 ]; then
        echo "schemathesis found server errors as $role" >&2
        break
    fi
done
if grep -q 'panicked' "$WORK/err"; then
    echo "the server panicked:" >&2
    grep -A3 panicked "$WORK/err" >&2
    status=1
fi
exit "$status"
