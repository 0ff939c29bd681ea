#!/usr/bin/env bash
# Bytes written to the terminal per refresh (what a slow SSH link carries), 8 GPUs × 8 real
# processes on the fake NVML library, metrics changing every second, in a 200×90 tmux pane:
#   gputop --watch 1, gpustat -i 1, `watch -n1 gputop --once`, nvitop (full screen, 1 s),
#   and gputop --watch 1 on GPUs whose metrics do not change.
# Each tool runs for SHORT and LONG seconds; per refresh = (bytes(LONG) - bytes(SHORT)) /
# (LONG - SHORT), so the first full frame is not counted.
#
#   scripts/bench-watch.sh [SHORT] [LONG]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SHORT=${1:-6}
LONG=${2:-26}
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
build_release
install_peers
write_scenario 8 8 "$BENCH/watch.toml"
MOVING=$GPUTOP_FAKE_NVML_SCENARIO
# The same GPUs with every metric constant: only the clock in the header changes.
sed -E 's/\{ base = ([0-9.]+)[^}]*\}/\1/' "$MOVING" > "$BENCH/watch-static.toml"
STATIC=$PWD/$BENCH/watch-static.toml

run() { # name scenario cmd...
  local name=$1 scenario=$2; shift 2
  local env="env LD_LIBRARY_PATH=$LD_LIBRARY_PATH GPUTOP_FAKE_NVML_SCENARIO=$scenario LC_ALL=C.UTF-8"
  local a b
  a=$(scripts/bench/tty_bytes.sh "$SHORT" 200 90 "$BENCH/tty-short.bin" "$env $*")
  b=$(scripts/bench/tty_bytes.sh "$LONG" 200 90 "$BENCH/tty-long.bin" "$env $*")
  printf '%-44s %8d B/refresh  (first %ss: %d B)\n' "$name" $(( (b - a) / (LONG - SHORT) )) "$SHORT" "$a"
}

echo "bytes written per 1-second refresh, 8 GPUs x 8 processes, 200x90 terminal"
run "gputop --watch 1" "$MOVING" "$GPUTOP_BIN --watch 1"
run "gpustat -i 1" "$MOVING" "$PEERS/gpustat -i 1"
run "watch -n1 gputop --once" "$MOVING" "watch -n1 $GPUTOP_BIN --once --color always"
run "nvitop (full screen, --interval 1)" "$MOVING" "$PEERS/nvitop --interval 1"
run "gputop --watch 1, nothing changing" "$STATIC" "$GPUTOP_BIN --watch 1"
