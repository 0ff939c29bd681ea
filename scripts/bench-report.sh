#!/usr/bin/env bash
# `gputop report` over 7 days x 8 GPUs of raw 1 s samples with 2 processes per GPU (4.8 million
# GPU rows, 9.7 million process rows), made once by the bench helper `make_recording` through
# the recorder's own writer and kept under target/bench. Times the text, JSON and HTML reports
# of the whole week (median of RUNS, wall clock and peak RSS). Budget: 2 s and 200 MiB.
#
#   scripts/bench-report.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RUNS=${1:-3}
build_release
cargo build --release --quiet --bench make_recording
helper=$(ls -t target/release/deps/make_recording-* | grep -v '\.d$' | head -1)
DB="$BENCH/report-7d-8gpu.db"
if [ ! -s "$DB" ]; then
  rm -f "$DB"*
  echo "writing $DB (7 days x 8 GPUs x 2 processes, a few minutes) ..." >&2
  "$helper" "$DB" 7 8 2
fi
printf 'recording: %s, %s ticks\n' "$(du -h "$DB" | cut -f1)" \
  "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM ticks").fetchone()[0])' "$DB")"

measure() {
  local name=$1; shift
  local runs=()
  for _ in $(seq "$RUNS"); do
    runs+=("$( { /usr/bin/time -f '%e %M' "$@" >/dev/null; } 2>&1 | tail -1)")
  done
  printf '%s\n' "${runs[@]}" | sort -n | awk -v name="$name" -v n="$RUNS" '
    { t[NR] = $1; m[NR] = $2 }
    END { i = int((n + 1) / 2); printf "%-28s %6.2f s  %7.1f MiB peak RSS  (budget 2 s, 200 MiB: %s)\n",
          name, t[i], m[i] / 1024, (t[i] <= 2 && m[i] / 1024 <= 200) ? "ok" : "OVER BUDGET" }'
}
measure "report, text"  "$GPUTOP_BIN" report "$DB" --since 8d
measure "report --json" "$GPUTOP_BIN" report "$DB" --since 8d --json
measure "report --by process" "$GPUTOP_BIN" report "$DB" --since 8d --by process
measure "report --html" "$GPUTOP_BIN" report "$DB" --since 8d --html "$BENCH/report.html"
