#!/usr/bin/env bash
# Issue 32's budget: the monitor on 8 AMD GPUs with 64 clients costs no more CPU than on 8
# NVIDIA GPUs with 64 processes. Both in a 200x60 tmux pane at a 1 s interval, measured the
# way scripts/bench-tui.sh measures (the process's CPU-time clock over SECONDS), in one run:
#   NVIDIA: the fake NVML library, 8 GPUs x 8 real processes, the steady "training" load;
#   AMD: 8 amdgpu cards and 64 real processes each holding a DRM client, in a private mount
#   namespace (scripts/bench/drm-fixture.py: sysfs and /dev/dri on tmpfs, bind mounts over the
#   processes' /proc/PID/fd and fdinfo, the clients' engine time advancing every second).
# Needs root (mount namespaces), tmux and python3.
#
#   scripts/bench-vendors.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECS=${1:-30}
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (a private mount namespace for the AMD fixture)" >&2; exit 2; }
build_release

echo "over ${SECS}s, 1 s interval, 200x60 tmux pane"
for round in 1 2; do
  write_scenario 8 8 "$BENCH/vendors-nvidia.toml" training
  measure_tui "gputop, 8 NVIDIA GPUs x 8 processes (#$round)" "$GPUTOP_FAKE_NVML_SCENARIO" \
    "release/gputop --interval 1" "$GPUTOP_BIN --interval 1"
  stop_sleepers
  SLEEPERS=()
  # The AMD machine: no NVIDIA library on the loader path, the fixture in its own namespace.
  cat > "$BENCH/vendors-amd.sh" <<SH
set -e
pids=()
for i in \$(seq 64); do sleep 3600 & pids+=(\$!); done
echo "\${pids[@]}" > $PWD/$BENCH/vendors-amd.pids
python3 $PWD/scripts/bench/drm-fixture.py 8 "\${pids[@]}" --update
exec env -u LD_LIBRARY_PATH $GPUTOP_BIN --interval 1
SH
  measure_tui "gputop, 8 AMD GPUs x 64 clients (#$round)" /dev/null \
    "release/gputop --interval 1" "unshare -m --propagation private bash $PWD/$BENCH/vendors-amd.sh"
  # Only the clients this run started (the fixture's updater ends with them): never another
  # user's processes on a shared machine.
  kill $(cat "$BENCH/vendors-amd.pids") 2>/dev/null || true
done
