#!/usr/bin/env bash
# What listening for XID and ECC events costs while the GPUs are quiet: `gputop serve` (which
# listens) on 8 GPUs x 8 real processes of the fake NVML library, sampling every second. Over
# SECONDS: the CPU time and wake-ups of its event thread (from /proc/PID/task/TID/schedstat)
# beside the whole process's CPU time. The fake's nvmlEventSetWait sleeps until an event or
# the timeout, as the driver's does.
#
#   scripts/bench-events.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECS=${1:-30}
build_release
write_scenario 8 8 "$BENCH/events.toml"
PORT=19836
GPUTOP_FAKE_NVML_SCENARIO="$BENCH/events.toml" "$GPUTOP_BIN" serve --listen 127.0.0.1:$PORT --interval 1 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; stop_sleepers' EXIT
sleep 3
TID=$(grep -l '^gputop-events$' /proc/$PID/task/*/comm | head -1 | cut -d/ -f5)
[ -n "$TID" ] || { echo "no gputop-events thread in $PID" >&2; exit 1; }
read -r t0 _ n0 < "/proc/$PID/task/$TID/schedstat"
c0=$(cpu_ns $PID)
sleep "$SECS"
read -r t1 _ n1 < "/proc/$PID/task/$TID/schedstat"
c1=$(cpu_ns $PID)
printf 'event thread: %.1f µs CPU and %d wake-ups in %ss (%.4f %% of one core)\n' \
  "$(echo "($t1 - $t0) / 1000" | bc -l)" $((n1 - n0)) "$SECS" "$(echo "($t1 - $t0) * 100 / 10^9 / $SECS" | bc -l)"
printf 'whole exporter: %.3f %% of one core; the event thread is %.2f %% of it\n' \
  "$(echo "($c1 - $c0) * 100 / 10^9 / $SECS" | bc -l)" "$(echo "($t1 - $t0) * 100 / ($c1 - $c0)" | bc -l)"
