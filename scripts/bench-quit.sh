#!/usr/bin/env bash
# How long gputop takes to quit, in each mode and on each way of asking: from the key or the
# signal to the process being gone, in a 120x40 tmux pane, on the fake NVML library with 8 GPUs.
# Usage: scripts/bench-quit.sh [RUNS]   (default 5 runs of each; prints the median and the worst)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
command -v tmux >/dev/null || { echo "bench-quit.sh needs tmux" >&2; exit 1; }
build_release
runs=${1:-5}
write_scenario 8 8 "$BENCH/quit.toml"
socket="gputop-bench-quit-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null; stop_sleepers' EXIT

# quit_ms MODE HOW: one run; prints the milliseconds.
quit_ms() {
  local mode=$1 how=$2 pidfile="$BENCH/quit.pid" pid t0 t1
  rm -f "$pidfile"
  tmux -L "$socket" -f /dev/null new-session -d -x 120 -y 40 \
    "sh -c 'echo \$\$ > $pidfile; exec $GPUTOP_BIN $mode'; sleep 5"
  for _ in $(seq 100); do [ -s "$pidfile" ] && break; sleep 0.05; done
  sleep 1.5 # drawn, sampling
  pid=$(cat "$pidfile")
  t0=$(date +%s%N)
  case $how in
    q | C-c) tmux -L "$socket" send-keys "$how" ;;
    *) kill "-$how" "$pid" ;;
  esac
  while kill -0 "$pid" 2>/dev/null; do sleep 0.001; done
  t1=$(date +%s%N)
  tmux -L "$socket" kill-server 2>/dev/null || true
  echo $(((t1 - t0) / 1000000))
}

printf '%-22s %-4s %8s %8s\n' mode how median worst
for mode in "" "--watch" "--watch --json"; do
  for how in q C-c TERM HUP; do
    [ -n "$mode" ] && [ "$how" = q ] && continue
    times=$(for _ in $(seq "$runs"); do quit_ms "$mode" "$how"; done | sort -n)
    median=$(echo "$times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    worst=$(echo "$times" | tail -1)
    printf '%-22s %-4s %6s ms %6s ms\n' "${mode:-monitor}" "$how" "$median" "$worst"
  done
done
