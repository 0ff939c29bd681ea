#!/usr/bin/env bash
# What reading GPM activity costs the monitor: gputop on 8 GPUs x 8 real processes of the fake
# NVML library, 1 s interval, the same moving load with and without GPM on the GPUs (one GPM
# sample and one metrics call per GPU per refresh), alternated twice, CPU over SECONDS each.
# Budget: GPM adds at most 10 % to the monitor's CPU.
#
#   scripts/bench-gpm.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECS=${1:-30}
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
build_release
write_scenario 8 8 "$BENCH/gpm-off.toml"
sed 's/^\[\[gpus\]\]$/[[gpus]]\ngpm = { sm_active = { base = 60, amplitude = 30, period_s = 5 }, sm_occupancy = 40, tensor_active = { base = 40, amplitude = 30, period_s = 7 }, dram_active = 50, fp16_active = 30, fp32_active = 20, fp64_active = 0, pcie_tx_mib_s = 100, pcie_rx_mib_s = 800, nvlink_tx_mib_s = 20000, nvlink_rx_mib_s = 20000 }/' \
  "$BENCH/gpm-off.toml" > "$BENCH/gpm-on.toml"
echo "over ${SECS}s, 1 s interval, 200x60 tmux pane"
for round in 1 2; do
  measure_tui "gputop, 8 x 8, GPM off ($round)" "$PWD/$BENCH/gpm-off.toml" "release/gputop --interval 1" "$GPUTOP_BIN --interval 1"
  measure_tui "gputop, 8 x 8, GPM on ($round)" "$PWD/$BENCH/gpm-on.toml" "release/gputop --interval 1" "$GPUTOP_BIN --interval 1"
done
stop_sleepers
