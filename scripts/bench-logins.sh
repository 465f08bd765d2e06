#!/usr/bin/env bash
# The login/signup storm: starts `gavel dev` on a fresh GAVEL_DATA_DIR and a free port,
# runs `gavel bench logins` against it (200 requests at once from one client, then a
# prepared user's normal login from another loopback address), and reports the server
# process's peak resident memory: VmHWM from /proc/PID/status (the kernel's high-water
# mark) at the end, and the largest VmRSS sampled every 100 ms while it ran.
# Targets: peak resident memory under 300 MB; the normal login answering 200 within 2 s of
# the storm's end.
# usage: scripts/bench-logins.sh [gavel bench logins flags...]   (builds bin/gavel; BUILD_LABEL
# overrides the build named in the report, git rev-parse --short HEAD by default)
set -euo pipefail
cd "$(dirname "$0")/.."
${LOCK:-flock -o /tmp/gavel-heavy.lock} env CGO_ENABLED=0 go build -trimpath -o bin/gavel ./cmd/gavel
work=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
export GAVEL_DATA_DIR="$work/data" GAVEL_HTTP_ADDR="127.0.0.1:$port" GAVEL_METRICS_ADDR="127.0.0.1:$((port + 1))" GAVEL_LOG_LEVEL=warn
unset DATABASE_URL REDIS_URL GAVEL_RECOMMENDER_URL
./bin/gavel dev >"$work/gavel.log" 2>&1 &
pid=$!
sampler=
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ready=
for _ in $(seq 1 150); do
  if curl -fs "127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "bench-logins: gavel dev did not get ready"; cat "$work/gavel.log"; exit 1
fi
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
idle_rss=$(kb VmRSS)

# Samples VmRSS (and VmHWM) every 100 ms; the largest VmRSS is written at each sample.
(
  max=0
  while [ -r "/proc/$pid/status" ]; do
    rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$rss" ] && [ "$rss" -gt "$max" ] && { max=$rss; echo "$max" >"$work/max-rss"; }
    sleep 0.1
  done
) &
sampler=$!

rc=0
./bin/gavel bench logins --url "http://127.0.0.1:$port" "$@" || rc=$?

hwm=$(kb VmHWM)
sampled=$(cat "$work/max-rss" 2>/dev/null || echo 0)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=
mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k * 1024 / 1e6 }'; }
build=${BUILD_LABEL:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')}
echo "server (gavel dev, pid $pid, embedded SQLite and Redis; build $build):"
echo "  resident memory idle before the storm: $(mb "$idle_rss")"
echo "  peak resident memory: $(mb "$hwm") (VmHWM at the end); largest VmRSS sampled every 100 ms: $(mb "$sampled")"
if [ "$hwm" -lt $(( 300 * 1000 * 1000 / 1024 )) ]; then
  echo "  target under 300 MB: met"
else
  echo "  target under 300 MB: MISSED"
fi
if grep -q 'level=ERROR' "$work/gavel.log"; then
  echo "server errors logged:"; grep 'level=ERROR' "$work/gavel.log" | head -5
fi
exit "$rc"
