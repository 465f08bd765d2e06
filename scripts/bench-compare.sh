#!/usr/bin/env bash
# bench-compare: `gavel bench bids` against builds of gavel in alternating runs on the
# same machine (A, B, A, B, ...), so that a change is compared with the build before it:
# this kind of VM drifts up to 2x between days and ±10% within an hour, so figures of
# another day prove nothing. Each run gets a fresh database and Redis database and its own
# `gavel dev` of the build under test; the load generator is the same binary for both.
#   scripts/bench-compare.sh BINARY[:MODE,MODE...]...
#   A build given with modes runs those only (a build before issue 17 cannot take proxy
#   bids). A mode is hot, spread, or one of them with -proxy: half of its bids proxy bids.
#   RUNS rounds (default 3), MODES (default "hot spread"), DUR each run's bidding time
#   (default 15s); BENCH_DB, BENCH_REDIS as for scripts/bench.sh; CLIENT the gavel binary
#   that drives the load and checks the database after it (default: the build under test,
#   whose checks know its schema; the straight-bid load is the same code in every build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3} modes=${MODES:-hot spread}
BENCH_DB=${BENCH_DB:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BENCH_REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}
DUR=${DUR:-15s}
base=${BENCH_DB%%/postgres\?*}
opts=${BENCH_DB#*\?}
url="$base/bench_compare?$opts"
# Every client comes from 127.0.0.1: no per-IP limits on sign-ups and streams.
export GAVEL_SESSION_SECRET=bench-secret-bench-secret-bench-secret GAVEL_LOG_LEVEL=warn \
  GAVEL_SIGNUP_PER_IP_HOUR=0 GAVEL_STREAMS_PER_IP=0
for i in $(seq "$runs"); do
  for mode in $modes; do
    for spec in "$@"; do
      build=${spec%%:*}
      if [[ $spec == *:* && ",${spec#*:}," != *",$mode,"* ]]; then continue; fi
      extra=() base_mode=$mode
      if [[ $mode == *-proxy ]]; then extra=(--proxy-share 0.5) base_mode=${mode%-proxy}; fi
      psql "$BENCH_DB" -qc "DROP DATABASE IF EXISTS bench_compare WITH (FORCE)" -c "CREATE DATABASE bench_compare" 2>&1 | grep -v '^NOTICE:' || true
      redis-cli -u "$BENCH_REDIS/12" flushdb >/dev/null
      DATABASE_URL=$url REDIS_URL="$BENCH_REDIS/12" GAVEL_HTTP_ADDR=127.0.0.1:18231 GAVEL_DATA_DIR=$(mktemp -d) \
        GAVEL_METRICS_ADDR=127.0.0.1:18232 "$build" dev >/dev/null 2>&1 &
      dev=$!
      for _ in $(seq 100); do curl -fs http://127.0.0.1:18231/readyz >/dev/null && break; sleep 0.2; done
      # Builds before issue 16 serve /metrics on the API's listener, later ones on GAVEL_METRICS_ADDR.
      murl=http://127.0.0.1:18232/metrics
      curl -fs http://127.0.0.1:18231/metrics >/dev/null 2>&1 && murl=http://127.0.0.1:18231/metrics
      res=$(DATABASE_URL=$url "${CLIENT:-$build}" bench bids --url http://127.0.0.1:18231 --metrics-url "$murl" --mode "$base_mode" "${extra[@]}" --duration "$DUR" 2>&1 || true)
      rounds=$(psql "$url" -tAc "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'outbox'" 2>/dev/null || true)
      kill "$dev"; wait "$dev" 2>/dev/null || true
      printf '== run %s %s %s\n%s\ndecision rounds (outbox rows written, 0 before issue 15): %s\n' "$i" "$mode" "$build" "$(grep -v '^time=' <<<"$res")" "$rounds"
    done
  done
done
psql "$BENCH_DB" -qc "DROP DATABASE IF EXISTS bench_compare WITH (FORCE)" 2>&1 | grep -v '^NOTICE:' || true
