#!/usr/bin/env bash
# Bounded HTTP load test of alerting-axum, on 127.0.0.1 only.
#
#   alerting-axum/scripts/load.sh                 # 5 s per run, 3 repetitions
#   DURATION=3 REPEAT=1 alerting-axum/scripts/load.sh
#
# Runs the `http` benchmark (alerting-axum/benches/http.rs): a minimal
# handler bare, behind HttpMetricsLayer and behind axum-prometheus's layer,
# interleaved, each run a fixed DURATION (1-10 s) of `wrk -t1 -c32`; then
# /metrics with 10,000 series scraped by a second wrk while the first loads
# the API. Every server listens on 127.0.0.1:0 inside the benchmark process
# and wrk only ever targets those addresses. Installs wrk with apt-get if it
# is missing. Prints a Markdown table (median of REPEAT runs, ratios).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-5}"
REPEAT="${REPEAT:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
if ! [[ "$DURATION" =~ ^[0-9]+$ ]] || (( DURATION < 1 || DURATION > 10 )); then
    echo "DURATION must be 1 to 10 seconds (got $DURATION)" >&2
    exit 2
fi
if ! [[ "$REPEAT" =~ ^[0-9]+$ ]] || (( REPEAT < 1 || REPEAT > 9 )); then
    echo "REPEAT must be 1 to 9 (got $REPEAT)" >&2
    exit 2
fi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

# Bounded as a whole too: builds aside, at most (3 variants + 2 scrape
# scenarios) x REPEAT runs of DURATION seconds, plus 1 s warm-ups.
exec cargo bench -p alerting-axum --features gzip --bench http -- \
    --duration "$DURATION" --repeat "$REPEAT" --connections "$CONNECTIONS"
