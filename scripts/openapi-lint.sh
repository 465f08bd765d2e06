#!/usr/bin/env bash
# Lints api/openapi.yaml with Redocly and Spectral, pinned, through npx (the npm registry
# or its cache); fails on any error or warning of either.
set -euo pipefail
cd "$(dirname "$0")/.."
REDOCLY_VERSION=${REDOCLY_VERSION:-2.77.0}
SPECTRAL_VERSION=${SPECTRAL_VERSION:-6.16.3}
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
out=$(npx --yes "@redocly/cli@$REDOCLY_VERSION" lint --format stylish api/openapi.yaml 2>&1) || { echo "$out"; exit 1; }
echo "$out" | grep -v '║\|╔\|╚'
if grep -qE '^ +[0-9]+:[0-9]+ +warning' <<<"$out"; then echo "redocly: warnings"; exit 1; fi
npx --yes "@stoplight/spectral-cli@$SPECTRAL_VERSION" lint --ruleset .spectral.yaml --fail-severity warn api/openapi.yaml
