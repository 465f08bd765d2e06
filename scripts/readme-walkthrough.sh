#!/usr/bin/env bash
# Runs the README's walkthrough (the ```sh blocks between <!-- walkthrough --> and
# <!-- /walkthrough --> in README.md, read from the README itself) against a `gavel dev`
# that it starts on a temporary data directory and port, and checks the answers: every
# command succeeds and prints something, no answer is a problem except where the README
# says so, and the answers say what the README says they do.
# The only changes to the commands: localhost:8080 becomes the temporary port, and
# `go run ./cmd/gavel` the binary built here (the commands run in a scratch directory).
# usage: scripts/readme-walkthrough.sh   (builds bin/gavel)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
CGO_ENABLED=0 go build -trimpath -o bin/gavel ./cmd/gavel
work=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
export GAVEL_DATA_DIR="$work/data" GAVEL_HTTP_ADDR="127.0.0.1:$port" GAVEL_LOG_LEVEL=warn
unset DATABASE_URL REDIS_URL GAVEL_RECOMMENDER_URL
"$repo/bin/gavel" dev >"$work/gavel.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fs "127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

# The commands: continuation lines joined, one command per line of $work/commands.
awk '
  /<!-- walkthrough -->/ { on = 1; next }
  /<!-- \/walkthrough -->/ { on = 0; next }
  on && /^```sh/ { code = 1; next }
  on && /^```/ { code = 0; next }
  on && code {
    line = $0
    if (line ~ /^[[:space:]]*(#.*)?$/) next
    if (line ~ /\\$/) { sub(/\\$/, "", line); cmd = cmd line; next }
    print cmd line; cmd = ""
  }' README.md >"$work/commands"
n=$(wc -l <"$work/commands")
[ "$n" -ge 10 ] || { echo "readme-walkthrough: found only $n commands in README.md"; exit 1; }

# One script, so that variables carry from line to line as in a shell; each command's
# output and exit status are marked.
{
  echo 'cd "$1"'
  i=0
  while IFS= read -r cmd; do
    i=$((i + 1))
    cmd=${cmd//localhost:8080/127.0.0.1:$port}
    cmd=${cmd//go run .\/cmd\/gavel/\"$repo\/bin\/gavel\"}
    printf 'printf "\\n@@@ start %d\\n"\n%s\nprintf "\\n@@@ rc %d %%s\\n" "$?"\n' "$i" "$cmd" "$i"
  done <"$work/commands"
} >"$work/run.sh"
bash "$work/run.sh" "$work" >"$work/out" 2>&1 || true
[ -z "${WALKTHROUGH_SHOW:-}" ] || cat "$work/out"

fail=0
check() { echo "FAIL: command $1: $2"; echo "  \$ $(sed -n "$1p" "$work/commands")"; sed 's/^/  | /' "$work/out.$1"; fail=1; }
i=0
while IFS= read -r cmd; do
  i=$((i + 1))
  awk -v i="$i" '$0 == "@@@ start " i { on = 1; next } /^@@@ rc / { on = 0 } on' "$work/out" >"$work/out.$i"
  rc=$(awk -v i="$i" '$1 == "@@@" && $2 == "rc" && $3 == i { print $4 }' "$work/out")
  out=$(cat "$work/out.$i")
  case "$cmd" in *--max-time*) [ "$rc" = 28 ] && rc=0 ;; esac   # a stream, cut off on purpose
  case "$cmd" in S=*|E=*|echo*) continue ;; esac
  [ "$rc" = 0 ] || { check "$i" "exit status $rc"; continue; }
  [ -n "$(tr -d '[:space:]' <<<"$out")" ] || { check "$i" "printed nothing"; continue; }
  # The problem the README's comment announces, or none.
  want=$(grep -oE '#.*' <<<"$cmd" | grep -oE '\b[a-z]+_[a-z_]+\b' | grep -vE '^(min_next_bid|start_at)$' | head -1 || true)
  got=$(grep -oE '"code":"[a-z_]+"' <<<"$out" | head -1 | cut -d'"' -f4 || true)
  [ "$got" = "$want" ] || { check "$i" "problem ${got:-none}, the README says ${want:-none}"; continue; }
  expect() { grep -qE -- "$1" <<<"$out" || check "$i" "no match for $1"; }
  case "$cmd" in
    *readyz*) expect '"status":"ready"' ;;
    *'user promote'*) expect 'is now an admin' ;;
    *'/api/v1/users '*) expect '"nickname":"(ann|bob)"' ;;
    *'/api/v1/sessions '*) expect '"email":"(ann|bob)@example.com"' ;;
    *'points/charges'*) expect '"available":[0-9]+' ;;
    *'/me/points/ledger'*) expect '"kind":"charge"' ;;
    *'-b jar localhost:8080/api/v1/me') expect '"available":5000' ;;
    *'/images'*) expect '"content_type":"image/gif"' ;;
    *'auctions?q=camera'*) expect 'Leica M3 camera' ;;
    *XPATCH*) expect '"start_at"' ;;
    *auction_not_started*) expect '"start_at":"[0-9T:.Z-]+"' ;;
    *bid_too_low*) expect '"min_next_bid":[0-9]+' ;;
    *'Prefer: wait'*) expect '"status":"leading"' ;;
    *'/stream'*) expect '^event: price'; expect '^event: status'; expect '"server_time"' ;;
    *'/auctions/1/bids '*|*'/auctions/1/bids') expect '"bidder_nickname":"bo\*\*\*"' ;;
    *'/api/v1/auctions '*) expect '"status":"READY"' ;;
  esac
done <"$work/commands"
if [ "$fail" != 0 ]; then
  echo "--- gavel dev log"; tail -50 "$work/gavel.log"
  exit 1
fi
echo "readme-walkthrough: $n commands of README.md answered as it says"
