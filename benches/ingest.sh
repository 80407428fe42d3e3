#!/usr/bin/env bash
# Ingest/get benchmarks for docs/PERFORMANCE.md (issue 2), all in one run on one 1 GiB random file,
# each figure with its reference measured in the same run, as a ratio.
#
#   bash benches/ingest.sh [RUNS]        (needs: openssl, restic, GNU time; apt-get install restic time)
#
# Builds into $CARGO_TARGET_DIR when set (default target/). Medians of RUNS (default 3). Vaults on tmpfs live in /dev/shm; "disk" is $DISK_DIR (default /var/tmp).
set -euo pipefail
RUNS=${1:-3}
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/custos"
SHM=/dev/shm/custos-bench
DISK=${DISK_DIR:-/var/tmp}/custos-bench
(cd "$ROOT" && cargo build --release --quiet)
rm -rf "$SHM" "$DISK"; mkdir -p "$SHM" "$DISK"
trap 'rm -rf "$SHM" "$DISK"' EXIT
head -c 1G /dev/urandom > "$SHM/f1g"
export RESTIC_PASSWORD=bench

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
run_median() { local i; for ((i = 0; i < RUNS; i++)); do secs "$@"; done | median; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# 1. tmpfs: ingest vs openssl dgst -sha256.
ossl=$(run_median openssl dgst -sha256 "$SHM/f1g")
"$BIN" --dir "$SHM/v" init >/dev/null
ing_shm=$(for ((i = 0; i < RUNS; i++)); do secs "$BIN" --dir "$SHM/v" ingest "$SHM/f1g" --case "c$i"; done | median)
# 2. get on tmpfs vs openssl.
item=$("$BIN" --dir "$SHM/v" log --json | head -1 | python3 -c 'import json,sys; e=json.loads(json.loads(sys.stdin.readline())["event"]); print(e["item"]["id"])')
get_shm=$(for ((i = 0; i < RUNS; i++)); do secs "$BIN" --dir "$SHM/v" get "$item" -o "$SHM/out$i" --reason bench; rm -f "$SHM/out$i"; done | median)
rm -rf "$SHM/v"
# 3. disk, durable: ingest vs dd conv=fsync vs restic backup.
dd_t=$(for ((i = 0; i < RUNS; i++)); do secs dd if="$SHM/f1g" of="$DISK/dd$i" bs=8M conv=fsync; rm -f "$DISK/dd$i"; done | median)
"$BIN" --dir "$DISK/v" init >/dev/null
ing_disk=$(for ((i = 0; i < RUNS; i++)); do sync; secs "$BIN" --dir "$DISK/v" ingest "$SHM/f1g" --case "d$i"; done | median)
restic_t=$(for ((i = 0; i < RUNS; i++)); do rm -rf "$DISK/r"; restic init -q -r "$DISK/r" >/dev/null; sync; secs restic -q -r "$DISK/r" backup "$SHM/f1g"; done | median)
rm -rf "$DISK/v" "$DISK/r"
# 4. Peak RSS of a 4 GiB ingest and get.
head -c 4G /dev/urandom > "$DISK/f4g"
"$BIN" --dir "$DISK/v" init >/dev/null
rss_ing=$( { /usr/bin/time -f '%M' "$BIN" --dir "$DISK/v" ingest "$DISK/f4g" --case big >/dev/null; } 2>&1 | tail -1)
item4=$("$BIN" --dir "$DISK/v" log --json | head -1 | python3 -c 'import json,sys; e=json.loads(json.loads(sys.stdin.readline())["event"]); print(e["item"]["id"])')
rm -f "$DISK/f4g"
rss_get=$( { /usr/bin/time -f '%M' "$BIN" --dir "$DISK/v" get "$item4" -o "$DISK/out4g" --reason bench >/dev/null; } 2>&1 | tail -1)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

r() { echo "scale=2; $1" | bc -l; }
printf '\n| measurement (1 GiB random file, median of %s) | custos | reference | ratio | target |\n|---|---|---|---|---|\n' "$RUNS"
printf '| ingest, vault on tmpfs: throughput vs `openssl dgst -sha256` | %.2f s | %.2f s | %s x | >= 0.8 x |\n' "$ing_shm" "$ossl" "$(r "$ossl / $ing_shm")"
printf '| get, tmpfs: throughput vs `openssl dgst -sha256` | %.2f s | %.2f s | %s x | >= 0.8 x |\n' "$get_shm" "$ossl" "$(r "$ossl / $get_shm")"
printf '| ingest, vault on disk (durable): time vs `dd bs=8M conv=fsync` | %.2f s | %.2f s | %s x | <= 1.2 x |\n' "$ing_disk" "$dd_t" "$(r "$ing_disk / $dd_t")"
printf '| ingest, vault on disk (durable): time vs `restic backup` | %.2f s | %.2f s | %s x | <= 0.4 x |\n' "$ing_disk" "$restic_t" "$(r "$ing_disk / $restic_t")"
printf '| peak RSS, 4 GiB ingest | %s MiB | | | <= 64 MiB |\n' "$((rss_ing / 1024))"
printf '| peak RSS, 4 GiB get | %s MiB | | | <= 64 MiB |\n' "$((rss_get / 1024))"
