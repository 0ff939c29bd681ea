#!/usr/bin/env bash
# Issue 32's budget: finding the AMD and Intel GPU clients reads every process's fd table; on a
# host with 2,000 processes that scan must take at most 1.5x a C program making the same
# system calls (scripts/bench/fdscan-floor.c drm), measured side by side in this one run.
#
#   scripts/bench-drm-scan.sh
#
# It fills /proc up to 2,000 processes with sleepers, takes the C floor's best of ten, then
# criterion's estimate for gputop's scan (cargo bench --bench containers), and stops the
# sleepers. This machine has no DRM device a process could hold open, so neither side reads an
# fdinfo: both walk every fd of every process, which is the scan's cost.
set -euo pipefail
cd "$(dirname "$0")/.."
gcc -O2 -pthread scripts/bench/fdscan-floor.c -o target/fdscan-floor
running=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
pids=()
for _ in $(seq "$running" 1999); do
  sleep 600 &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
target/fdscan-floor drm
target/fdscan-floor drm
cargo bench --quiet --bench containers -- drm_fd_scan_real_proc 2>&1 | grep -E 'drm_fd_scan|time:'
target/fdscan-floor drm
