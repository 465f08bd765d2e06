#!/usr/bin/env bash
# make bench: runs the project's benchmarks against the local PostgreSQL and Redis and
# writes their output, with the machine and the method, into docs/BENCHMARKS.md, as its
# "Latest run" section (between the markers); the rest of that file keeps the curated
# figures (medians over several runs), the history and the seed project's reference figures.
#   BENCH_DB   a PostgreSQL URL that may create databases (default: local postgres)
#   BENCH_REDIS a Redis server URL; databases 10 and 11 of it are flushed
#   BENCH_QUICK=1 shorter runs
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DB=${BENCH_DB:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BENCH_REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}
DUR=20s; SEED=1000000; SETTLE=50000
if [ "${BENCH_QUICK:-}" = 1 ]; then DUR=8s; SEED=100000; SETTLE=5000; fi
out=$(mktemp)
base=${BENCH_DB%%/postgres\?*}
opts=${BENCH_DB#*\?}
go build -o bin/gavel ./cmd/gavel
db() { echo "$base/$1?$opts"; }
fresh() { psql "$BENCH_DB" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }
# Every benchmark client comes from 127.0.0.1: the per-IP limits on sign-ups and streams
# would refuse most of them, so the targets run without them.
export GAVEL_SESSION_SECRET=bench-secret-bench-secret-bench-secret GAVEL_LOG_LEVEL=warn \
  GAVEL_SIGNUP_PER_IP_HOUR=0 GAVEL_STREAMS_PER_IP=0
dev() { # dev DBNAME REDISDB PORT [LIST_CACHE_TTL]: gavel dev in the background on PostgreSQL and Redis,
  # pprof on PORT+1, /metrics on PORT+2
  GAVEL_LIST_CACHE_TTL=${4:-1s} \
  DATABASE_URL=$(db "$1") REDIS_URL="$BENCH_REDIS/$2" GAVEL_HTTP_ADDR=127.0.0.1:$3 GAVEL_DATA_DIR=$(mktemp -d) \
    GAVEL_DEBUG_ADDR=127.0.0.1:$(( $3 + 1 )) GAVEL_METRICS_ADDR=127.0.0.1:$(( $3 + 2 )) bin/gavel dev >/dev/null 2>&1 &
  DEV=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$3/readyz" >/dev/null && return; sleep 0.2; done
  echo "gavel dev did not start" >&2; exit 1
}
stop() { kill "$DEV"; wait "$DEV" 2>/dev/null || true; }
{
  echo "## Latest run ($(date -u +%F\ %H:%M\ UTC))"
  echo
  echo "Written by \`make bench\` (\`scripts/bench.sh\`): one run of each benchmark, as printed. Machine: $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB, Go $(go env GOVERSION), PostgreSQL and Redis on"
  echo "the same box ($(psql "$BENCH_DB" -tAc 'SELECT version()' | cut -d' ' -f1-2), $(redis-cli -u "$BENCH_REDIS" info server | tr -d '\r' | grep -m1 '^redis_version:' | sed 's/^redis_version:/Redis /')); every target is \`gavel dev\` on them, a fresh database each."
  echo "The sections after this one hold the medians over several runs and the history."
  echo
  echo '### Listing, list cache OFF: query speed (`gavel seed`, then `gavel bench list`, target `GAVEL_LIST_CACHE_TTL=0`)'; echo '```'
  fresh bench_list
  DATABASE_URL=$(db bench_list) bin/gavel seed --auctions "$SEED" 2>&1 | tail -1
  dev bench_list 10 18201 0
  bin/gavel bench list --url http://127.0.0.1:18201 --duration "$DUR" --cache 0
  stop; echo '```'; echo
  echo '### Listing, list cache ON, the default: NOT query speed (same data, target `GAVEL_LIST_CACHE_TTL=1s`)'; echo '```'
  dev bench_list 10 18201 1s
  bin/gavel bench list --url http://127.0.0.1:18201 --duration "$DUR" --cache 1s
  stop; echo '```'; echo
  for mode in hot spread; do
    echo "### Bidding, \`$mode\` (\`gavel bench bids --mode $mode\`)"; echo '```'
    fresh bench_bids; redis-cli -u "$BENCH_REDIS/10" flushdb >/dev/null
    dev bench_bids 10 18211
    DATABASE_URL=$(db bench_bids) bin/gavel bench bids --url http://127.0.0.1:18211 --metrics-url http://127.0.0.1:18213/metrics --mode "$mode" --duration "$DUR"
    stop; echo '```'; echo
  done
  echo '### Live events (`gavel bench sse`, 10,000 streams)'; echo '```'
  fresh bench_sse; redis-cli -u "$BENCH_REDIS/11" flushdb >/dev/null
  dev bench_sse 11 18221
  DATABASE_URL=$(db bench_sse) bin/gavel bench sse --url http://127.0.0.1:18221 --debug-url http://127.0.0.1:18222 --metrics-url http://127.0.0.1:18223/metrics --duration "$DUR"
  stop; echo '```'; echo
  echo '### Settlement (`gavel bench settle`)'; echo '```'
  fresh bench_settle
  DATABASE_URL=$(db bench_settle) bin/gavel bench settle --auctions "$SETTLE"
  echo '```'; echo
  echo '### Recommendations and on-time transitions (Go benchmarks)'; echo '```'
  TEST_DATABASE_URL=$(db postgres) TEST_REDIS_URL="$BENCH_REDIS/0" go test ./api -run '^$' -bench Recommendations -benchtime 1x
  TEST_DATABASE_URL=$(db postgres) TEST_REDIS_URL="$BENCH_REDIS/0" go test ./worker -run '^$' -bench OnTimeTransitions -benchtime 1x
  echo '```'
  for d in bench_list bench_bids bench_sse bench_settle; do psql "$BENCH_DB" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)"; done
} 2>&1 | grep -v '^NOTICE:' > "$out"
# Replace the section between the markers of docs/BENCHMARKS.md.
awk -v f="$out" '
  /<!-- make bench: begin -->/ { print; while ((getline line < f) > 0) print line; skip = 1; next }
  /<!-- make bench: end -->/ { skip = 0 }
  !skip { print }
' docs/BENCHMARKS.md > docs/BENCHMARKS.md.new && mv docs/BENCHMARKS.md.new docs/BENCHMARKS.md
rm -f "$out"
echo "updated docs/BENCHMARKS.md"
