#!/usr/bin/env bash
# The exporter under load: 8 GPUs x 8 real processes on the fake NVML library, sampling every
# second. wrk with 200 connections on /metrics for 10 s (latency percentiles as wrk measures
# them on loopback), then idle CPU over SECONDS with no scrapes, then peak RSS.
#
#   scripts/bench-serve.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECS=${1:-30}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
build_release
write_scenario 8 8 "$BENCH/serve.toml"
PORT=19835
"$GPUTOP_BIN" serve --listen 127.0.0.1:$PORT --interval 1 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; stop_sleepers' EXIT
sleep 2
echo "wrk -t2 -c200 -d10s on /metrics (8 GPUs):"
wrk -t2 -c200 -d10s --latency "http://127.0.0.1:$PORT/metrics" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors" || true
echo "wrk -t1 -c1 -d5s (one client: the time a scrape takes without queueing):"
wrk -t1 -c1 -d5s --latency "http://127.0.0.1:$PORT/metrics" | grep -E "50%|99%|Requests/sec" || true
c0=$(cpu_ns $PID)
sleep "$SECS"
c1=$(cpu_ns $PID)
printf 'idle CPU at a 1 s interval: %.3f %% of one core over %ss\n' "$(echo "($c1 - $c0) * 100 / 10^9 / $SECS" | bc -l)" "$SECS"
awk '/VmHWM/ {printf "peak RSS: %.1f MiB\n", $2 / 1024}' /proc/$PID/status
