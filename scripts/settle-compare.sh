#!/usr/bin/env bash
# settle-compare: `gavel bench settle` with straight winners and with proxy winners (whose
# settlement also releases what they held beyond the price), in alternating runs on the
# same machine and build, each on a fresh database.
#   RUNS rounds (default 3), AUCTIONS per run (default 50000), BENCH_DB as for
#   scripts/bench.sh, GAVEL the binary (default bin/gavel).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3} auctions=${AUCTIONS:-50000} gavel=${GAVEL:-bin/gavel}
BENCH_DB=${BENCH_DB:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
url="${BENCH_DB%%/postgres\?*}/bench_settle_compare?${BENCH_DB#*\?}"
for i in $(seq "$runs"); do
  for proxy in false true; do
    psql "$BENCH_DB" -qc "DROP DATABASE IF EXISTS bench_settle_compare WITH (FORCE)" -c "CREATE DATABASE bench_settle_compare" 2>&1 | grep -v '^NOTICE:' || true
    printf '== run %s proxy=%s\n' "$i" "$proxy"
    DATABASE_URL=$url GAVEL_LOG_LEVEL=warn "$gavel" bench settle --auctions "$auctions" --proxy="$proxy" 2>&1 | grep -v '^time=' | head -1
  done
done
psql "$BENCH_DB" -qc "DROP DATABASE IF EXISTS bench_settle_compare WITH (FORCE)" 2>&1 | grep -v '^NOTICE:' || true
