#!/usr/bin/env bash
# Times `gputop --once` against a bare C program making the same NVML calls, `nvitop --once`
# and `gpustat`, all on the fake NVML library with one scenario (4 GPUs × 2 real processes),
# and prints median wall time, peak RSS and the ratios. Needs hyperfine, cc and python3.
#
#   scripts/bench-once.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RUNS=${1:-40}

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
build_release
install_peers
cc -O2 -o "$BENCH/nvml-baseline" scripts/bench/nvml-baseline.c -ldl
write_scenario 4 2 "$BENCH/once-scenario.toml"

# gputop select makes the same one-sample decision (plus the driver's utilization samples and
# a look at the claims): its budget is 2x --once.
mkdir -p "$BENCH/locks"
names=("C baseline (same NVML calls)" "gputop --once" "nvitop --once" "gpustat" "gputop select")
cmds=("$BENCH/nvml-baseline" "$GPUTOP_BIN --once --color never" "$PEERS/nvitop --once" "$PEERS/gpustat --no-color"
      "$GPUTOP_BIN select --max-util 100 --max-procs 9 --lock-dir $BENCH/locks")

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$BENCH/once.json" "${cmds[@]}" >/dev/null

: > "$BENCH/once-rss.txt"
for i in "${!cmds[@]}"; do
  peak=0
  for _ in 1 2 3 4 5; do
    kb=$(/usr/bin/time -f %M ${cmds[$i]} 2>&1 >/dev/null | tail -1)
    (( kb > peak )) && peak=$kb
  done
  printf '%s\t%s\n' "${names[$i]}" "$peak" >> "$BENCH/once-rss.txt"
done

python3 - "$BENCH/once.json" "$BENCH/once-rss.txt" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[2])]
base = results[0]["median"]
print(f"{'command':<30} {'median':>10} {'vs C':>7} {'peak RSS':>10}")
for (name, kb), r in zip(rows, results):
    print(f"{name:<30} {r['median']*1000:>8.2f}ms {r['median']/base:>6.1f}x {int(kb)/1024:>7.1f}MiB")
gputop = results[1]["median"]
print(f"\ngputop is {results[2]['median']/gputop:.0f}x faster than nvitop --once and {results[3]['median']/gputop:.0f}x faster than gpustat")
print(f"gputop select takes {results[4]['median']/gputop:.2f}x the time of gputop --once")
PY
