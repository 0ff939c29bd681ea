#!/usr/bin/env bash
# The monitors side by side in a 200x60 tmux pane on the fake NVML library, each at a 1 s
# interval: CPU used (% of one core, from the process's CPU-time clock) and peak RSS (VmHWM)
# over SECONDS, and bytes written to the terminal per second (what an SSH link carries).
#   gputop, nvitop and nvtop with 8 GPUs x 8 real processes, under two loads (bench-common.sh),
#   and `gputop wait` polling the same GPUs:
#   "moving" (every metric swings every second: the worst case) and "training" (a steady
#   training job); gputop with 64 GPUs x 1000 processes.
#
#   scripts/bench-tui.sh [SECONDS]
#   BEFORE=path/to/old/gputop scripts/bench-tui.sh [SECONDS]   # that binary's monitor too, same run
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECS=${1:-60}
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
build_release
install_peers
install_nvtop

echo "over ${SECS}s, 1 s interval, 200x60 tmux pane"
for load in moving training; do
  write_scenario 8 8 "$BENCH/tui-8x8-$load.toml" "$load"
  SMALL=$GPUTOP_FAKE_NVML_SCENARIO
  measure_tui "gputop, 8 GPUs x 8 processes, $load" "$SMALL" "release/gputop --interval 1" "$GPUTOP_BIN --interval 1"
  [ -z "${BEFORE:-}" ] || measure_tui "gputop BEFORE, 8 GPUs x 8 processes, $load" "$SMALL" "$BEFORE --interval 1" "$BEFORE --interval 1"
  measure_tui "nvitop, 8 GPUs x 8 processes, $load" "$SMALL" "nvitop --interval 1" "$PEERS/python $PEERS/nvitop --interval 1"
  # nvtop's delay is in tenths of a second.
  [ -z "$NVTOP" ] || measure_tui "nvtop, 8 GPUs x 8 processes, $load" "$SMALL" "peers-nvtop/root/usr/bin/nvtop" "$NVTOP -d 10"
  # gputop wait polling for 8 GPUs that never qualify (budget: no more CPU than the monitor).
  mkdir -p "$BENCH/locks"
  measure_tui "gputop wait (polling), 8 x 8, $load" "$SMALL" "release/gputop --interval 1 wait" \
    "$GPUTOP_BIN --interval 1 wait -n 8 --max-util 0 --lock-dir $BENCH/locks -- true"
  stop_sleepers
  SLEEPERS=()
done

# 64 GPUs x 1000 processes: 1000 real processes spread over the GPUs.
write_scenario 64 0 "$BENCH/tui-64.toml"
python3 - "$BENCH/tui-64.toml" <<'PY'
import subprocess, sys
path = sys.argv[1]
procs = [subprocess.Popen(["sleep", "3600"]).pid for _ in range(1000)]
open(path + ".pids", "w").write(" ".join(map(str, procs)))
out, gpu = [], 0
for line in open(path):
    out.append(line)
for i, pid in enumerate(procs):
    pass
text = "".join(out)
blocks = text.split("[[gpus]]")
head, gpus = blocks[0], blocks[1:]
for i, pid in enumerate(procs):
    gpus[i % len(gpus)] += f"[[gpus.processes]]\npid = {pid}\nused_memory_mib = {100 + i % 900}\nsm_util = {i % 100}\n"
open(path, "w").write(head + "".join("[[gpus]]" + g for g in gpus))
PY
measure_tui "gputop, 64 GPUs x 1000 processes" "$PWD/$BENCH/tui-64.toml" "release/gputop --interval 1" "$GPUTOP_BIN --interval 1"
[ -z "$NVTOP" ] || measure_tui "nvtop, 64 GPUs x 1000 processes" "$PWD/$BENCH/tui-64.toml" "peers-nvtop/root/usr/bin/nvtop" "$NVTOP -d 10"
kill $(cat "$BENCH/tui-64.toml.pids") 2>/dev/null || true
