#!/usr/bin/env bash
# The CPU an idle `gavel dev` uses, on an empty data directory: utime+stime from
# /proc/PID/stat over SECONDS (default 30) after a 10 s settle, SAMPLES times (default 5);
# prints each sample and the median, in percent of one core.
# usage: scripts/idle-cpu.sh [BINARY]   (default bin/gavel; `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/gavel}
seconds=${SECONDS_PER_SAMPLE:-30}
samples=${SAMPLES:-5}
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
GAVEL_DATA_DIR="$dir" GAVEL_HTTP_ADDR="127.0.0.1:$port" GAVEL_LOG_LEVEL=warn \
  DATABASE_URL= REDIS_URL= "$bin" dev >"$dir/out.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fs "127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "127.0.0.1:$port/readyz" >/dev/null
sleep 10
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
results=()
for i in $(seq 1 "$samples"); do
  a=$(ticks); sleep "$seconds"; b=$(ticks)
  pct=$(awk -v d=$((b - a)) -v hz="$hz" -v s="$seconds" 'BEGIN { printf "%.2f", 100 * d / hz / s }')
  echo "sample $i: $pct % of a core"
  results+=("$pct")
done
printf '%s\n' "${results[@]}" | sort -n | awk '{v[NR]=$1} END { printf "median: %s %% of a core (%d samples of %d s)\n", v[int((NR+1)/2)], NR, '"$seconds"' }'
