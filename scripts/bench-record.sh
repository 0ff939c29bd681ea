#!/usr/bin/env bash
# What recording costs: `gputop record` beside the monitor (8 GPUs x 8 real processes of the
# fake NVML library, 1 s interval, CPU over SECONDS each, same run), and the disk a GPU-day of
# raw 1 s samples takes with two processes per GPU (recorded at 0.1 s for SECONDS, the file
# checkpointed and measured, divided by the samples written). Budgets: recorder CPU at most
# the monitor's; at most 8 MiB per GPU-day.
#
#   scripts/bench-record.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECS=${1:-30}
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
build_release
write_scenario 8 8 "$BENCH/record-8x8.toml"
SCENARIO=$GPUTOP_FAKE_NVML_SCENARIO

measure_tui "gputop monitor, 8 x 8" "$SCENARIO" "release/gputop --interval 1" "$GPUTOP_BIN --interval 1"
rm -f "$BENCH"/record-cpu.db*
GPUTOP_FAKE_NVML_SCENARIO=$SCENARIO "$GPUTOP_BIN" --interval 1 record --out "$BENCH/record-cpu.db" 2>/dev/null &
pid=$!
sleep 4
c0=$(cpu_ns $pid)
sleep "$SECS"
c1=$(cpu_ns $pid)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill $pid; wait $pid 2>/dev/null || true
printf '%-44s %6.3f %% CPU  %6.1f MiB peak RSS\n' "gputop record, 8 x 8" \
  "$(echo "($c1 - $c0) * 100 / 10^9 / $SECS" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
stop_sleepers
SLEEPERS=()

write_scenario 8 2 "$BENCH/record-8x2.toml"
rm -f "$BENCH"/record-size.db*
GPUTOP_FAKE_NVML_SCENARIO=$GPUTOP_FAKE_NVML_SCENARIO "$GPUTOP_BIN" --interval 0.1 record --out "$BENCH/record-size.db" 2>/dev/null &
pid=$!
sleep "$SECS"
kill $pid; wait $pid 2>/dev/null || true
python3 - "$BENCH/record-size.db" <<'PY'
import os, sqlite3, sys
path = sys.argv[1]
db = sqlite3.connect(path)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rows = db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
# What each sample adds (the tables and indexes that grow with it), without the fixed pages
# of the schema, from SQLite's dbstat table.
growing = ("samples", "process_samples", "ticks", "ticks_by_time", "events", "events_by_tick")
pages = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
db.close()
size = os.path.getsize(path)
marginal = sum(pages.get(n, 0) for n in growing)
day = 86400 / 2**20
print(f"disk: {size} bytes for {rows} GPU-samples (2 processes per GPU): {size / rows:.1f} B each "
      f"with the fixed pages, {marginal / rows:.1f} B each as the file grows: "
      f"{marginal / rows * day:.2f} MiB per GPU-day of 1 s samples")
PY
stop_sleepers
